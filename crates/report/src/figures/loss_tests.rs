//! Tests of `loss.rs`.
use super::*;
use crate::load::load_runs;
use crate::test_support::{result, steps, write_run};

#[test]
fn curves_group_by_task_skip_non_finite_losses_and_smooth() {
    let grid = tempfile::tempdir().unwrap();
    let mut s = steps();
    s[2].loss = f64::NAN;
    write_run(grid.path(), &result("b", "t2", 0, &[]), &s);
    write_run(grid.path(), &result("a", "t2", 1, &[]), &steps());
    write_run(grid.path(), &result("c", "t1", 0, &[]), &steps());
    write_run(grid.path(), &result("d", "t1", 0, &[]), &[]);
    let runs = load_runs(grid.path()).unwrap();
    let palette = GroupPalette::new(runs.iter().map(|r| r.result.group.as_str()));
    let fig = LossFigure::from_runs(&runs, &palette, "title").unwrap();

    let tasks: Vec<&str> = fig.panels.iter().map(|p| p.task.as_str()).collect();
    assert_eq!(tasks, ["t1", "t2"]);
    assert_eq!(
        fig.panels[0].curves.len(),
        1,
        "a run without steps draws nothing"
    );
    let groups: Vec<&str> = fig.panels[1]
        .curves
        .iter()
        .map(|c| c.group.as_str())
        .collect();
    assert_eq!(groups, ["a", "b"]);
    let b = &fig.panels[1].curves[1];
    assert_eq!(b.raw, vec![(1.0, 2.5), (2.0, 2.0), (4.0, 1.0)]);
    // The longest run has 4 finite steps: a window of 1 step, so no smoothing...
    assert_eq!(fig.ema_beta, 0.0);
    assert_eq!(b.smoothed, b.raw);
    // ...while the curves follow the EMA for any β.
    let beta = 0.5;
    let smoothed = ema(&[2.5, 2.0, 1.0], beta);
    let e2 = beta * 2.5 + (1.0 - beta) * 2.0;
    let e4 = beta * e2 + (1.0 - beta) * 1.0;
    assert_eq!(smoothed, vec![2.5, e2, e4]);
    assert_eq!(fig.size(), (WIDTH, TITLE_HEIGHT + 2 * PANEL_HEIGHT));
}

#[test]
fn ema_window_scales_with_run_length() {
    assert_eq!(ema_beta_for(0), 0.0);
    assert_eq!(ema_beta_for(10), 0.0);
    // 200 steps: a 20-step window, β = 1 − 2/21.
    assert!((ema_beta_for(200) - 19.0 / 21.0).abs() < 1e-12);
    assert!(ema_beta_for(2000) > ema_beta_for(200));
}

#[test]
fn smoothing_uses_the_figure_beta() {
    let grid = tempfile::tempdir().unwrap();
    let long: Vec<_> = (0..50)
        .map(|i| {
            let mut s = steps()[i % 4].clone();
            s.step = i + 1;
            s
        })
        .collect();
    write_run(grid.path(), &result("a", "t", 0, &[]), &long);
    let runs = load_runs(grid.path()).unwrap();
    let fig = LossFigure::from_runs(&runs, &GroupPalette::new(["a"]), "t").unwrap();
    assert_eq!(fig.ema_beta, ema_beta_for(50));
    let losses: Vec<f64> = long.iter().map(|s| s.loss).collect();
    let expected = ema(&losses, fig.ema_beta);
    let got: Vec<f64> = fig.panels[0].curves[0]
        .smoothed
        .iter()
        .map(|p| p.1)
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn no_steps_means_no_figure() {
    let grid = tempfile::tempdir().unwrap();
    write_run(grid.path(), &result("a", "t", 0, &[]), &[]);
    let runs = load_runs(grid.path()).unwrap();
    let palette = GroupPalette::new(["a"]);
    assert_eq!(LossFigure::from_runs(&runs, &palette, "t"), None);
}
