//! What `loran` prints when it fails, and the exit codes scripts rely on: one `error:` line
//! even under `RUST_BACKTRACE=1` and `RUST_LIB_BACKTRACE=1` (causes one per line with
//! `--verbose`), grid files that are not regular files of bounded size refused at once, and
//! `compare-runs` failing when the two folders do not match.

use crate::common;
use loran_train::record::{PredictionRecord, RunResult, StepRecord};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `loran args…` with backtraces asked for every way there is. A run that has not ended
/// after a minute is killed and fails the test: a FIFO grid used to block forever, and
/// the test must report that rather than hang.
fn loran(args: &[&str], home: &Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_loran"))
        .args(args)
        .env("LORAN_HOME", home)
        .env("HF_HUB_OFFLINE", "1")
        .env("RUST_BACKTRACE", "1")
        .env("RUST_LIB_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("loran runs");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("`loran {}` did not end within a minute", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// The one line on stderr of a failed run, which starts with `error: `.
fn one_error_line(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "not a failure with code 1:\n{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr:\n{stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("  0: ") && !stderr.contains("backtrace"), "a backtrace:\n{stderr}");
    lines[0].to_string()
}

fn mentions(line: &str, parts: &[&str]) {
    for part in parts {
        assert!(line.contains(part), "`{part}` missing from: {line}");
    }
}

#[test]
fn errors_are_one_line_whatever_rust_backtrace_says() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.yaml");
    let line = one_error_line(&loran(&["grid", "plan", missing.to_str().unwrap()], dir.path()));
    mentions(&line, &[&missing.display().to_string(), "cannot read the grid file", "check the path"]);

    // A model file that is not one: the error comes up through candle, which captures a
    // backtrace for its errors when either variable is set.
    let model = dir.path().join("bad.gguf");
    std::fs::write(&model, [0u8; 64]).unwrap();
    let line = one_error_line(&loran(&["perplexity", "--model", model.to_str().unwrap(), "--text", "x"], dir.path()));
    mentions(&line, &[&model.display().to_string(), "corrupt or truncated GGUF file"]);

    let line = one_error_line(&loran(&["compare-runs", "/nonexistent/a", "/nonexistent/b"], dir.path()));
    mentions(&line, &["/nonexistent/a"]);
}

#[test]
fn verbose_adds_the_causes_one_per_line_and_still_no_backtrace() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("bad.gguf");
    std::fs::write(&model, [0u8; 64]).unwrap();
    let out = loran(&["--verbose", "perplexity", "--model", model.to_str().unwrap(), "--text", "x"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(lines[0].starts_with("error: loading model"), "{stderr}");
    assert!(lines.len() >= 2, "no cause listed:\n{stderr}");
    for cause in &lines[1..] {
        assert!(cause.starts_with("  caused by: "), "{stderr}");
    }
    assert!(lines[1].contains("corrupt or truncated GGUF file"), "{stderr}");
    assert!(!stderr.contains("  0: ") && !stderr.contains("backtrace"), "a backtrace:\n{stderr}");
}

/// Makes a FIFO at `path` with `mkfifo(1)`; false (and a printed line) where there is none.
fn mkfifo(path: &Path) -> bool {
    let made = Command::new("mkfifo").arg(path).status().is_ok_and(|s| s.success());
    if !made {
        eprintln!("skipped the FIFO case: `mkfifo` is not available here");
    }
    made
}

#[test]
fn a_grid_that_is_no_regular_file_of_bounded_utf8_text_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let plan = |path: &Path| one_error_line(&loran(&["grid", "plan", path.to_str().unwrap()], dir.path()));

    let fifo = dir.path().join("fifo.yaml");
    if mkfifo(&fifo) {
        let line = plan(&fifo);
        mentions(&line, &[&format!("{}: cannot read the grid file (it is a FIFO (named pipe), not a regular file)", fifo.display()), "give the path of a YAML file"]);
    }
    // Read whole, `/dev/zero` filled memory; it is refused before a byte is read.
    mentions(&plan(Path::new("/dev/zero")), &["/dev/zero: cannot read the grid file (it is a character device, not a regular file)"]);
    mentions(&plan(dir.path()), &["(it is a directory, not a regular file)"]);

    let big = dir.path().join("big.yaml");
    std::fs::write(&big, format!("name: big\nbase: {{}}\n#{}\n", "x".repeat(1 << 20))).unwrap();
    mentions(&plan(&big), &[&format!("{}: cannot read the grid file (larger than 1 MiB, the limit for a grid file)", big.display()), "check the path"]);

    let latin1 = dir.path().join("latin1.yaml");
    std::fs::write(&latin1, b"name: caf\xe9\nbase: {}\n").unwrap();
    let line = plan(&latin1);
    mentions(&line, &[&format!("{}: cannot read the grid file (not UTF-8 text: byte 0xe9 at byte offset 9)", latin1.display()), "save the file as UTF-8"]);
    assert!(!line.contains("check the path"), "{line}");
}

/// Writes a finished run `id` into `grid/runs/<id>/`, its test loss `loss`.
fn write_run(grid: &Path, id: &str, loss: f64) {
    let metrics = BTreeMap::from([("accuracy".to_string(), 0.5), ("test_loss".to_string(), loss)]);
    let mut result: RunResult = common::ok_result("cmp", id, "0000beef", "trec6", "lora", 0, metrics, "accuracy", 10);
    result.run_id = id.into();
    let dir = grid.join("runs").join(id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("result.json"), serde_json::to_string_pretty(&result).unwrap()).unwrap();
    let step = StepRecord { step: 1, loss: 2.5, lr: 1e-4, grad_norm: 1.0, tokens: 10, elapsed_s: 0.1, base_loss: None };
    std::fs::write(dir.join("metrics.jsonl"), serde_json::to_string(&step).unwrap() + "\n").unwrap();
    let scores = BTreeMap::from([("accuracy".to_string(), 1.0)]);
    let prediction = PredictionRecord { id: "q1".into(), target: "a".into(), prediction: "a".into(), score: 1.0, scores, label: Some("a".into()), loss_sum: Some(1.0), loss_tokens: Some(1) };
    std::fs::write(dir.join("predictions.jsonl"), serde_json::to_string(&prediction).unwrap() + "\n").unwrap();
}

#[test]
fn compare_runs_fails_on_a_difference_a_missing_run_or_nothing_compared() {
    let root = tempfile::tempdir().unwrap();
    let grid = |name: &str, runs: &[(&str, f64)]| {
        let dir = root.path().join(name);
        std::fs::create_dir_all(dir.join("runs")).unwrap();
        for (id, loss) in runs {
            write_run(&dir, id, *loss);
        }
        dir.to_str().unwrap().to_string()
    };
    let a = grid("a", &[("r1", 1.25), ("r2", 2.0)]);
    let same = grid("same", &[("r1", 1.25), ("r2", 2.0)]);
    let differ = grid("differ", &[("r1", 1.25), ("r2", 2.0000001)]);
    let missing = grid("missing", &[("r1", 1.25)]);
    let empty = grid("empty", &[]);
    let home = root.path();

    let out = loran(&["compare-runs", &a, &same], home);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("10 of 10 numbers bit-identical"), "{stdout}");

    // Each mismatch prints the whole comparison first, then fails with one line.
    let out = loran(&["compare-runs", &a, &differ], home);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("r2  metrics.test_loss") && stdout.contains("9 of 10 numbers bit-identical"), "{stdout}");
    mentions(&one_error_line(&out), &[&format!("{a} against {differ}: 1 of 10 numbers differ;"), "not bit-identical"]);

    let out = loran(&["compare-runs", &a, &missing], home);
    assert!(String::from_utf8_lossy(&out.stdout).contains("r2: finished in one folder only"));
    mentions(&one_error_line(&out), &["1 run(s) finished in the first folder only", "`loran grid run` resumes"]);
    let out = loran(&["compare-runs", &missing, &a], home);
    mentions(&one_error_line(&out), &["1 run(s) finished in the second folder only"]);

    let out = loran(&["compare-runs", &empty, &empty], home);
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 of 0 numbers bit-identical"));
    mentions(&one_error_line(&out), &["no number was compared", "give two results folders of one grid"]);
}
