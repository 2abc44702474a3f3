//! `loran-bench rouge`: ROUGE throughput of `loran_metrics` against Google's
//! `rouge-score` Python package on the same 1,000 generated SAMSum-like pairs.
//! Both sides score rouge1, rouge2, rougeL and rougeLsum single-threaded; the
//! medians, their ratio and the agreement of the mean F1 of each type are
//! printed, never asserted.

use crate::loran::median;
use anyhow::{bail, ensure, Context, Result};
use clap::Args;
use loran_metrics::{corpus_rouge, CorpusRouge, RougeVariant};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

mod pairs;
mod vocab;

pub use pairs::{generate_pairs, Pair};

/// Arguments of `loran-bench rouge`.
#[derive(Debug, Args)]
pub struct BenchRougeArgs {
    /// The venv's python with rouge-score (`bench/setup_venv.sh` prints it).
    #[arg(long)]
    python: PathBuf,
    /// The rouge-score side's script.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/rouge_bench.py"))]
    script: PathBuf,
    /// Generated prediction/reference pairs.
    #[arg(long, default_value_t = 1000)]
    pairs: usize,
    /// Seed of the pair generator.
    #[arg(long, default_value_t = 2024)]
    seed: u64,
    /// Timed passes over all pairs per side (after one untimed warm-up pass); the median is reported.
    #[arg(long, default_value_t = 5)]
    reps: usize,
    /// Score without the Porter stemmer (the evaluation stems by default, `eval.rouge_stemmer: true`).
    #[arg(long)]
    no_stemmer: bool,
    /// Also keep the generated pairs in this JSONL file (they go to a temp dir that is removed).
    #[arg(long)]
    save: Option<PathBuf>,
}

/// What `bench/rouge_bench.py` prints.
#[derive(Debug, Deserialize)]
struct PythonReport {
    pairs: usize,
    use_stemmer: bool,
    median_s: f64,
    mean_f1: BTreeMap<String, f64>,
    #[serde(default)]
    rouge_score_version: String,
    #[serde(default)]
    python_version: String,
}

// ---------------------------------------------------------------------------
// The benchmark
// ---------------------------------------------------------------------------

/// A directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> Result<Self> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn write_jsonl(path: &Path, pairs: &[Pair]) -> Result<()> {
    let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    for pair in pairs {
        serde_json::to_writer(&mut out, pair)?;
        out.write_all(b"\n")?;
    }
    out.flush().with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Scores all pairs once with `loran_metrics::corpus_rouge`, the function the
/// evaluation scores a run with; returns the corpus means and the seconds taken.
fn ours_once(pairs: &[(&str, &str)], use_stemmer: bool) -> Result<(CorpusRouge, f64)> {
    let start = Instant::now();
    let (corpus, per_example) = corpus_rouge(pairs, use_stemmer)?;
    let seconds = start.elapsed().as_secs_f64();
    std::hint::black_box(&per_example);
    Ok((corpus, seconds))
}

fn run_python(args: &BenchRougeArgs, jsonl: &Path, use_stemmer: bool) -> Result<PythonReport> {
    let mut cmd = Command::new(&args.python);
    cmd.arg(&args.script).arg(jsonl).args(["--reps", &args.reps.to_string()]);
    if !use_stemmer {
        cmd.arg("--no-stemmer");
    }
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("starting {} (run bench/setup_venv.sh, or pass --python)", args.python.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success(),
        "{} {} failed ({}); stdout: {}",
        args.python.display(),
        args.script.display(),
        out.status,
        stdout.trim()
    );
    let line = stdout.lines().rev().find(|l| !l.trim().is_empty()).context("rouge_bench.py printed nothing")?;
    serde_json::from_str(line).with_context(|| format!("parsing rouge_bench.py's output: {line}"))
}

fn per_second(pairs: usize, seconds: f64) -> f64 {
    pairs as f64 / seconds
}

