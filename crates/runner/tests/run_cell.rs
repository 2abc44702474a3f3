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

#[test]
fn a_sweep_run_cell_by_cell_gives_the_numbers_of_grid_run() {
    let base = GridFixture::new("sweep", 2, 4, &[2, 4]);
    let grid = base.variant("sweep", &[("axes:\n", "lr_sweep: { factors: [0.5, 2.0] }\naxes:\n")]);
    let local = base.results("local");
    let out = base.run_file(&grid, &local, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let results = base.results("cells");
    let cell = |args: &[&str]| loran(&base.home).args(["grid", "run-cell"]).arg(&grid).args(args).arg("--results").arg(&results).output().unwrap();
    let early = cell(&["--index", "0"]);
    let err = String::from_utf8_lossy(&early.stderr);
    assert!(!early.status.success() && err.contains("no learning rate is chosen yet") && err.contains("`--tuning`"), "{err}");

    // A submission's dry run: the tuning array first, the cells by index after it.
    let dry = loran(&base.home).args(["grid", "submit"]).arg(&grid).args(["--slurm", "--dry-run", "--results"]).arg(&results).output().unwrap();
    let text = String::from_utf8_lossy(&dry.stdout);
    assert!(dry.status.success() && text.contains("2 cell(s) to run, after 4 tuning run(s)") && text.contains("--dependency=afterany:TUNING_JOB_ID"), "{text}");
    let tuning_script = std::fs::read_to_string(results.join("sweep/slurm/tuning.sbatch")).unwrap();
    assert!(tuning_script.contains("#SBATCH --array=0-3\n") && tuning_script.contains(" --tuning --cell "), "{tuning_script}");
    assert!(std::fs::read_to_string(results.join("sweep/slurm/array.sbatch")).unwrap().contains("cells=('0' '1')\n"));

    let mut tuned = 0;
    loop {
        let out = cell(&["--tuning", "--index", &tuned.to_string()]);
        if !out.status.success() {
            assert!(String::from_utf8_lossy(&out.stderr).contains("names none"), "{}", String::from_utf8_lossy(&out.stderr));
            break;
        }
        tuned += 1;
    }
    assert_eq!(tuned, 4, "two factors for each of two cells");
    for i in ["0", "1"] {
        let out = cell(&["--index", i]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let report = loran(&base.home).arg("report").arg(results.join("sweep")).output().unwrap();
    assert!(report.status.success(), "{}", String::from_utf8_lossy(&report.stderr));
    for sub in ["sweep", "sweep/tuning"] {
        let cmp = loran(&base.home).arg("compare-runs").arg(local.join(sub)).arg(results.join(sub)).output().unwrap();
        assert!(cmp.status.success(), "{sub}: {}{}", String::from_utf8_lossy(&cmp.stdout), String::from_utf8_lossy(&cmp.stderr));
    }
    let status = loran(&base.home).args(["grid", "status"]).arg(&grid).arg("--results").arg(&results).output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(status.contains("2 done, 0 running, 0 failed, 0 diverged, 0 pending") && status.contains("tuning runs: 4 done"), "{status}");
}
