//! Two `loran` processes on one grid folder share its cells: the second leaves the cell
//! the first is running to it and runs the other one, the first then skips that one,
//! no cell runs twice, a report re-rendered meanwhile succeeds, and a different grid in
//! the same results root runs alongside.
//!
//! (Before cells were locked one by one, the second process was refused outright.)

use crate::common;

use common::grid_cli::{assert_nothing_torn, finished_results, loran, result, run_folders, GridFixture};
use loran_runner::grid::lock::CellLock;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Waits until `lock` names `pid` (the holder writes it right after locking).
fn wait_for_holder(lock: &Path, pid: u32, child: &mut std::process::Child) {
    let start = Instant::now();
    while !std::fs::read_to_string(lock).unwrap_or_default().contains(&format!("pid {pid},")) {
        assert!(child.try_wait().unwrap().is_none(), "the first run ended before it was seen holding {}", lock.display());
        assert!(start.elapsed() < Duration::from_secs(120), "{} never named pid {pid}", lock.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn two_processes_on_one_grid_folder_share_its_cells_and_run_none_twice() {
    let fx = GridFixture::new("shared", 2, 4, &[2, 4]);
    let ids = fx.planned_ids();
    assert_eq!(ids.len(), 2, "{ids:?}");
    let results = fx.results("results");
    let grid_dir = results.join(&fx.name);
    let runs = grid_dir.join("runs");
    // The first run pauses 10 s at its first training step, holding the first cell (3 s
    // were too few on a loaded 2-core machine: the second run must fall inside it).
    let mut first = loran(&fx.home)
        .args(["grid", "run"])
        .arg(&fx.grid)
        .arg("--results")
        .arg(&results)
        .env("FAILPOINTS", "train-step=1*sleep(10000)")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_holder(&CellLock::path(&grid_dir, &ids[0]), first.id(), &mut first);

    // `grid status` sees the held cell as running, by the first process.
    let status = loran(&fx.home).args(["grid", "status"]).arg(&fx.grid).arg("--results").arg(&results).output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(status.contains(&format!("running   {}  (pid {},", ids[0], first.id())) && status.contains(&format!("pending   {}", ids[1])), "{status}");

    let second = fx.run(&results, &[]);
    let log = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{log}");
    let left = format!("{} is being run by another process (pid {},", ids[0], first.id());
    assert!(log.lines().any(|l| l.contains(&left) && l.ends_with("left to it")), "{log}");
    assert!(log.contains("1 ok, 0 skipped, 0 diverged, 0 failed, 1 left to other processes running them"), "{log}");
    assert_eq!(result(&runs.join(&ids[1]))["status"], "ok");
    let by_second = finished_results(&runs);
    assert_eq!(by_second.keys().collect::<Vec<_>>(), vec![&ids[1]], "the second run touched the first's cell");

    // The grid lock is held only for grid-wide steps: a re-render succeeds meanwhile.
    let report = loran(&fx.home).arg("report").arg(&grid_dir).output().unwrap();
    assert!(report.status.success(), "{}", String::from_utf8_lossy(&report.stderr));
    assert!(first.try_wait().unwrap().is_none(), "the first run ended before the second was checked: lengthen its pause");
    let other = GridFixture::new("other", 1, 4, &[2]);
    let out = other.run(&results, &[]);
    assert!(out.status.success(), "another grid in the same results root: {}", String::from_utf8_lossy(&out.stderr));

    let done = first.wait_with_output().unwrap();
    let first_log = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{first_log}");
    assert!(first_log.contains(&format!("{} was finished by another process meanwhile, skipped", ids[1])), "{first_log}");
    let (bytes, mtime) = &by_second[&ids[1]];
    let path = runs.join(&ids[1]).join("result.json");
    assert_eq!(&std::fs::read(&path).unwrap(), bytes, "the first run rewrote the second's cell");
    assert_eq!(&std::fs::metadata(&path).unwrap().modified().unwrap(), mtime);
    for id in &ids {
        assert_eq!(result(&runs.join(id))["status"], "ok", "{id}");
    }
    assert_eq!(run_folders(&runs).len(), 2);
    // The last process to finish rendered the whole grid.
    let summary = std::fs::read_to_string(grid_dir.join("summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 3, "{summary}");
    assert_nothing_torn(&results);

    // Once both are gone, everything is skipped.
    let again = fx.run(&results, &[]);
    let log = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success() && log.matches("skipped").count() >= 2, "{log}");
}
