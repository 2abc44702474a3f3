//! Tables whose rows need more than one field: a rank sweep of two methods (deltas at
//! the same rank) and a Sinter map (activation rows with their parameters).

use super::deltas::Delta;
use super::TableReport;
use crate::figures::sinter_map::SinterMap;
use crate::settings::{ReportSpec, TableKind};
use crate::test_support::{identity, write_scored_run};
use loran_train::identity::QuantMode;

const EXAMPLES: usize = 30;

/// Per-example scores: `level`, an example pattern, and a seed × example wobble.
fn values(level: f64, seed: u64) -> Vec<f64> {
    (0..EXAMPLES).map(|i| level + 0.02 * (i % 5) as f64 + 0.004 * (((i * 7 + seed as usize * 3) % 5) as f64 - 2.0)).collect()
}

fn delta(report: &TableReport, row: &str) -> Option<f64> {
    let r = report.table.rows.iter().position(|x| x == row).unwrap_or_else(|| panic!("no row {row} in {:?}", report.table.rows));
    match &report.deltas[r][0] {
        Some(Delta::Estimate(e)) => Some(e.inference.delta),
        _ => None,
    }
}

#[test]
fn a_rank_sweep_of_two_methods_compares_them_at_each_rank() {
    let grid = tempfile::tempdir().unwrap();
    // LoRAN gains 0.04 at r = 4, 0.02 at r = 16 and nothing at r = 64 over QLoRA; QLoRA
    // itself improves with rank (which the deltas must not mix in).
    for (r, gain) in [(4usize, 0.04), (16, 0.02), (64, 0.0)] {
        let mut lora = identity("lora", QuantMode::Nf4Dq, "identity");
        let mut loran = identity("loran", QuantMode::Nf4Dq, "sinter");
        lora.r = r;
        loran.r = r;
        let base = 0.2 + 0.001 * r as f64;
        for seed in 0..3 {
            write_scored_run(grid.path(), &lora, &format!("r{r}-lora"), seed, &values(base, seed), false);
            write_scored_run(grid.path(), &loran, &format!("r{r}-loran"), seed, &values(base + gain, seed), false);
        }
    }
    let runs = crate::load_runs(grid.path()).unwrap();
    let spec = ReportSpec { table: TableKind::Rank, baseline: Some("qlora-dq".into()), ..ReportSpec::default() };
    let report = TableReport::new("g", &runs, &spec);
    let rows: Vec<&str> = report.table.rows.iter().map(String::as_str).collect();
    assert_eq!(rows, ["loran-sinter+nf4-dq r=4", "qlora-dq r=4", "loran-sinter+nf4-dq r=16", "qlora-dq r=16", "loran-sinter+nf4-dq r=64", "qlora-dq r=64"]);
    assert_eq!(report.baseline.as_deref(), Some("qlora-dq at the same rank"));
    for (r, gain) in [(4, 0.04), (16, 0.02), (64, 0.0)] {
        let d = delta(&report, &format!("loran-sinter+nf4-dq r={r}")).unwrap();
        assert!((d - gain).abs() < 1e-12, "r={r}: {d}");
        assert_eq!(delta(&report, &format!("qlora-dq r={r}")), None);
        let row = report.table.rows.iter().position(|x| *x == format!("loran-sinter+nf4-dq r={r}")).unwrap();
        assert_eq!(report.against[row].as_deref(), Some(format!("qlora-dq r={r}").as_str()));
    }
    let md = super::markdown::render_markdown(&report);
    assert!(md.contains("## Against `qlora-dq at the same rank`: paired deltas"), "{md}");
    assert!(!md.contains("| qlora-dq r=4 | +"), "the baseline's rows have no deltas:\n{md}");
    let csv = String::from_utf8(super::csv::render_csv(&report).unwrap()).unwrap();
    assert!(csv.lines().any(|l| l.starts_with("loran-sinter+nf4-dq r=16,news,rougeL,") && l.contains(",qlora-dq r=16,")), "{csv}");

    // Without a configured baseline the plain-LoRA method is it; one method alone keeps `r=<rank>` rows.
    let report = TableReport::new("g", &runs, &ReportSpec { table: TableKind::Rank, ..ReportSpec::default() });
    assert_eq!(report.baseline.as_deref(), Some("qlora-dq at the same rank"));
}

#[test]
fn sinter_rows_at_several_constants_are_named_by_them_and_mapped() {
    let grid = tempfile::tempdir().unwrap();
    let sinter = |a: f64, w: f64| {
        let mut id = identity("loran", QuantMode::Nf4Dq, "sinter");
        let act = id.activation.as_mut().unwrap();
        act.params.insert("amplitude".into(), a);
        act.params.insert("omega".into(), w);
        id
    };
    let base = identity("loran", QuantMode::Nf4Dq, "identity");
    for seed in 0..2 {
        write_scored_run(grid.path(), &base, "identity", seed, &values(0.3, seed), false);
        for (a, w, shift, diverge) in [(5e-5, 10.0, 0.0, false), (5e-5, 1e4, 0.0, false), (0.1, 10.0, -0.05, false), (0.1, 1e4, -0.1, seed == 1)] {
            write_scored_run(grid.path(), &sinter(a, w), &format!("sinter-{a}-{w}"), seed, &values(0.3 + shift, seed), diverge);
        }
    }
    let runs = crate::load_runs(grid.path()).unwrap();
    let report = TableReport::new("map", &runs, &ReportSpec { table: TableKind::Ablation, ..ReportSpec::default() });
    assert_eq!(report.baseline.as_deref(), Some("identity"));
    assert!(report.table.rows.contains(&"sinter(amplitude=0.1, omega=10)".to_string()), "{:?}", report.table.rows);
    assert_eq!(delta(&report, "sinter(amplitude=0.00005, omega=10)"), Some(0.0));
    assert!((delta(&report, "sinter(amplitude=0.1, omega=10)").unwrap() + 0.05).abs() < 1e-12);

    let map = SinterMap::from_report(&report, &runs, "map").unwrap();
    assert_eq!(map.panels.len(), 1);
    let panel = &map.panels[0];
    assert_eq!((panel.amplitudes.clone(), panel.omegas.clone()), (vec![5e-5, 0.1], vec![10.0, 1e4]));
    let cell = |a: f64, w: f64| panel.cells.iter().find(|c| c.amplitude == a && c.omega == w).unwrap();
    assert_eq!(cell(0.1, 1e4).diverged, (1, 2));
    assert_eq!(cell(5e-5, 1e4).diverged, (0, 2));
    let (d, _) = cell(0.1, 10.0).delta.unwrap();
    assert!((d + 5.0).abs() < 1e-9, "shown ×100: {d}");
    // Drawing works on both backends.
    let dir = tempfile::tempdir().unwrap();
    let written = crate::figures::canvas::save_figure(&map, dir.path(), "sinter_map").unwrap();
    assert_eq!(written.len(), 2);
    // One amplitude only: no map.
    let one: Vec<_> = runs.into_iter().filter(|r| r.result.identity.activation.as_ref().and_then(|a| a.params.get("amplitude")).is_none_or(|&a| a == 5e-5)).collect();
    let report = TableReport::new("map", &one, &ReportSpec { table: TableKind::Ablation, ..ReportSpec::default() });
    assert!(SinterMap::from_report(&report, &one, "map").is_none());
}
