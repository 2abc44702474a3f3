//! The statistics of a table on small generated grids with per-example scores: diverged
//! runs, controls, one-seed wording and the Holm marks.

use super::deltas::Delta;
use super::markdown::render_markdown;
use super::TableReport;
use crate::settings::{Control, DivergedRuns, ReportSpec};
use crate::test_support::{identity, write_scored_run};
use loran_stats::holm;
use loran_train::identity::QuantMode;
use std::path::Path;

const EXAMPLES: usize = 40;

/// Per-example ROUGE-L of a row: `level` plus a fixed example pattern plus `wobble(s, i)`.
fn score(level: f64, seed: u64, i: usize, wobble: f64) -> f64 {
    level + 0.02 * (i % 7) as f64 + wobble * (((i * 31 + seed as usize * 17) % 11) as f64 - 5.0) / 5.0
}

/// Writes an `ok` run of `method`/`activation` on `news` with per-example ROUGE-L, or a
/// diverged one (no metrics, no predictions).
fn run(grid: &Path, method: &str, activation: &str, seed: u64, level: f64, wobble: f64, diverged: bool) {
    let values: Vec<f64> = (0..EXAMPLES).map(|i| score(level, seed, i, wobble)).collect();
    let id = identity(method, QuantMode::None, activation);
    write_scored_run(grid, &id, &format!("news-{method}-{activation}"), seed, &values, diverged);
}

/// LoRA (baseline) and DoRA over 3 seeds; DoRA's seed 2 diverged.
fn diverging_grid(grid: &Path) {
    for seed in 0..3 {
        run(grid, "lora", "sinter", seed, 0.30, 0.01, false);
        run(grid, "dora", "sinter", seed, 0.32, 0.01, seed == 2);
    }
}

fn cell<'a>(report: &'a TableReport, row: &str) -> &'a super::build::TableCell {
    let r = report.table.rows.iter().position(|x| x == row).unwrap();
    report.table.cells[r][0].as_ref().unwrap()
}

fn estimate(report: &TableReport, row: &str) -> super::deltas::DeltaEstimate {
    let r = report.table.rows.iter().position(|x| x == row).unwrap();
    match &report.deltas[r][0] {
        Some(Delta::Estimate(e)) => e.clone(),
        other => panic!("{row}: {other:?}"),
    }
}

#[test]
fn a_diverged_run_counts_at_the_worst_score_by_default_and_can_be_left_out() {
    let grid = tempfile::tempdir().unwrap();
    diverging_grid(grid.path());
    let runs = crate::load_runs(grid.path()).unwrap();
    let means: Vec<f64> = (0..2).map(|s| (0..EXAMPLES).map(|i| score(0.32, s, i, 0.01)).sum::<f64>() / EXAMPLES as f64).collect();

    let worst = TableReport::new("unit", &runs, &ReportSpec { baseline: Some("lora".into()), ..ReportSpec::default() });
    let dora = cell(&worst, "dora");
    assert_eq!((dora.summary.n, dora.counts.total, dora.counts.diverged), (3, 3, 1));
    assert!((dora.summary.mean - (means[0] + means[1] + 0.0) / 3.0).abs() < 1e-12, "the diverged run scores 0");
    let e = estimate(&worst, "dora");
    assert_eq!(e.inference.seeds, 3, "seed 2 is paired as 0 on every example");
    assert!(e.inference.delta < 0.0, "a third of the seeds at 0 drags DoRA below LoRA: {}", e.inference.delta);
    let md = render_markdown(&worst);
    assert!(md.contains("(n=3; 1 diverged)") && md.contains("a diverged run counts at the worst score"), "{md}");

    let spec = ReportSpec { baseline: Some("lora".into()), diverged: DivergedRuns::LeaveOut, ..ReportSpec::default() };
    let left = TableReport::new("unit", &runs, &spec);
    let dora = cell(&left, "dora");
    assert_eq!((dora.summary.n, dora.counts.total), (2, 3));
    assert!((dora.summary.mean - (means[0] + means[1]) / 2.0).abs() < 1e-12);
    let e = estimate(&left, "dora");
    assert_eq!(e.inference.seeds, 2);
    assert!(e.inference.delta > 0.0);
    let md = render_markdown(&left);
    assert!(md.contains("(2 of 3 runs; 1 diverged)") && md.contains("`diverged: leave-out`"), "{md}");
}

