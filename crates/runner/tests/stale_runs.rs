//! Tables built only from the grid's own cells, end to end on the fixture grid: runs left
//! by an earlier version of the grid are stale (left out, one warning, `loran grid clean`
//! moves them away), two grid files with one name are refused, damaged runs and runs of an
//! older result schema are redone,
//! reuse never copies from a grid another process holds, and `--only` must match.

use crate::common;

use common::grid_cli::{assert_nothing_torn, loran, result, run_folders, steps_logged, GridFixture};
use loran_runner::grid::lock::GridLock;
use std::path::Path;
use std::process::Output;

/// Training steps per cell.
const STEPS: usize = 2;

fn log(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn succeeded(out: &Output) -> String {
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), log(out));
    assert!(out.status.success(), "the command failed:\n{text}");
    text
}

/// The run failed with one `error:` line, its last; returns it.
fn error_line(out: &Output) -> String {
    let stderr = log(out);
    assert_eq!(out.status.code(), Some(1), "not a clean failure:\n{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "expected one error line:\n{stderr}");
    assert_eq!(stderr.lines().last(), Some(errors[0]), "{stderr}");
    errors[0].to_string()
}

/// Data rows of `summary.csv`.
fn summary_rows(grid_dir: &Path) -> usize {
    std::fs::read_to_string(grid_dir.join("summary.csv")).unwrap().lines().count() - 1
}

fn warnings(text: &str) -> Vec<&str> {
    text.lines().map(str::trim_start).filter(|l| l.starts_with("warning:")).collect()
}

#[test]
fn runs_of_an_edited_grid_are_left_out_with_one_warning_and_moved_by_clean() {
    let fx = GridFixture::new("edited", STEPS, 4, &[2, 4]);
    let results = fx.results("results");
    let grid_dir = results.join(&fx.name);
    succeeded(&fx.run(&results, &[]));
    let old_ids: Vec<String> = run_folders(&grid_dir.join("runs")).into_keys().collect();
    assert_eq!(old_ids.len(), 2);

    // Edit the grid file in place: one step fewer (every hash changes) and one rank gone.
    let text = std::fs::read_to_string(&fx.grid).unwrap();
    let edited = text.replace(&format!("steps: {STEPS},"), &format!("steps: {},", STEPS - 1)).replace("adapter.r: [2, 4]", "adapter.r: [2]");
    assert_ne!(edited, text);
    std::fs::write(&fx.grid, edited).unwrap();
    let new_ids = fx.planned_ids();
    assert_eq!(new_ids.len(), 1);
    assert!(!old_ids.contains(&new_ids[0]));

    let out = succeeded(&fx.run(&results, &[]));
    let stale = warnings(&out);
    assert_eq!(stale.len(), 1, "{out}");
    assert!(stale[0].contains(&format!("2 run(s) in {} match no cell of ", grid_dir.join("runs").display())), "{out}");
    assert!(stale[0].contains("`loran grid clean ") && stale[0].contains(&format!("{}.yaml`", fx.name)), "{out}");
    assert_eq!(summary_rows(&grid_dir), 1, "the summary counts only the grid's own cell");
    let table = std::fs::read_to_string(grid_dir.join("table.md")).unwrap();
    assert!(table.contains("(n=1)") && !table.contains("(n=2)"), "{table}");

    // `loran report DIR` reads the same manifest without the grid file.
    let report = loran(&fx.home).arg("report").arg(&grid_dir).output().unwrap();
    let report = succeeded(&report);
    assert!(report.contains("2 stale and 0 damaged left out"), "{report}");
    assert_eq!(warnings(&report).len(), 1, "{report}");
    assert_eq!(summary_rows(&grid_dir), 1);

    let clean = loran(&fx.home).args(["grid", "clean"]).arg(&fx.grid).arg("--results").arg(&results).output().unwrap();
    let clean = succeeded(&clean);
    assert!(clean.contains(&format!("moved 2 stale run(s) to {}", grid_dir.join("stale").display())), "{clean}");
    assert!(warnings(&clean).is_empty(), "{clean}");
    assert_eq!(run_folders(&grid_dir.join("runs")).into_keys().collect::<Vec<_>>(), new_ids);
    assert_eq!(run_folders(&grid_dir.join("stale")).into_keys().collect::<Vec<_>>(), old_ids);
    let again = loran(&fx.home).args(["grid", "clean"]).arg(&fx.grid).arg("--results").arg(&results).output().unwrap();
    assert!(succeeded(&again).contains("no stale runs"));
    let rerun = succeeded(&fx.run(&results, &[]));
    assert!(warnings(&rerun).is_empty() && rerun.contains("finished earlier, skipped"), "{rerun}");
    assert_nothing_torn(&results);
}

#[test]
fn two_grid_files_with_one_name_are_refused_naming_both() {
    let fx = GridFixture::new("twin", 1, 4, &[2]);
    let results = fx.results("results");
    let twin = fx.dir.path().join("twin-copy.yaml");
    let text = std::fs::read_to_string(&fx.grid).unwrap().replace("adapter.r: [2]", "adapter.r: [4]");
    std::fs::write(&twin, text).unwrap();

    // In one invocation: refused before anything runs.
    let mut both = loran(&fx.home);
    both.args(["grid", "run"]).arg(&fx.grid).arg(&twin).arg("--results").arg(&results);
    let line = error_line(&both.output().unwrap());
    assert!(line.contains(&format!("{} and {} both say `name: twin`", fx.grid.display(), twin.display())), "{line}");
    assert!(line.contains("rename one grid's `name:`"), "{line}");
    assert!(!results.exists(), "nothing ran");
    // `grid plan` shows the same before any run.
    let mut plan = loran(&fx.home);
    plan.args(["grid", "plan"]).arg(&fx.grid).arg(&twin);
    assert!(error_line(&plan.output().unwrap()).contains("both say `name: twin`"));

    // Against the file an existing folder's manifest names.
    succeeded(&fx.run(&results, &[]));
    let grid_dir = results.join("twin");
    let report_yaml = std::fs::read(grid_dir.join("report.yaml")).unwrap();
    let runs = run_folders(&grid_dir.join("runs"));
    let line = error_line(&fx.run_file(&twin, &results, &[]));
    assert!(line.contains(&format!("{} belongs to grid file ", grid_dir.display())) && line.contains("twin.yaml"), "{line}");
    assert!(line.contains(&format!("{} also says `name: twin`", twin.display())), "{line}");
    assert!(line.contains("rename one grid's `name:`, or move ") && line.contains(" away"), "{line}");
    assert_eq!(std::fs::read(grid_dir.join("report.yaml")).unwrap(), report_yaml, "report.yaml untouched");
    assert_eq!(run_folders(&grid_dir.join("runs")), runs, "runs untouched");
}

#[test]
fn damaged_runs_are_left_out_of_the_report_and_redone_by_the_next_run() {
    let fx = GridFixture::new("damaged", STEPS, 4, &[2, 4]);
    let results = fx.results("results");
    let grid_dir = results.join(&fx.name);
    let runs = grid_dir.join("runs");
    succeeded(&fx.run(&results, &[]));
    let ids = fx.planned_ids();
    let before: Vec<serde_json::Value> = ids.iter().map(|id| result(&runs.join(id))["metrics"].clone()).collect();

    // Cut the last step line of one run in half; delete the other's predictions.
    let (cut, deleted) = (runs.join(&ids[0]), runs.join(&ids[1]));
    let metrics = std::fs::read_to_string(cut.join("metrics.jsonl")).unwrap();
    std::fs::write(cut.join("metrics.jsonl"), &metrics[..metrics.len() - 20]).unwrap();
    std::fs::remove_file(deleted.join("predictions.jsonl")).unwrap();

    let report = succeeded(&loran(&fx.home).arg("report").arg(&grid_dir).output().unwrap());
    let lines = warnings(&report);
    assert_eq!(lines.len(), 2, "{report}");
    assert!(lines[0].contains(&format!("{} is damaged (metrics.jsonl line {STEPS} does not parse)", cut.display())), "{report}");
    assert!(lines[1].contains(&format!("{} is damaged (predictions.jsonl is missing)", deleted.display())), "{report}");
    assert!(lines.iter().all(|l| l.contains("run the grid again")), "{report}");
    assert_eq!(summary_rows(&grid_dir), 0, "damaged runs are left out");

    let rerun = succeeded(&fx.run(&results, &[]));
    let said = |id: &str, why: &str| rerun.lines().any(|l| l.contains(&format!("{id} finished earlier but is damaged ({why}); running it again")));
    assert!(said(&ids[0], &format!("metrics.jsonl line {STEPS} does not parse")), "{rerun}");
    assert!(said(&ids[1], "predictions.jsonl is missing"), "{rerun}");
    assert!(warnings(&rerun).is_empty(), "{rerun}");
    for (id, metrics) in ids.iter().zip(&before) {
        assert_eq!(steps_logged(&runs.join(id)), STEPS, "{id}");
        assert!(runs.join(id).join("predictions.jsonl").is_file(), "{id}");
        assert_eq!(&result(&runs.join(id))["metrics"], metrics, "{id}: the redone run gives the same numbers");
    }
    assert_eq!(summary_rows(&grid_dir), 2);
    assert_nothing_torn(&results);
}

#[test]
fn runs_of_result_schema_1_are_left_out_of_the_report_and_redone_by_the_next_run() {
    let fx = GridFixture::new("schema", STEPS, 4, &[2, 4]);
    let results = fx.results("results");
    let grid_dir = results.join(&fx.name);
    let runs = grid_dir.join("runs");
    succeeded(&fx.run(&results, &[]));
    let ids = fx.planned_ids();
    let (old, kept) = (runs.join(&ids[0]), runs.join(&ids[1]));
    let today = result(&old);
    assert_eq!((today["schema"].as_u64(), today["identity"]["r"].as_u64()), (Some(2), Some(2)), "{today}");

    // Write one run back as schema 1 had it: no identity fields.
    let mut written = today.clone();
    written["schema"] = 1.into();
    written.as_object_mut().unwrap().remove("identity");
    std::fs::write(old.join("result.json"), written.to_string()).unwrap();

    let report = succeeded(&loran(&fx.home).arg("report").arg(&grid_dir).output().unwrap());
    let lines = warnings(&report);
    assert_eq!(lines.len(), 1, "{report}");
    let why = "result.json has result schema 1, older than today's 2, which records the run's method, quantization, activation and rank as fields";
    assert!(lines[0].contains(&format!("{} was written with an older result schema ({why})", old.display())), "{report}");
    assert!(lines[0].contains("run the grid again"), "{report}");
    assert_eq!(summary_rows(&grid_dir), 1, "the schema-1 run is left out");

    let rerun = succeeded(&fx.run(&results, &[]));
    assert!(rerun.contains(&format!("{} finished earlier but was written with an older result schema ({why}); running it again", ids[0])), "{rerun}");
    assert!(rerun.contains(&format!("{} finished earlier, skipped", ids[1])), "{rerun}");
    assert!(warnings(&rerun).is_empty(), "{rerun}");
    let redone = result(&old);
    assert_eq!((&redone["schema"], &redone["identity"], &redone["metrics"]), (&today["schema"], &today["identity"], &today["metrics"]));
    assert_eq!(result(&kept)["schema"].as_u64(), Some(2));
    assert_eq!(summary_rows(&grid_dir), 2);
    assert_nothing_torn(&results);
}

#[test]
fn only_matching_no_cell_is_an_error_listing_run_ids() {
    let fx = GridFixture::new("only", 1, 4, &[2, 4]);
    let results = fx.results("results");
    let ids = fx.planned_ids();
    let only = |text: &str| {
        let mut cmd = loran(&fx.home);
        cmd.args(["grid", "run"]).arg(&fx.grid).arg("--results").arg(&results).args(["--only", text]);
        cmd.output().unwrap()
    };
    let line = error_line(&only("no-such-cell"));
    assert!(line.contains(&format!("--only `no-such-cell` matches no cell of {}", fx.grid.display())), "{line}");
    assert!(line.contains(&format!("`{}`", ids[0])) && line.contains("loran grid plan"), "{line}");
    assert!(!results.exists(), "nothing ran");

    // On an existing folder too; a matching text still runs just its cell.
    succeeded(&only(&ids[1]));
    assert_eq!(run_folders(&results.join("only/runs")).into_keys().collect::<Vec<_>>(), vec![ids[1].clone()]);
    error_line(&only("no-such-cell"));
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(results.join("only/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["cells"].as_array().unwrap().len(), 2, "the manifest lists every cell, not only the selected one");
}

#[test]
fn reuse_does_not_copy_from_a_grid_another_process_holds() {
    let fx = GridFixture::new("source", 1, 4, &[2]);
    let results = fx.results("results");
    succeeded(&fx.run(&results, &[]));
    let copy = fx.variant("copy", &[]);

    // While the source grid is locked, the cell runs here instead of being copied.
    let held = GridLock::acquire(&results.join("source")).unwrap();
    let out = succeeded(&fx.run_file(&copy, &results, &[]));
    assert!(out.contains("is in use by another loran process; running the cell here"), "{out}");
    let id = fx.planned_ids().remove(0);
    assert!(result(&results.join("copy/runs").join(&id)).get("reused_from").is_none(), "{out}");
    drop(held);

    // Free again: a third grid with the same cell copies it.
    let third = fx.variant("third", &[]);
    let out = succeeded(&fx.run_file(&third, &results, &[]));
    assert!(out.contains("; copied"), "{out}");
    assert!(result(&results.join("third/runs").join(&id))["reused_from"].is_string());
}
