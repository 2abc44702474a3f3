use super::*;
use crate::grid::spec::{parse_grid, GridSpec};
use crate::grid::{expand, GridFile};

fn grid(yaml: &str) -> GridFile {
    let spec: GridSpec = serde_saphyr::from_str(yaml).unwrap();
    GridFile { path: "test.yaml".into(), text: yaml.to_string(), spec, included: Vec::new() }
}

const GRID: &str = "name: t\nbase: { train: { lr: 1.0e-3 } }\naxes:\n  adapter.method: [none, lora, loran]\nseeds: [0, 1, 2]\nlr_sweep: { factors: [0.5, 1, 2] }\n";

fn ok(loss: f64) -> TuningOutcome {
    TuningOutcome { status: RunStatus::Ok, validation_loss: Some(loss), error: None }
}

fn diverged() -> TuningOutcome {
    TuningOutcome { status: RunStatus::Diverged, validation_loss: None, error: Some("loss NaN".into()) }
}

/// Outcomes for the tuning runs of `group`, one loss per factor in order (seed 0 only).
fn outcomes(tuning: &[Cell], group: &str, per_factor: Vec<TuningOutcome>) -> BTreeMap<String, TuningOutcome> {
    let runs: Vec<&Cell> = tuning.iter().filter(|c| c.group.starts_with(&format!("{group}-lrx"))).collect();
    assert_eq!(runs.len(), per_factor.len());
    runs.into_iter().map(|c| c.run_id.clone()).zip(per_factor).collect()
}

#[test]
fn tuning_runs_cover_trained_cells_per_factor_on_the_validation_split_at_the_first_seed() {
    let g = grid(GRID);
    let finals = expand(&g).unwrap();
    let sweep = g.spec.lr_sweep.clone().unwrap();
    let tuning = tuning_cells(&sweep, &g.spec.seeds, &finals);
    // `none` trains nothing: only lora and loran, 3 factors, 1 tuning seed.
    assert_eq!(tuning.len(), 6);
    let lrs: Vec<f64> = tuning.iter().filter(|c| c.config.adapter.method == "lora").map(|c| c.config.train.lr).collect();
    assert_eq!(lrs, vec![5e-4, 1e-3, 2e-3]);
    assert!(tuning.iter().all(|c| c.config.seed == 0 && c.config.eval.split == EvalSplit::Validation));
    let hashes: std::collections::BTreeSet<&str> = tuning.iter().map(|c| c.config_hash.as_str()).collect();
    assert_eq!(hashes.len(), 6);
    // A tuning run at factor 1 is not the test run of the same seed: the split differs.
    let test_run = finals.iter().find(|c| c.config.adapter.method == "lora" && c.config.seed == 0).unwrap();
    assert!(tuning.iter().all(|t| t.config_hash != test_run.config_hash));
    // Explicit tuning seeds replace the default.
    let two = LrSweep { seeds: Some(vec![3, 4]), ..sweep };
    let tuning = tuning_cells(&two, &g.spec.seeds, &finals);
    assert_eq!(tuning.len(), 12);
    assert_eq!(tuning.iter().filter(|c| c.config.seed == 4).count(), 6);
}

#[test]
fn the_lowest_mean_validation_loss_wins_ties_go_near_one_and_divergence_loses() {
    let g = grid(GRID);
    let finals = expand(&g).unwrap();
    let sweep = g.spec.lr_sweep.clone().unwrap();
    let tuning = tuning_cells(&sweep, &g.spec.seeds, &finals);
    let mut results = outcomes(&tuning, "lora", vec![ok(2.0), ok(1.9), ok(1.5)]);
    results.extend(outcomes(&tuning, "loran", vec![ok(1.7), ok(1.7), diverged()]));
    let selection = select(&sweep, &finals, &tuning, &results);
    let lora = &selection.chosen["lora"];
    assert_eq!((lora.factor, lora.lr), (2.0, 2e-3));
    assert_eq!(lora.losses, vec![(0.5, 2.0), (1.0, 1.9), (2.0, 1.5)]);
    let notes = notes(&sweep, &g.spec.seeds, &finals, &selection);
    assert!(notes[1].contains("lora lr 2.00e-3 (×2, at the edge of the sweep"), "{notes:?}");
    assert!(notes[1].contains("loran lr 1.00e-3 (×1)."), "an inner choice is not flagged: {notes:?}");
    let loran = &selection.chosen["loran"];
    assert_eq!(loran.factor, 1.0, "a tie between 0.5 and 1 goes to the listed rate");
    assert_eq!(loran.losses[2].1, f64::INFINITY);
    assert!(selection.undecided.is_empty());

    // Finals: lora's seeds move to 2e-3 with new hashes; loran keeps its cells unchanged.
    let applied = apply(&finals, &selection);
    assert_eq!(applied.len(), finals.len());
    for (before, after) in finals.iter().zip(&applied) {
        assert_eq!(before.group, after.group);
        match before.config.adapter.method.as_str() {
            "lora" => {
                assert_eq!(after.config.train.lr, 2e-3);
                assert_ne!(after.config_hash, before.config_hash);
                assert_eq!(after.config_hash, config_hash(&after.config));
                assert!(after.run_id.starts_with(&format!("lora-s{}-{}", after.config.seed, &after.config_hash[..8])));
            }
            _ => assert_eq!((&after.run_id, &after.config_hash, &after.config), (&before.run_id, &before.config_hash, &before.config)),
        }
    }
}

