//! The PyTorch side of `loran-bench peft`: `bench/peft_step.py --serve` in a child
//! process that takes one training step per `step` line, so its steps can alternate
//! with ours and neither runs while the other does.

use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// A running PEFT training process.
pub struct PeftPeer {
    label: String,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// What the peer said when ready (torch version, threads, attention, trainable count).
    pub info: String,
}

impl PeftPeer {
    /// Starts `python script --serve ARGS…` and waits until it has built its model.
    pub fn start(label: &str, python: &Path, script: &Path, args: &[String]) -> Result<Self> {
        if !script.is_file() {
            bail!("{}: the PEFT bench script is missing; pass --script", script.display());
        }
        let mut child = Command::new(python)
            .arg(script)
            .arg("--serve")
            .args(args)
            .env("PYTHONWARNINGS", "ignore")
            .env("TOKENIZERS_PARALLELISM", "false")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {} (run bench/setup_venv.sh, or pass --python)", python.display()))?;
        let stdin = child.stdin.take().context("the peer's stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("the peer's stdout")?);
        let mut peer = Self { label: label.to_string(), child, stdin, stdout, info: String::new() };
        let ready = peer.read_line()?;
        peer.info = ready.strip_prefix("ready ").with_context(|| format!("{label}: expected `ready …`, got `{ready}`"))?.to_string();
        Ok(peer)
    }

    fn read_line(&mut self) -> Result<String> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            let status = self.child.wait()?;
            bail!("{}: the PEFT process ended ({status}); its error is printed above", self.label);
        }
        Ok(line.trim().to_string())
    }

    fn ask(&mut self, command: &str) -> Result<Vec<String>> {
        writeln!(self.stdin, "{command}")?;
        self.stdin.flush()?;
        let line = self.read_line()?;
        let mut words = line.split_whitespace().map(str::to_string);
        match words.next() {
            Some(w) if w == command => Ok(words.collect()),
            _ => bail!("{}: `{command}` got the answer `{line}`", self.label),
        }
    }

    /// One optimizer step: the seconds it took inside Python and the loss.
    pub fn step(&mut self) -> Result<(f64, f64)> {
        let words = self.ask("step")?;
        let num = |i: usize| -> Result<f64> { words.get(i).context("a short answer")?.parse::<f64>().context("a number") };
        Ok((num(0)?, num(1)?))
    }

    /// The peer's peak resident memory so far, MiB.
    pub fn peak_rss_mb(&mut self) -> Result<f64> {
        self.ask("rss")?.first().context("an empty answer")?.parse::<f64>().context("a number")
    }
}

impl Drop for PeftPeer {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        let _ = self.child.wait();
    }
}
