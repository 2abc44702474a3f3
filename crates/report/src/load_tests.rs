//! Unit tests of [`super`]: finished, unfinished, stale and damaged run folders.

use super::*;
use crate::test_support::{result, steps, write_run};

#[test]
fn loads_finished_runs_sorted_and_lists_unfinished_ones() {
    let grid = tempfile::tempdir().unwrap();
    write_run(
        grid.path(),
        &result("b", "t", 0, &[("accuracy", 0.5)]),
        &steps(),
    );
    write_run(grid.path(), &result("a", "t", 1, &[("accuracy", 0.7)]), &[]);
    std::fs::create_dir_all(grid.path().join("runs/zz-unfinished")).unwrap();
    std::fs::write(grid.path().join("runs/stray.txt"), "not a run").unwrap();

    let scan = scan_runs(grid.path()).unwrap();
    let ids: Vec<&str> = scan.runs.iter().map(|r| r.result.run_id.as_str()).collect();
    assert_eq!(ids, ["a-s1-0000abcd", "b-s0-0000abcd"]);
    assert!(scan.runs[0].steps.is_empty());
    assert_eq!(scan.runs[1].steps, steps());
    assert_eq!(scan.runs[1].predictions, None);
    assert_eq!(
        scan.unfinished,
        vec![grid.path().join("runs/zz-unfinished")]
    );
    assert_eq!(load_runs(grid.path()).unwrap(), scan.runs);
}

#[test]
fn reads_predictions_when_present() {
    let grid = tempfile::tempdir().unwrap();
    let dir = write_run(grid.path(), &result("a", "t", 0, &[]), &steps());
    let line = r#"{"id":"x1","target":"sport","prediction":"sport","score":1.0}"#;
    std::fs::write(dir.join(PREDICTIONS_FILE), format!("{line}\n\n")).unwrap();
    let run = load_run(&dir).unwrap();
    let predictions = run.predictions.unwrap();
    assert_eq!(predictions.len(), 1);
    assert_eq!(predictions[0].id, "x1");
    assert_eq!(predictions[0].score, 1.0);
}

#[test]
fn a_damaged_run_is_left_out_with_a_warning_naming_its_folder_and_the_fix() {
    let grid = tempfile::tempdir().unwrap();
    let dir = write_run(grid.path(), &result("a", "t", 0, &[]), &steps());
    write_run(grid.path(), &result("b", "t", 0, &[]), &steps());
    let mut text = std::fs::read_to_string(dir.join(METRICS_FILE)).unwrap();
    text.push_str("{\"step\": 5, \"loss\": oops}\n");
    std::fs::write(dir.join(METRICS_FILE), text).unwrap();
    let scan = scan_runs(grid.path()).unwrap();
    let ids: Vec<&str> = scan.runs.iter().map(|r| r.result.run_id.as_str()).collect();
    assert_eq!(ids, ["b-s0-0000abcd"]);
    assert_eq!(scan.damaged, vec![DamagedRun { dir: dir.clone(), why: "metrics.jsonl line 5 does not parse".into(), state: "is damaged" }]);
    let warnings = scan.warnings(grid.path());
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].starts_with(&format!("{} is damaged (metrics.jsonl line 5 does not parse)", dir.display())), "{warnings:?}");
    assert!(warnings[0].contains("run the grid again"), "{warnings:?}");
    let err = format!("{:#}", load_run(&dir).unwrap_err());
    assert!(err.contains("metrics.jsonl line 5 does not parse") && err.contains("run its grid again"), "{err}");
}

#[test]
fn a_deleted_predictions_file_is_damage_when_the_run_counted_its_predictions() {
    let grid = tempfile::tempdir().unwrap();
    let mut r = result("a", "t", 0, &[]);
    r.prediction_records = Some(2);
    write_run(grid.path(), &r, &steps());
    let scan = scan_runs(grid.path()).unwrap();
    assert!(scan.runs.is_empty());
    assert_eq!(scan.damaged[0].why, "predictions.jsonl is missing");
}

#[test]
fn a_run_scored_by_an_older_scorer_is_left_out_so_no_table_mixes_two_scorings() {
    let grid = tempfile::tempdir().unwrap();
    let mut old = result("a", "t", 0, &[("rougeL", 0.3), ("rougeLsum", 0.3)]);
    old.scorer_version = None; // recorded before ROUGE-Lsum split sentences
    write_run(grid.path(), &old, &steps());
    write_run(grid.path(), &result("b", "t", 0, &[("rougeL", 0.3), ("rougeLsum", 0.35)]), &steps());
    let scan = scan_runs(grid.path()).unwrap();
    let ids: Vec<&str> = scan.runs.iter().map(|r| r.result.run_id.as_str()).collect();
    assert_eq!(ids, ["b-s0-0000abcd"]);
    assert!(scan.damaged[0].why.starts_with("result.json holds metrics of summarization scorer version 1"), "{:?}", scan.damaged);
    let warning = &scan.warnings(grid.path())[0];
    assert!(warning.contains("was scored by an older scorer (result.json holds metrics of summarization scorer version 1"), "{warning}");
}