/// Runs the command.
pub fn run(args: BenchRougeArgs) -> Result<()> {
    ensure!(args.pairs > 0, "--pairs must be at least 1");
    ensure!(args.reps > 0, "--reps must be at least 1");
    let use_stemmer = !args.no_stemmer;
    let pairs = generate_pairs(args.seed, args.pairs);
    let dir = TempDir::new("loran-bench-rouge")?;
    let jsonl = dir.0.join("pairs.jsonl");
    write_jsonl(&jsonl, &pairs)?;
    if let Some(save) = &args.save {
        write_jsonl(save, &pairs)?;
    }

    let words: usize = pairs.iter().map(|p| p.prediction.split_whitespace().count() + p.reference.split_whitespace().count()).sum();
    let multiline = pairs.iter().filter(|p| p.prediction.contains('\n') || p.reference.contains('\n')).count();
    // corpus_rouge takes (target, prediction).
    let refs: Vec<(&str, &str)> = pairs.iter().map(|p| (p.reference.as_str(), p.prediction.as_str())).collect();

    eprintln!("timing loran_metrics::corpus_rouge ({} passes after 1 warm-up)...", args.reps);
    let (ours_corpus, _) = ours_once(&refs, use_stemmer)?;
    let mut ours_s = Vec::with_capacity(args.reps);
    for _ in 0..args.reps {
        let (corpus, seconds) = ours_once(&refs, use_stemmer)?;
        ensure!(corpus == ours_corpus, "corpus_rouge gave different means on a repeat pass");
        ours_s.push(seconds);
    }
    let ours = median(&ours_s);

    eprintln!("timing rouge-score via {} {} ...", args.python.display(), args.script.display());
    let py = run_python(&args, &jsonl, use_stemmer)?;
    ensure!(py.pairs == pairs.len(), "rouge_bench.py scored {} pairs, expected {}", py.pairs, pairs.len());
    ensure!(py.use_stemmer == use_stemmer, "rouge_bench.py ran with use_stemmer={}", py.use_stemmer);

    println!(
        "ROUGE throughput: {} generated SAMSum-like pairs (seed {}, {:.1} words per text, {} pairs with a multi-line text), rouge1+rouge2+rougeL+rougeLsum, use_stemmer={}, median of {} passes after 1 warm-up:",
        pairs.len(),
        args.seed,
        words as f64 / (2 * pairs.len()) as f64,
        multiline,
        use_stemmer,
        args.reps
    );
    let ours_label = "ours (loran_metrics::corpus_rouge, 1 thread)".to_string();
    let theirs_label = format!("rouge-score {} (python {}, 1 thread)", py.rouge_score_version, py.python_version);
    for (label, seconds) in [(&ours_label, ours), (&theirs_label, py.median_s)] {
        println!(
            "  {label:<46} median {:>9.2} ms  {:>8.0} pairs/s",
            seconds * 1e3,
            per_second(pairs.len(), seconds)
        );
    }
    println!("  (loran_metrics has no parallel ROUGE API; the evaluation scores single-threaded, so no rayon figure)");
    println!("  speed ratio rouge-score / ours = {:.1}× (target >= 20×)", py.median_s / ours);

    println!("  {:<10} {:>20} {:>20} {:>10}", "mean F1", "ours", "rouge-score", "|diff|");
    let mut worst = 0.0f64;
    for variant in RougeVariant::ALL {
        let name = variant.name();
        let theirs = *py.mean_f1.get(name).with_context(|| format!("rouge_bench.py reported no {name}"))?;
        let diff = (ours_corpus.get(variant) - theirs).abs();
        worst = worst.max(diff);
        println!("  {name:<10} {:>20.15} {:>20.15} {diff:>10.1e}", ours_corpus.get(variant), theirs);
    }
    let agree = worst <= 1e-6;
    println!(
        "  largest |diff| of the mean F1s: {worst:.1e} ({})",
        if agree { "agree to 1e-6" } else { "DISAGREE: more than 1e-6" }
    );
    if !agree {
        bail!("loran_metrics and rouge-score disagree on the mean F1 by {worst:.3e} (rerun with --save FILE to keep the pairs)");
    }
    Ok(())
}
