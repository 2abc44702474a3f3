//! `loran grid run` killed with SIGKILL mid-grid and run again: finished cells
//! are skipped and left untouched, no `result.json` is torn, and the cell that
//! was running at the kill is re-run from a clean folder.

use crate::common;

use common::grid_cli::{loran, result, run_folders, steps_logged, GridFixture};
use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

/// Training steps per cell: enough that a cell lasts well over the polling interval.
const STEPS: usize = 12;
/// How often the test looks at the results folder.
const POLL: Duration = Duration::from_millis(20);
/// Give up (and fail) if the first run has not reached the kill point by then.
const TIMEOUT: Duration = Duration::from_secs(600);

#[test]
fn a_sigkilled_grid_resumes_without_rerunning_finished_cells() {
    let fx = GridFixture::new("resume", STEPS, 4, &[2, 4, 6, 8, 10, 12]);
    let (dir, grid, home) = (&fx.dir, &fx.grid, &fx.home);
    let results = dir.path().join("results");
    let runs = results.join("resume").join("runs");
    let ids = fx.planned_ids();
    assert_eq!(ids.len(), 6, "{ids:?}");

    // First run: kill it once a cell has finished and another is under way.
    let log = std::fs::File::create(dir.path().join("first.log")).unwrap();
    let start = Instant::now();
    let mut child = loran(home).args(["grid", "run"]).arg(grid).arg("--results").arg(&results).stdout(Stdio::null()).stderr(log).spawn().unwrap();
    let at_kill = loop {
        let folders = run_folders(&runs);
        let finished = folders.values().filter(|&&done| done).count();
        if finished == ids.len() || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            let log = std::fs::read_to_string(dir.path().join("first.log")).unwrap_or_default();
            panic!(
                "the grid ended ({finished}/{} finished, {:.1}s) before the test could kill it mid-grid: \
                 lengthen the fixture (more STEPS or cells)\n{log}",
                ids.len(),
                start.elapsed().as_secs_f64()
            );
        }
        // Kill mid-training (some but not all steps logged), so the cell cannot finish
        // between this look and the kill.
        let training = folders.iter().filter(|(_, &done)| !done).any(|(id, _)| (1..STEPS).contains(&steps_logged(&runs.join(id))));
        if finished >= 1 && training {
            break folders;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            panic!("no cell finished within {TIMEOUT:?}");
        }
        std::thread::sleep(POLL);
    };
    child.kill().unwrap(); // SIGKILL on unix
    child.wait().unwrap();
    let killed_after = start.elapsed();

    // Nothing torn: every result.json parses and has a status.
    let mut finished: BTreeMap<String, (Vec<u8>, SystemTime)> = BTreeMap::new();
    for (id, done) in run_folders(&runs) {
        if done {
            let run = runs.join(&id);
            result(&run);
            let path = run.join("result.json");
            finished.insert(id, (std::fs::read(&path).unwrap(), std::fs::metadata(&path).unwrap().modified().unwrap()));
        }
    }
    let interrupted: Vec<String> = run_folders(&runs).into_iter().filter(|(_, done)| !done).map(|(id, _)| id).collect();
    assert!(!finished.is_empty() && finished.len() < ids.len(), "{finished:?}");
    assert!(!interrupted.is_empty() && at_kill.values().any(|&d| !d));
    eprintln!(
        "killed after {:.2}s with {} of {} cells finished; interrupted: {interrupted:?}",
        killed_after.as_secs_f64(),
        finished.len(),
        ids.len()
    );

    // Second run: completes, skips the finished cells, re-runs the rest.
    let again = Instant::now();
    let out = loran(home).args(["grid", "run"]).arg(grid).arg("--results").arg(&results).output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    eprintln!("the second run took {:.2}s", again.elapsed().as_secs_f64());
    for (id, (bytes, mtime)) in &finished {
        let path = runs.join(id).join("result.json");
        assert_eq!(&std::fs::read(&path).unwrap(), bytes, "{id}: result.json changed");
        assert_eq!(&std::fs::metadata(&path).unwrap().modified().unwrap(), mtime, "{id}: result.json rewritten");
        assert!(log.lines().any(|l| l.contains(id.as_str()) && l.contains("skipped")), "{id} not reported as skipped:\n{log}");
    }
    let folders = run_folders(&runs);
    assert_eq!(folders.keys().cloned().collect::<Vec<_>>(), { let mut s = ids.clone(); s.sort(); s }, "one folder per planned cell");
    for id in &ids {
        let run = runs.join(id);
        assert_eq!(result(&run)["status"], "ok", "{id}");
        let stray: Vec<String> =
            std::fs::read_dir(&run).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).filter(|n| n.starts_with('.')).collect();
        assert!(stray.is_empty(), "{id}: stray temporary files {stray:?}");
    }
    // The interrupted cell started over: one metrics line per step, not the killed
    // attempt's lines followed by the new ones.
    for id in &interrupted {
        let lines = std::fs::read_to_string(runs.join(id).join("metrics.jsonl")).unwrap().lines().count();
        assert_eq!(lines, STEPS, "{id}: metrics.jsonl has {lines} lines for {STEPS} steps");
        assert!(!log.lines().any(|l| l.contains(id.as_str()) && l.contains("skipped")), "{id} was skipped:\n{log}");
    }
    let summary = std::fs::read_to_string(results.join("resume").join("summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), ids.len() + 1, "{summary}");
}
