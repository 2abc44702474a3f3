//! Two `loran` processes on one results folder: the second is refused at once with a
//! message naming the first, the first finishes untouched, and a different grid in the
//! same results root runs alongside.

use crate::common;

use common::grid_cli::{assert_nothing_torn, loran, result, run_folders, GridFixture};
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
fn a_second_process_on_the_same_grid_folder_is_refused_and_the_first_is_untouched() {
    let fx = GridFixture::new("shared", 2, 4, &[2, 4]);
    let results = fx.results("results");
    let grid_dir = results.join(&fx.name);
    // The first run pauses 10 s at its first training step, holding the lock (3 s were
    // too few on a loaded 2-core machine: the refusals below must all fall inside it).
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
    wait_for_holder(&grid_dir.join(".lock"), first.id(), &mut first);

    let refused_at = Instant::now();
    let second = fx.run(&results, &[]);
    let refused_in = refused_at.elapsed();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "the second run was not refused:\n{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    let last = lines.last().copied().unwrap_or_default();
    assert!(
        last.starts_with(&format!("error: {} is in use by another loran process (pid {},", grid_dir.display(), first.id())),
        "{stderr}"
    );
    assert!(last.contains("`--results DIR`") && !stderr.contains("panicked"), "{stderr}");
    eprintln!("refused in {:.2}s: {last}", refused_in.as_secs_f64());

    // Re-rendering the report is refused too, while a different grid in the same root runs.
    let report = loran(&fx.home).arg("report").arg(&grid_dir).output().unwrap();
    let report_err = String::from_utf8_lossy(&report.stderr);
    let first_state = first.try_wait().unwrap();
    assert!(!report.status.success(), "{}", String::from_utf8_lossy(&report.stdout));
    assert!(report_err.contains("is in use by another loran process"), "first run: {first_state:?}; report said:\n{report_err}");
    assert!(first.try_wait().unwrap().is_none(), "the first run ended before the refusals were checked: lengthen its pause");
    let other = GridFixture::new("other", 1, 4, &[2]);
    let out = other.run(&results, &[]);
    assert!(out.status.success(), "another grid in the same results root: {}", String::from_utf8_lossy(&out.stderr));

    let done = first.wait_with_output().unwrap();
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    for id in run_folders(&grid_dir.join("runs")).keys() {
        assert_eq!(result(&grid_dir.join("runs").join(id))["status"], "ok", "{id}");
    }
    assert_eq!(run_folders(&grid_dir.join("runs")).len(), 2);
    assert_nothing_torn(&results);

    // Once the holder is gone the folder is free again: everything is skipped.
    let again = fx.run(&results, &[]);
    let log = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success() && log.matches("skipped").count() >= 2, "{log}");
}
