//! `lr_sweep:` end to end on the tiny random LLaMA: tuning runs see only the validation
//! split, the lowest validation loss picks the rate, the seeds run at it, the tables say
//! so, and a second run redoes nothing.

use crate::train_fixture::{result, Fixture};
use loran_runner::grid::sweep::{read_selection, TUNING_DIR};
use std::path::Path;

/// Run folders under `dir/runs/`.
fn runs(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir.join("runs")).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    v.sort();
    v
}

#[test]
fn the_rate_with_the_lowest_validation_loss_trains_the_seeds_and_the_test_split_stays_unseen() {
    let fx = Fixture::new();
    // A base rate far too small to learn in 30 steps: the sweep must find ×1000.
    let body = "axes:\n  task: [mailing-list-topics]\n  adapter.method: [none, lora]\nbundles:\n  - { adapter.method: lora, train.lr: 3.0e-5 }\nseeds: [0, 1]\nlr_sweep: { factors: [1, 1000] }\n";
    let grid = fx.grid("swept", body);
    let outcome = fx.run(&grid, "r");
    assert!(outcome.failed.is_empty(), "{outcome:?}");
    let grid_dir = fx.dir.path().join("r/swept");

    // Tuning: lora only (zero-shot trains nothing), one run per factor at seed 0.
    let tuning = runs(&grid_dir.join(TUNING_DIR));
    assert_eq!(tuning.len(), 2, "{tuning:?}");
    let mut losses = Vec::new();
    for dir in &tuning {
        let r = result(dir);
        assert_eq!(r.seed, 0);
        assert_eq!(r.metrics.keys().collect::<Vec<_>>(), vec!["validation_loss"], "tuning runs never score the test split");
        assert!(!dir.join("predictions.jsonl").exists());
        losses.push((r.identity.lr, r.metrics["validation_loss"]));
    }
    losses.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(losses[1].1 < losses[0].1, "the usable rate fits the validation split better: {losses:?}");

    let selection = read_selection(&grid_dir).unwrap().unwrap();
    let choice = &selection.chosen["lora"];
    assert_eq!(choice.factor, 1000.0);
    assert!((choice.lr - 3e-2).abs() < 1e-12);
    assert_eq!(choice.losses.iter().map(|l| l.1).collect::<Vec<_>>(), vec![losses[0].1, losses[1].1]);

    // Test runs: zero-shot once per seed, lora at the chosen rate per seed.
    let finals: Vec<_> = runs(&grid_dir).iter().map(|d| result(d)).collect();
    assert_eq!(finals.len(), 4);
    for r in &finals {
        assert!(r.metrics.contains_key("accuracy") && r.metrics.contains_key("test_loss"), "{:?}", r.metrics);
        if r.identity.method == "lora" {
            assert!((r.identity.lr - 3e-2).abs() < 1e-12, "{}", r.identity.lr);
        }
    }
    let table = std::fs::read_to_string(grid_dir.join("table.md")).unwrap();
    assert!(table.contains("Learning rates tuned per row on the validation split"), "{table}");
    assert!(table.contains("lora lr 3.00e-2 (×1000, at the edge of the sweep"), "{table}");

    // Nothing to redo the second time.
    let again = fx.run(&grid, "r");
    assert!(again.ok.is_empty() && again.failed.is_empty(), "{again:?}");
    assert_eq!(again.skipped.len(), 2 + 4);
}
