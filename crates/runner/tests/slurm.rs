//! `loran grid submit --slurm` against a real Slurm (`.ci/slurm-up` starts a one-node
//! cluster on this machine): a fixture grid as an array of parallelism 2 gives every
//! number a local `loran grid run` gives; a task cancelled mid-training leaves its cell
//! to the resubmission, which runs that cell alone and loses nothing finished.
//!
//! Without a working Slurm the test prints why and passes, unless `LORAN_REQUIRE_SLURM`
//! is set (CI sets it, so a broken cluster fails there instead of hiding).

use crate::common;

use common::grid_cli::{finished_results, loran, result, steps_logged, GridFixture};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// How long a submission may take to finish on a loaded 2-core machine.
const TIMEOUT: Duration = Duration::from_secs(600);

/// Why no Slurm is usable here, if none is.
fn no_slurm() -> Option<String> {
    let out = match Command::new("sinfo").args(["-h", "-o", "%t"]).output() {
        Ok(out) => out,
        Err(e) => return Some(format!("no `sinfo` ({e}); start a cluster with `.ci/slurm-up`")),
    };
    let states = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        return Some(format!("`sinfo` failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    let up = states.lines().any(|s| s.starts_with("idle") || s.starts_with("mix") || s.starts_with("alloc"));
    (!up).then(|| format!("no node is up (sinfo says {:?}); start a cluster with `.ci/slurm-up`", states.trim()))
}

/// `loran grid submit <grid> --slurm ...`; returns (array job, report job).
fn submit(fx: &GridFixture, grid: &Path, results: &Path, env: &[(&str, &str)]) -> (String, String) {
    let (arrays, report) = submit_all(fx, grid, results, env);
    assert_eq!(arrays.len(), 1, "{arrays:?}");
    (arrays[0].clone(), report)
}

/// [`submit`] for a grid that may get a tuning array first: (array jobs in order, report job).
fn submit_all(fx: &GridFixture, grid: &Path, results: &Path, env: &[(&str, &str)]) -> (Vec<String>, String) {
    let mut cmd = loran(&fx.home);
    cmd.args(["grid", "submit"]).arg(grid).args(["--slurm", "--array-parallelism", "2", "--cpus-per-task", "1", "--time", "10:00", "--results"]).arg(results);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    eprintln!("{}", stdout.trim());
    let words: Vec<&str> = stdout.split_whitespace().collect();
    let ids = |w: &str| -> Vec<String> { words.windows(3).filter(|x| x[0] == w && x[1] == "job").map(|x| x[2].trim_end_matches(';').to_string()).collect() };
    let report = ids("report").pop().unwrap_or_else(|| panic!("no `report job ID` in: {stdout}"));
    (ids("array"), report)
}

/// Waits until every task of `jobs` has ended, and returns each job's final states
/// (`scontrol` knows a job for `MinJobAge` after it ends; `squeue` forgets it at once,
/// and a failed `squeue` call under load would look like an empty queue).
fn wait_for(jobs: &[&str]) -> Vec<String> {
    let start = Instant::now();
    loop {
        let mut states = Vec::new();
        for job in jobs {
            let out = Command::new("scontrol").args(["-o", "show", "job", job]).output().unwrap();
            if !out.status.success() {
                states.clear();
                break;
            }
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            states.extend(text.lines().filter_map(|l| l.split_whitespace().find_map(|w| w.strip_prefix("JobState=")).map(str::to_string)));
        }
        let ended = ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE"];
        if !states.is_empty() && states.iter().all(|s| ended.contains(&s.as_str())) {
            return states;
        }
        assert!(start.elapsed() < TIMEOUT, "jobs {jobs:?} not ended after {TIMEOUT:?}: {states:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits for the report job `report` and checks it completed.
fn wait_for_report(report: &str) {
    let states = wait_for(&[report]);
    assert_eq!(states, ["COMPLETED"], "report job {report}");
}

fn compare(fx: &GridFixture, a: &Path, b: &Path) {
    let out = loran(&fx.home).arg("compare-runs").arg(a).arg(b).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    eprintln!("{}", text.lines().last().unwrap_or_default());
}

#[test]
fn a_grid_runs_as_a_slurm_array_and_a_cancelled_task_is_redone_alone() {
    if let Some(why) = no_slurm() {
        assert!(std::env::var_os("LORAN_REQUIRE_SLURM").is_none(), "LORAN_REQUIRE_SLURM is set but {why}");
        eprintln!("skipped: {why}");
        return;
    }
    let fx = GridFixture::new("array", 6, 4, &[2, 4, 6]);
    let ids = fx.planned_ids();
    let local = fx.results("local");
    let out = loran(&fx.home).args(["grid", "run"]).arg(&fx.grid).arg("--results").arg(&local).env("RAYON_NUM_THREADS", "1").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // 1. The whole grid as an array; the report job renders it afterwards.
    let cluster = fx.results("cluster");
    let grid_dir = cluster.join("array");
    let (array, report) = submit(&fx, &fx.grid, &cluster, &[]);
    let script = std::fs::read_to_string(grid_dir.join("slurm/array.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --array=0-2%2\n") && script.contains("export RAYON_NUM_THREADS=1\n"), "{script}");
    let states = wait_for(&[&array]);
    assert!(states.len() == 3 && states.iter().all(|s| s == "COMPLETED"), "{states:?}");
    wait_for_report(&report);
    for id in &ids {
        assert_eq!(result(&grid_dir.join("runs").join(id))["status"], "ok", "{id}: {}", task_log(&grid_dir, &array, 0));
    }
    assert!(grid_dir.join("slurm").join(format!("report-{report}.log")).is_file());
    let summary = std::fs::read_to_string(grid_dir.join("summary.csv")).expect("the report job rendered summary.csv");
    assert_eq!(summary.lines().count(), ids.len() + 1, "{summary}");
    compare(&fx, &local.join("array"), &grid_dir);

    // 2. Cancel one task mid-training (steps slowed down), then resubmit.
    let second = fx.variant("array-cancel", &[]);
    let cancel_root = fx.results("cancel");
    let dir = cancel_root.join("array-cancel");
    let runs = dir.join("runs");
    let (array, report) = submit(&fx, &second, &cancel_root, &[("FAILPOINTS", "train-step=sleep(1500)")]);
    let start = Instant::now();
    let (victim, index) = loop {
        let training = ids.iter().enumerate().find(|(_, id)| (1..6).contains(&steps_logged(&runs.join(id))));
        if let Some((i, id)) = training {
            break (id.clone(), i);
        }
        assert!(start.elapsed() < TIMEOUT, "no task started training");
        std::thread::sleep(Duration::from_millis(50));
    };
    // Every cell is in the first submission, in plan order: index i is cell i.
    assert_eq!(std::fs::read_to_string(dir.join("slurm/cells.txt")).unwrap().lines().nth(index), Some(victim.as_str()));
    let task = format!("{array}_{index}");
    assert!(Command::new("scancel").arg(&task).status().unwrap().success());
    wait_for(&[&array]);
    wait_for_report(&report);
    let log = task_log(&dir, &array, index);
    assert!(log.contains("stopped by a termination signal"), "task {task} did not stop cleanly:\n{log}");
    assert!(!runs.join(&victim).join("result.json").exists(), "the cancelled cell looks finished");
    let finished = finished_results(&runs);
    assert_eq!(finished.len(), ids.len() - 1, "{:?}", finished.keys());

    let status = loran(&fx.home).args(["grid", "status"]).arg(&second).arg("--results").arg(&cancel_root).output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(status.contains("2 done, 0 running, 0 failed, 0 diverged, 1 pending") && status.contains(&format!("pending   {victim}")), "{status}");

    let (array, report) = submit(&fx, &second, &cancel_root, &[]);
    let script = std::fs::read_to_string(dir.join("slurm/array.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --array=0-0%2\n") && script.contains(&format!("cells=('{victim}')")), "only the unfinished cell: {script}");
    assert_eq!(wait_for(&[&array]), ["COMPLETED"]);
    wait_for_report(&report);
    for (id, (bytes, mtime)) in &finished {
        let path = runs.join(id).join("result.json");
        assert_eq!(&std::fs::read(&path).unwrap(), bytes, "{id} was rewritten");
        assert_eq!(&std::fs::metadata(&path).unwrap().modified().unwrap(), mtime, "{id} was rewritten");
    }
    assert_eq!(result(&runs.join(&victim))["status"], "ok", "{}", task_log(&dir, &array, 0));
    assert_eq!(steps_logged(&runs.join(&victim)), 6, "the redone cell started from a clean folder");
    compare(&fx, &local.join("array"), &dir);
}

fn task_log(grid_dir: &Path, array: &str, index: usize) -> String {
    std::fs::read_to_string(grid_dir.join("slurm").join(format!("{array}_{index}.log"))).unwrap_or_else(|e| format!("(no task log: {e})"))
}

#[test]
fn a_dry_run_writes_the_scripts_and_a_missing_model_is_one_line_before_submitting() {
    let fx = GridFixture::new("dry", 2, 4, &[2, 4]);
    let results = fx.results("results");
    let slurm_dir = results.join("dry").join("slurm");
    let out = loran(&fx.home)
        .args(["grid", "submit"])
        .arg(&fx.grid)
        .args(["--slurm", "--dry-run", "--array-parallelism", "3", "--cpus-per-task", "2", "--mem", "4G", "--sbatch-arg=--qos=low", "--results"])
        .arg(&results)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let array = slurm_dir.join("array.sbatch");
    assert!(stdout.contains(&format!("  sbatch --parsable --qos=low {}\n", array.display())), "{stdout}");
    assert!(stdout.contains("--dependency=afterany:ARRAY_JOB_ID"), "{stdout}");
    let script = std::fs::read_to_string(&array).unwrap();
    for line in ["#SBATCH --array=0-1%3", "#SBATCH --cpus-per-task=2", "#SBATCH --mem=4G", "export RAYON_NUM_THREADS=2"] {
        assert!(script.lines().any(|l| l == line), "no `{line}` in:\n{script}");
    }
    let ids = fx.planned_ids();
    assert_eq!(std::fs::read_to_string(slurm_dir.join("cells.txt")).unwrap(), format!("{}\n{}\n", ids[0], ids[1]));
    assert!(!slurm_dir.join("jobs.jsonl").exists(), "a dry run submitted something");

    // The model is gone: refused on the submitting machine, in one line, before any script.
    std::fs::remove_dir_all(fx.dir.path().join("model")).unwrap();
    let gone = fx.variant("gone", &[]);
    let out = loran(&fx.home).args(["grid", "submit"]).arg(&gone).args(["--slurm", "--dry-run", "--results"]).arg(&results).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.lines().count() == 1, "{err}");
    assert!(err.contains("fetch the assets before submitting"), "{err}");
    assert!(!results.join("gone").join("slurm").exists(), "scripts written for a grid that cannot run");
}

#[test]
fn a_sweep_runs_as_a_tuning_array_then_its_cells_and_matches_a_local_run() {
    if let Some(why) = no_slurm() {
        assert!(std::env::var_os("LORAN_REQUIRE_SLURM").is_none(), "LORAN_REQUIRE_SLURM is set but {why}");
        eprintln!("skipped: {why}");
        return;
    }
    let fx = GridFixture::new("sweep", 3, 4, &[2, 4]);
    let grid = fx.variant("sweep", &[("axes:\n", "lr_sweep: { factors: [0.5, 2.0] }\naxes:\n")]);
    let local = fx.results("local");
    let out = loran(&fx.home).args(["grid", "run"]).arg(&grid).arg("--results").arg(&local).env("RAYON_NUM_THREADS", "1").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let cluster = fx.results("cluster");
    let dir = cluster.join("sweep");
    let (arrays, report) = submit_all(&fx, &grid, &cluster, &[]);
    assert_eq!(arrays.len(), 2, "a tuning array, then the cells: {arrays:?}");
    let tuning = wait_for(&[&arrays[0]]);
    assert!(tuning.len() == 4 && tuning.iter().all(|s| s == "COMPLETED"), "{tuning:?}");
    let cells = wait_for(&[&arrays[1]]);
    assert!(cells.len() == 2 && cells.iter().all(|s| s == "COMPLETED"), "{cells:?}: {}", task_log(&dir, &arrays[1], 0));
    wait_for_report(&report);
    compare(&fx, &local.join("sweep"), &dir);
    compare(&fx, &local.join("sweep/tuning"), &dir.join("tuning"));

    let again = loran(&fx.home).args(["grid", "submit"]).arg(&grid).args(["--slurm", "--results"]).arg(&cluster).output().unwrap();
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success() && text.contains("nothing to submit: every cell is finished, running or queued (2 done,"), "{text}");
}
