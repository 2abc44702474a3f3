//! `loran grid run` killed with SIGKILL at named points (`loran_train::faults`): during
//! training, during evaluation, while writing a run's files and while writing the
//! report. After each kill a rerun completes the grid, re-runs no finished cell, leaves
//! no torn or temporary file, and gives bit-identical metrics to an uninterrupted run.

use crate::common;

use common::grid_cli::{assert_nothing_torn, finished_results, result, run_folders, GridFixture};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;

/// Training steps per cell.
const STEPS: usize = 3;
/// Test examples per evaluation batch (four are scored, so two batches per cell).
const EVAL_BATCH: usize = 2;
/// The cells' LoRA ranks.
const RANKS: [usize; 3] = [2, 4, 6];

/// Where to kill: the fault point, how many of its hits to let pass first, and how many
/// cells have a `result.json` at that moment.
struct Kill {
    point: &'static str,
    pass: usize,
    finished: usize,
}

/// The kill points, in the order a grid meets them. Per cell: `STEPS` hits of the
/// training points, two of the evaluation points, one of each file write.
const KILLS: &[Kill] = &[
    Kill { point: "train-step", pass: 0, finished: 0 },
    Kill { point: "train-step", pass: STEPS + 1, finished: 1 },
    Kill { point: "append-half:metrics.jsonl", pass: STEPS + 2, finished: 1 },
    Kill { point: "eval-test-loss", pass: 3, finished: 1 },
    Kill { point: "eval-generate", pass: 4, finished: 2 },
    Kill { point: "write-half:config.resolved.yaml", pass: 1, finished: 1 },
    Kill { point: "write-half:predictions.jsonl", pass: 1, finished: 1 },
    Kill { point: "write-half:result.json", pass: 1, finished: 1 },
    Kill { point: "rename:result.json", pass: 2, finished: 2 },
    Kill { point: "cell-done", pass: 0, finished: 1 },
    Kill { point: "write-half:summary.csv", pass: 0, finished: 3 },
    Kill { point: "write-half:table.md", pass: 0, finished: 3 },
    Kill { point: "rename:loss_curves.png", pass: 0, finished: 3 },
];

/// `metrics` of every cell's `result.json`, by run id.
fn metrics(runs: &Path) -> Vec<(String, serde_json::Value)> {
    run_folders(runs).into_keys().map(|id| (id.clone(), result(&runs.join(&id))["metrics"].clone())).collect()
}

#[test]
fn a_grid_killed_at_each_point_resumes_to_the_same_numbers() {
    let fx = GridFixture::new("crash", STEPS, EVAL_BATCH, &RANKS);
    let ids = fx.planned_ids();
    assert_eq!(ids.len(), RANKS.len(), "{ids:?}");

    // The uninterrupted run every resumed grid must reproduce.
    let clean = fx.results("clean");
    let out = fx.run(&clean, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let reference = metrics(&clean.join(&fx.name).join("runs"));
    assert_eq!(reference.len(), ids.len());
    let files = assert_nothing_torn(&clean.join(&fx.name));
    eprintln!("uninterrupted: {files} files");

    assert!(KILLS.len() >= 10, "the issue asks for at least 10 kill points");
    for (n, kill) in KILLS.iter().enumerate() {
        let label = format!("kill {} at `{}` after {} passes", n + 1, kill.point, kill.pass);
        let results = fx.results(&format!("killed-{n}"));
        let runs = results.join(&fx.name).join("runs");
        let actions = if kill.pass == 0 { "return".to_string() } else { format!("{}*off->return", kill.pass) };
        let failpoints = format!("{}={actions}", kill.point);
        let out = fx.run(&results, &[("FAILPOINTS", &failpoints)]);
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGKILL),
            "{label}: the run was not killed ({:?}); the point was never reached\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );

        // Every completion marker on disk parses; the cells before the point finished.
        let finished = finished_results(&runs);
        assert_eq!(finished.len(), kill.finished, "{label}: finished cells {:?}", finished.keys());

        let out = fx.run(&results, &[]);
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{label}: the rerun failed\n{log}");
        for (id, (bytes, mtime)) in &finished {
            let path = runs.join(id).join("result.json");
            assert_eq!(&std::fs::read(&path).unwrap(), bytes, "{label}: {id}/result.json changed");
            assert_eq!(&std::fs::metadata(&path).unwrap().modified().unwrap(), mtime, "{label}: {id}/result.json rewritten");
            assert!(log.lines().any(|l| l.contains(id.as_str()) && l.contains("skipped")), "{label}: {id} was re-run:\n{log}");
        }
        let reran = log.lines().filter(|l| l.trim_start().starts_with("ok in")).count();
        assert_eq!(reran, ids.len() - kill.finished, "{label}: cells run by the rerun\n{log}");
        for id in &ids {
            let steps = std::fs::read_to_string(runs.join(id).join("metrics.jsonl")).unwrap().lines().count();
            assert_eq!(steps, STEPS, "{label}: {id}/metrics.jsonl has {steps} lines");
        }
        assert_nothing_torn(&results.join(&fx.name));
        assert_eq!(metrics(&runs), reference, "{label}: the resumed grid's metrics differ from the uninterrupted run's");
        let summary = std::fs::read_to_string(results.join(&fx.name).join("summary.csv")).unwrap();
        assert_eq!(summary.lines().count(), ids.len() + 1, "{label}: {summary}");
        eprintln!("{label}: survived ({} finished before the kill)", kill.finished);
    }
}
