//! `loran grid run-cell`: exactly one cell runs, its status is the exit code, a finished
//! cell is skipped, and SIGTERM mid-training stops it cleanly with nothing recorded as
//! finished, so the next run redoes it from a clean folder.

use crate::common;

use common::grid_cli::{loran, result, run_folders, steps_logged, GridFixture};
use std::process::Stdio;
use std::time::{Duration, Instant};

const STEPS: usize = 8;

#[test]
fn run_cell_runs_only_the_named_cell_and_skips_it_once_finished() {
    let fx = GridFixture::new("single", 2, 4, &[2, 4, 6]);
    let ids = fx.planned_ids();
    let results = fx.results("results");
    let runs = results.join("single").join("runs");
    let cell = |which: &[&str]| loran(&fx.home).args(["grid", "run-cell"]).arg(&fx.grid).args(which).arg("--results").arg(&results).output().unwrap();

    let out = cell(&["--index", "1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let done: Vec<String> = run_folders(&runs).into_iter().filter(|(_, d)| *d).map(|(id, _)| id).collect();
    assert_eq!(done, vec![ids[1].clone()]);
    assert_eq!(result(&runs.join(&ids[1]))["status"], "ok");

    let again = cell(&["--cell", &ids[1]]);
    let log = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success() && log.contains(&format!("{} finished earlier (ok), skipped", ids[1])), "{log}");

    let past = cell(&["--index", "3"]);
    let err = String::from_utf8_lossy(&past.stderr);
    assert_eq!(past.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("has 3 cells (indices 0 to 2), so --index 3 names none"), "{err}");
}

#[test]
fn sigterm_stops_a_cell_cleanly_and_the_next_run_redoes_it() {
    let fx = GridFixture::new("term", STEPS, 4, &[2]);
    let id = fx.planned_ids().remove(0);
    let results = fx.results("results");
    let run = results.join("term").join("runs").join(&id);
    // Each step pauses, so the signal lands mid-training.
    let mut child = loran(&fx.home)
        .args(["grid", "run-cell"])
        .arg(&fx.grid)
        .args(["--index", "0", "--results"])
        .arg(&results)
        .env("FAILPOINTS", "train-step=sleep(400)")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while steps_logged(&run) < 2 {
        assert!(child.try_wait().unwrap().is_none(), "the cell ended before it could be stopped");
        assert!(start.elapsed() < Duration::from_secs(300), "no training step within 300 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: sends one signal to the child this test started.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{log}");
    let last = log.lines().last().unwrap_or_default();
    assert!(last.starts_with("error: ") && last.contains("stopped by a termination signal after") && last.contains(&format!("of {STEPS} training steps")), "{log}");
    assert!(!run.join("result.json").exists(), "a stopped cell must not look finished");
    assert!(steps_logged(&run) < STEPS, "it trained to the end");

    let again = loran(&fx.home).args(["grid", "run-cell"]).arg(&fx.grid).args(["--index", "0", "--results"]).arg(&results).output().unwrap();
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(result(&run)["status"], "ok");
    assert_eq!(steps_logged(&run), STEPS, "the redone cell starts from a clean folder");
}