#[test]
fn with_a_manifest_runs_of_no_listed_cell_are_stale() {
    use crate::manifest::{write_manifest, ManifestCell};
    let grid = tempfile::tempdir().unwrap();
    let mut kept = result("a", "t", 0, &[]);
    kept.config_hash = "1111".into();
    let mut old = result("b", "t", 0, &[]);
    old.config_hash = "2222".into();
    write_run(grid.path(), &kept, &steps());
    write_run(grid.path(), &old, &steps());
    std::fs::create_dir_all(grid.path().join("runs/c-s0-33333333")).unwrap();
    std::fs::create_dir_all(grid.path().join("runs/d-s0-44444444")).unwrap();
    assert_eq!(scan_runs(grid.path()).unwrap().runs.len(), 2, "without a manifest every run counts");
    let cells = vec![
        ManifestCell { run_id: kept.run_id.clone(), config_hash: "1111".into() },
        ManifestCell { run_id: "d-s0-44444444".into(), config_hash: "4444".into() },
    ];
    write_manifest(grid.path(), &Manifest { grid: "unit".into(), file: "../g.yaml".into(), cells }).unwrap();
    let scan = scan_runs(grid.path()).unwrap();
    assert_eq!(scan.runs.len(), 1);
    assert_eq!(scan.runs[0].result.run_id, kept.run_id);
    assert_eq!(scan.stale, vec![grid.path().join("runs").join(&old.run_id), grid.path().join("runs/c-s0-33333333")]);
    assert_eq!(scan.unfinished, vec![grid.path().join("runs/d-s0-44444444")]);
    let warnings = scan.warnings(grid.path());
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].starts_with("2 run(s) in ") && warnings[0].contains(&format!("loran grid clean {}", grid.path().parent().unwrap().join("g.yaml").display())), "{warnings:?}");
}

#[test]
fn corrupt_result_json_is_named_with_file_and_line() {
    let grid = tempfile::tempdir().unwrap();
    let dir = write_run(grid.path(), &result("a", "t", 0, &[]), &steps());
    std::fs::write(
        dir.join(RESULT_FILE),
        "{\n  \"schema\": 2,\n  \"status\": \"okay\"\n}",
    )
    .unwrap();
    let err = format!("{:#}", load_run(&dir).unwrap_err());
    let expected = format!("{}:3:", dir.join(RESULT_FILE).display());
    assert!(err.contains(&expected), "{err}");
}

#[test]
fn unknown_schema_is_rejected() {
    let grid = tempfile::tempdir().unwrap();
    let mut r = result("a", "t", 0, &[]);
    r.schema = RESULT_SCHEMA + 1;
    let dir = write_run(grid.path(), &r, &[]);
    let err = format!("{:#}", load_run(&dir).unwrap_err());
    assert!(err.contains("result.json: result schema 3 is newer than this build's 2"), "{err}");
    let err = format!("{:#}", scan_runs(grid.path()).unwrap_err());
    assert!(err.contains("result schema 3 is newer"), "{err}");
}

#[test]
fn a_run_of_result_schema_1_is_left_out_with_a_warning_to_redo_it() {
    let grid = tempfile::tempdir().unwrap();
    let dir = write_run(grid.path(), &result("a", "t", 0, &[]), &steps());
    write_run(grid.path(), &result("b", "t", 0, &[]), &steps());
    // As schema 1 wrote it: no identity fields.
    let mut old: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join(RESULT_FILE)).unwrap()).unwrap();
    old["schema"] = 1.into();
    old.as_object_mut().unwrap().remove("identity");
    std::fs::write(dir.join(RESULT_FILE), old.to_string()).unwrap();
    let scan = scan_runs(grid.path()).unwrap();
    let ids: Vec<&str> = scan.runs.iter().map(|r| r.result.run_id.as_str()).collect();
    assert_eq!(ids, ["b-s0-0000abcd"]);
    assert_eq!(scan.damaged.len(), 1);
    let warning = &scan.warnings(grid.path())[0];
    let want = format!("{} was written with an older result schema (result.json has result schema 1, older than today's 2", dir.display());
    assert!(warning.starts_with(&want) && warning.ends_with("so the report leaves it out; run the grid again (`loran grid run` on its grid file) to redo that run"), "{warning}");
    let err = format!("{:#}", load_run(&dir).unwrap_err());
    assert!(err.contains("result schema 1") && err.contains("run its grid again"), "{err}");
}

#[test]
fn missing_runs_folder_is_an_error_naming_it() {
    let grid = tempfile::tempdir().unwrap();
    let err = format!("{:#}", scan_runs(grid.path()).unwrap_err());
    assert!(
        err.contains(&grid.path().join(RUNS_DIR).display().to_string()),
        "{err}"
    );
}
