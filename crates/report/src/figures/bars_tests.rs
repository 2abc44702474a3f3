//! Tests of `bars.rs`.
use super::*;

fn row(mean: Option<f64>, std: Option<f64>, n: usize, runs: usize) -> BarRow {
    BarRow {
        group: "g".into(),
        mean,
        std,
        n,
        runs,
        decimals: 3,
    }
}

#[test]
fn rows_average_ok_runs_per_group_with_sample_std() {
    use crate::load::load_runs;
    use crate::test_support::{identity, result, with_identity, write_run};
    let grid = tempfile::tempdir().unwrap();
    write_run(grid.path(), &result("b", "t", 0, &[("acc", 0.5)]), &[]);
    write_run(grid.path(), &result("b", "t", 1, &[("acc", 0.7)]), &[]);
    let mut failed = result("b", "t", 2, &[("acc", 0.0)]);
    failed.status = RunStatus::Failed;
    write_run(grid.path(), &failed, &[]);
    let dora = identity("dora", loran_train::identity::QuantMode::None, "sinter");
    write_run(grid.path(), &with_identity(result("a", "t", 0, &[("acc", 0.25)]), dora), &[]);
    write_run(grid.path(), &result("c", "u", 0, &[("f1", 0.1)]), &[]);
    let runs = load_runs(grid.path()).unwrap();
    let fig = BarFigure::from_runs(&runs, TableKind::Main, None, "title").unwrap();

    assert_eq!(fig.panels.len(), 2);
    let t = &fig.panels[0];
    assert_eq!((t.task.as_str(), t.metric.as_str()), ("t", "acc"));
    // `acc` has no scorer spec: scale 1 and the fallback's 4 decimals.
    assert_eq!(t.rows[0], BarRow { decimals: 4, ..row_named("dora", Some(0.25), None, 1, 1) });
    let b = &t.rows[1];
    assert_eq!((b.group.as_str(), b.n, b.runs), ("lora", 2, 3));
    assert!((b.mean.unwrap() - 0.6).abs() < 1e-12);
    assert!((b.std.unwrap() - 0.02f64.sqrt()).abs() < 1e-12);
    assert_eq!(fig.panels[1].metric, "f1");
    let expected_height = TITLE_HEIGHT + 2 * PANEL_OVERHEAD + 3 * ROW_HEIGHT;
    assert_eq!(fig.size(), (WIDTH, expected_height));
}

fn row_named(
    group: &str,
    mean: Option<f64>,
    std: Option<f64>,
    n: usize,
    runs: usize,
) -> BarRow {
    BarRow {
        group: group.into(),
        ..row(mean, std, n, runs)
    }
}

#[test]
fn bars_use_the_tables_scale_and_decimals() {
    use crate::load::load_runs;
    use crate::test_support::{result, write_run};
    let grid = tempfile::tempdir().unwrap();
    write_run(grid.path(), &result("b", "t", 0, &[("rougeL", 0.1325)]), &[]);
    write_run(grid.path(), &result("b", "t", 1, &[("rougeL", 0.1375)]), &[]);
    let runs = load_runs(grid.path()).unwrap();
    let fig = BarFigure::from_runs(&runs, TableKind::Main, None, "title").unwrap();
    let bar = &fig.panels[0].rows[0];
    assert!((bar.mean.unwrap() - 13.5).abs() < 1e-9, "{bar:?}");
    assert_eq!(bar.label(), "13.50 ± 0.35 (n=2)");
}

#[test]
fn labels_show_mean_std_and_counts() {
    assert_eq!(
        row(Some(0.41234), Some(0.0125), 3, 3).label(),
        "0.412 ± 0.013 (n=3)"
    );
    assert_eq!(row(Some(0.5), None, 1, 2).label(), "0.500 (n=1 of 2 runs)");
    assert_eq!(row(None, None, 0, 1).label(), "no ok run (n=0 of 1 runs)");
}

#[test]
fn value_range_leaves_room_for_labels() {
    let rows = [row(Some(0.4), Some(0.1), 2, 2), row(Some(0.2), None, 1, 1)];
    let r = value_range(&rows, 900.0, 300.0);
    assert_eq!(r.start, 0.0);
    // The longest whisker ends at 0.5 and must leave 300 of 900 px free: 0.5 * 900/600.
    assert!((r.end - 0.75).abs() < 1e-12, "{r:?}");
    let empty = value_range(&[row(None, None, 0, 1)], 900.0, 300.0);
    assert!(empty.end > empty.start);
}