#[test]
fn a_failed_tuning_run_or_all_diverged_leaves_the_group_out() {
    let g = grid(GRID);
    let finals = expand(&g).unwrap();
    let sweep = g.spec.lr_sweep.clone().unwrap();
    let tuning = tuning_cells(&sweep, &g.spec.seeds, &finals);
    let failed = TuningOutcome { status: RunStatus::Failed, validation_loss: None, error: Some("out of memory".into()) };
    let mut results = outcomes(&tuning, "lora", vec![ok(2.0), failed, ok(1.5)]);
    results.extend(outcomes(&tuning, "loran", vec![diverged(), diverged(), diverged()]));
    let selection = select(&sweep, &finals, &tuning, &results);
    assert!(selection.chosen.is_empty());
    assert!(selection.undecided["lora"].contains("failed: out of memory"), "{:?}", selection.undecided);
    assert!(selection.undecided["loran"].contains("diverged"));
    // Without results at all, a group is undecided too (a tuning run is missing).
    let none = select(&sweep, &finals, &tuning, &BTreeMap::new());
    assert!(none.undecided["lora"].contains("has no result"));
    // Undecided groups have no test runs; untrained cells stay.
    let applied = apply(&finals, &selection);
    assert!(applied.iter().all(|c| c.config.adapter.method == "none"));
    assert_eq!(applied.len(), 3);
    let notes = notes(&sweep, &g.spec.seeds, &finals, &selection);
    assert!(notes[0].contains("×0.5, ×1, ×2") && notes[0].contains("seed(s) 0"), "{notes:?}");
    assert!(notes[1].contains("lora not run"), "{notes:?}");
}

#[test]
fn the_selection_round_trips_and_bad_sweeps_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(TUNING_DIR)).unwrap();
    assert_eq!(read_selection(dir.path()).unwrap(), None);
    let mut selection = Selection::default();
    selection.chosen.insert("lora".into(), Choice { factor: 3.0, lr: 3e-3, losses: vec![(1.0, 2.5), (3.0, 2.25)] });
    selection.undecided.insert("dora".into(), "failed".into());
    write_selection(dir.path(), &selection).unwrap();
    assert_eq!(read_selection(dir.path()).unwrap(), Some(selection));

    for (sweep, needle) in [
        ("{ factors: [1] }", "at least two"),
        ("{ factors: [1, -2] }", "positive"),
        ("{ factors: [1, 3, 1] }", "lists 1 twice"),
        ("{ factors: [1, 3], seeds: [] }", "seeds is empty"),
        ("{ factor: [1, 3] }", "unknown field"),
    ] {
        let text = format!("name: t\nbase: {{}}\nlr_sweep: {sweep}\n");
        let err = parse_grid(std::path::Path::new("g.yaml"), &text).unwrap_err().to_string();
        assert!(err.contains(needle) && err.contains("g.yaml"), "{sweep}: {err}");
    }
}

#[test]
fn a_test_split_config_serializes_as_before_the_split_key_existed() {
    let value = serde_json::to_value(loran_train::config::RunConfig::default()).unwrap();
    assert!(value["eval"].get("split").is_none(), "the default split must not change old config hashes");
    let mut cfg = loran_train::config::RunConfig::default();
    cfg.eval.split = EvalSplit::Validation;
    assert_eq!(serde_json::to_value(&cfg).unwrap()["eval"]["split"], "validation");
}