#[test]
fn a_control_inside_its_margin_is_shown_equivalent_and_one_outside_is_not() {
    let grid = tempfile::tempdir().unwrap();
    for seed in 0..3 {
        run(grid.path(), "lora", "sinter", seed, 0.30, 0.01, false);
        // LoRAN-identity: LoRA up to 1e-4 (as at the paper's constants), DoRA 2 points up.
        run(grid.path(), "loran", "identity", seed, 0.30001, 0.01, false);
        run(grid.path(), "dora", "sinter", seed, 0.32, 0.01, false);
    }
    let runs = crate::load_runs(grid.path()).unwrap();
    let control = |row: &str| Control { row: row.into(), against: Some("lora".into()), margin: 0.5, loss_margin: None };
    let spec = ReportSpec { baseline: Some("lora".into()), controls: vec![control("loran-identity"), control("dora")], ..ReportSpec::default() };
    let report = TableReport::new("unit", &runs, &spec);
    let verdict = |i: usize| report.controls[i].columns[0].clone();
    assert!(verdict(0).equivalent, "{:?}", verdict(0));
    assert!(!verdict(1).equivalent, "{:?}", verdict(1));
    assert!((verdict(0).margin - 0.005).abs() < 1e-15, "0.5 points on the 0–1 scale");
    let (delta, low, high) = verdict(0).outcome.unwrap();
    assert!(low < delta && delta < high && -0.005 < low && high < 0.005);
    let md = render_markdown(&report);
    assert!(md.contains("## Controls") && md.contains("Control `loran-identity` against `lora`"), "{md}");
    assert!(md.contains("news R-L: equivalent within ±0.50 points") && md.contains("news R-L: not shown equivalent within ±0.50 points"), "{md}");
}

#[test]
fn one_seed_says_its_intervals_cover_test_set_sampling_only() {
    let grid = tempfile::tempdir().unwrap();
    run(grid.path(), "lora", "sinter", 0, 0.30, 0.01, false);
    run(grid.path(), "dora", "sinter", 0, 0.31, 0.01, false);
    let runs = crate::load_runs(grid.path()).unwrap();
    let report = TableReport::new("unit", &runs, &ReportSpec { baseline: Some("lora".into()), ..ReportSpec::default() });
    let md = render_markdown(&report);
    assert!(md.contains("Seeds: 1 per comparison, so with one seed an interval covers test-set sampling only and cannot speak to training noise"), "{md}");
    let e = estimate(&report, "dora");
    assert_eq!((e.inference.seeds, e.inference.seed_var), (1, 0.0));
}

#[test]
fn holm_adjusts_over_every_delta_of_the_table_and_the_marks_follow_it() {
    let grid = tempfile::tempdir().unwrap();
    // Rows at graded distances from LoRA, with seed noise: some clearly apart, some not.
    let rows = [("lora", "sinter", 0.30), ("dora", "sinter", 0.31), ("loran", "identity", 0.302), ("loran", "tanh", 0.3005), ("loran", "relu", 0.35)];
    for seed in 0..3 {
        for (method, activation, level) in rows {
            run(grid.path(), method, activation, seed, level, 0.01, false);
        }
    }
    let runs = crate::load_runs(grid.path()).unwrap();
    let report = TableReport::new("unit", &runs, &ReportSpec { baseline: Some("lora".into()), ..ReportSpec::default() });
    let estimates: Vec<_> = report.table.rows.iter().filter(|r| *r != "lora").map(|r| estimate(&report, r)).collect();
    assert_eq!(estimates.len(), 4);
    let adjusted = holm(&estimates.iter().map(|e| e.p).collect::<Vec<_>>());
    for (e, want) in estimates.iter().zip(adjusted) {
        assert_eq!(e.p_holm, want);
        assert!(e.p_holm >= e.p);
    }
    let md = render_markdown(&report);
    for (row, e) in report.table.rows.iter().filter(|r| *r != "lora").zip(&estimates) {
        let line = md.lines().filter(|l| l.starts_with(&format!("| {row} |"))).nth(1).unwrap();
        let mark = if e.p_holm < 0.05 { " *" } else if e.p < 0.05 { " †" } else { "]" };
        assert!(line.trim_end_matches(" |").ends_with(mark), "{row}: p {} p_holm {}: {line}", e.p, e.p_holm);
    }
    assert!(md.contains("Holm–Bonferroni correction over every delta of this table"), "{md}");
}
