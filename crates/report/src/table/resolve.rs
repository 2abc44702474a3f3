//! The sentences that say what a table's data can and cannot resolve: seeds behind each
//! comparison, examples paired, the smallest difference each column detects, and the
//! control rows' equivalence tests.

use super::build::column_spec;
use super::deltas::{DeltaEstimate, POWER};
use super::TableReport;
use std::collections::BTreeMap;

fn estimates(report: &TableReport) -> impl Iterator<Item = (usize, &DeltaEstimate)> {
    report.deltas.iter().flat_map(|row| {
        row.iter().enumerate().filter_map(|(c, d)| Some((c, d.as_ref()?.estimate()?)))
    })
}

/// A value on the metric's display scale with its unit (`4.1 points`, `0.012 nats`).
pub fn amount(metric: &str, value: f64) -> String {
    let spec = column_spec(metric);
    let (value, decimals, unit) = if spec.scale == 1.0 { (value, spec.decimals, "nats") } else { (value * spec.scale, spec.decimals.min(2), "points") };
    // A difference too small for the column's decimals (Sinter's ripple) keeps two
    // significant digits instead of reading `0.000`.
    if value != 0.0 && value.abs() < 0.5 * 10f64.powi(-(decimals as i32)) {
        format!("{value:.1e} {unit}")
    } else {
        format!("{value:.decimals$} {unit}")
    }
}

#[cfg(test)]
#[test]
fn tiny_amounts_keep_two_significant_digits() {
    assert_eq!(amount("test_loss", 0.0504), "0.050 nats");
    assert_eq!(amount("test_loss", 0.000026), "2.6e-5 nats");
    assert_eq!(amount("rougeL", 0.0365), "3.65 points");
    assert_eq!(amount("rougeL", 0.00001), "1.0e-3 points");
}

/// How many seeds the deltas pair, and what that means.
pub fn seeds_sentence(report: &TableReport) -> Option<String> {
    let seeds: Vec<usize> = estimates(report).map(|(_, e)| e.inference.seeds).collect();
    let (lo, hi) = (*seeds.iter().min()?, *seeds.iter().max()?);
    let counted = if lo == hi { format!("{lo}") } else { format!("{lo}–{hi}") };
    let one = "with one seed an interval covers test-set sampling only and cannot speak to training noise";
    Some(match (lo, hi) {
        (1, 1) => format!("Seeds: 1 per comparison, so {one}: a star says only that these two runs differ on these examples."),
        (1, _) => format!("Seeds: {counted} per comparison, paired by seed; {one}."),
        _ => format!("Seeds: {counted} per comparison, paired by seed: each interval counts training noise (seed to seed) and test-set sampling (example to example)."),
    })
}

/// How many examples each task's deltas pair, and the bootstrap behind loss and macro-F1.
pub fn examples_sentence(report: &TableReport) -> Option<String> {
    let mut per_task: BTreeMap<&str, usize> = BTreeMap::new();
    for (c, e) in estimates(report) {
        per_task.entry(report.table.columns[c].task.as_str()).or_insert(e.inference.examples);
    }
    if per_task.is_empty() {
        return None;
    }
    let parts: Vec<String> = per_task.iter().map(|(task, n)| format!("{n} ({task})")).collect();
    Some(format!(
        "Paired over {} test examples; the example-to-example variance of test loss and macro-F1 comes from {} bootstrap resamples with seed {}.",
        parts.join(" and "),
        report.resamples,
        super::paired::BOOTSTRAP_SEED
    ))
}

/// What the table can resolve: per column, the smallest difference every row's delta detects.
pub fn mde_sentence(report: &TableReport) -> Option<String> {
    let parts: Vec<String> = report
        .table
        .columns
        .iter()
        .zip(&report.mde)
        .filter_map(|(col, mde)| Some(format!("{} {} ≥ {}", col.task, column_spec(&col.metric).header, amount(&col.metric, (*mde)?))))
        .collect();
    let has_delta = |c: usize| estimates(report).any(|(col, _)| col == c);
    let silent: Vec<String> = (0..report.table.columns.len())
        .filter(|&c| report.mde[c].is_none() && has_delta(c))
        .map(|c| format!("{} {}", report.table.columns[c].task, column_spec(&report.table.columns[c].metric).header))
        .collect();
    let mut text = match parts.is_empty() {
        true => String::new(),
        false => format!(
            "This table resolves differences of {} ({:.0} % power at α = {}, before the Holm correction), in every row whose runs differ from the baseline's. Smaller true differences may be present and unseen.",
            parts.join(", "),
            POWER * 100.0,
            alpha_text(1.0 - report.confidence)
        ),
    };
    if !silent.is_empty() {
        let sentence = format!(
            "{}: every row scored each test example exactly as the baseline did, so there is no variance to say what smaller differences these comparisons could detect.",
            silent.join(", ")
        );
        text = if text.is_empty() { sentence } else { format!("{text} {sentence}") };
    }
    (!text.is_empty()).then_some(text)
}

/// α without float noise (`0.05`, not `0.050000000000000044`).
pub fn alpha_text(alpha: f64) -> String {
    let text = format!("{alpha:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// One line per control: each column's equivalence verdict with its interval.
pub fn control_lines(report: &TableReport) -> Vec<String> {
    let alpha = 1.0 - report.confidence;
    let level = (1.0 - 2.0 * alpha) * 100.0;
    report
        .controls
        .iter()
        .map(|control| {
            let verdicts: Vec<String> = control
                .columns
                .iter()
                .map(|eq| {
                    let spec = column_spec(&eq.column.metric);
                    let f = |v: f64| format!("{:+.*}", spec.decimals, v * spec.scale);
                    let name = format!("{} {}", eq.column.task, spec.header);
                    let margin = amount(&eq.column.metric, eq.margin);
                    match &eq.outcome {
                        Ok((delta, low, high)) if eq.equivalent => format!("{name}: equivalent within ±{margin} ({} [{}, {}])", f(*delta), f(*low), f(*high)),
                        Ok((delta, low, high)) => format!("{name}: not shown equivalent within ±{margin} ({} [{}, {}])", f(*delta), f(*low), f(*high)),
                        Err(why) => format!("{name}: n/a ({why})"),
                    }
                })
                .collect();
            format!(
                "Control `{}` against `{}` (TOST: equivalent when the {level:.0} % interval lies inside the margin): {}.",
                control.row,
                control.against,
                if verdicts.is_empty() { "no column has a margin".to_string() } else { verdicts.join("; ") }
            )
        })
        .collect()
}
