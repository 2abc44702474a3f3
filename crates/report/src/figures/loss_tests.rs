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
    let fig = LossFigure::from_runs(&runs, &palette, "title", LossMeasure::Training).unwrap();

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
    // The longest run has 4 finite steps: windows of 1 step, so each group mean is its run.
    assert_eq!((fig.panels[0].window, fig.panels[1].window), (1, 1));
    let mean_b = &fig.panels[1].means[1];
    assert_eq!(mean_b.group, "b");
    let points: Vec<(f64, f64)> = mean_b.windows.iter().map(|w| (w.step, w.mean)).collect();
    assert_eq!(points, b.raw);
    assert_eq!(fig.size(), (WIDTH, TITLE_HEIGHT + 2 * PANEL_HEIGHT));
}

#[test]
fn group_means_pool_the_seeds_of_a_group_in_windows() {
    let grid = tempfile::tempdir().unwrap();
    let long = |offset: f64| -> Vec<_> {
        (0..50)
            .map(|i| {
                let mut s = steps()[0].clone();
                s.step = i + 1;
                s.loss = 5.0 - 0.05 * i as f64 + offset;
                s
            })
            .collect()
    };
    write_run(grid.path(), &result("a", "t", 0, &[]), &long(0.5));
    write_run(grid.path(), &result("a", "t", 1, &[]), &long(-0.5));
    let runs = load_runs(grid.path()).unwrap();
    let fig = LossFigure::from_runs(&runs, &GroupPalette::new(["a"]), "t", LossMeasure::Training).unwrap();
    assert_eq!(fig.panels[0].window, 5);
    let windows = &fig.panels[0].means[0].windows;
    assert_eq!(windows.len(), 10);
    // Steps 1..=5 of both runs: the offsets cancel, the mean is the line at step 3.
    assert_eq!(windows[0].n, 10);
    assert!((windows[0].step - 3.0).abs() < 1e-12);
    assert!((windows[0].mean - (5.0 - 0.05 * 2.0)).abs() < 1e-12, "{}", windows[0].mean);
    assert!(windows[0].se > 0.15, "the ±0.5 seed offsets are spread: {}", windows[0].se);
    assert!(windows[9].mean < windows[0].mean - 2.0);
}

#[test]
fn no_steps_means_no_figure() {
    let grid = tempfile::tempdir().unwrap();
    write_run(grid.path(), &result("a", "t", 0, &[]), &[]);
    let runs = load_runs(grid.path()).unwrap();
    let palette = GroupPalette::new(["a"]);
    assert_eq!(LossFigure::from_runs(&runs, &palette, "t", LossMeasure::Training), None);
}

#[test]
fn the_paired_measure_subtracts_the_base_loss_of_the_same_step_and_skips_steps_without_one() {
    let grid = tempfile::tempdir().unwrap();
    let mut s = steps();
    // Losses 2.5, 2.0, 1.5, 1.0 on batches whose base losses differ.
    for (step, base) in s.iter_mut().zip([2.75, 2.0, 4.0, 1.5]) {
        step.base_loss = Some(base);
    }
    s[1].base_loss = None;
    write_run(grid.path(), &result("a", "t", 0, &[]), &s);
    let mut without = steps();
    for step in &mut without {
        step.base_loss = None;
    }
    write_run(grid.path(), &result("b", "u", 0, &[]), &without);
    let runs = load_runs(grid.path()).unwrap();
    let palette = GroupPalette::new(["a", "b"]);
    let fig = LossFigure::from_runs(&runs, &palette, "t", LossMeasure::OverBase).unwrap();
    assert_eq!(fig.panels.len(), 1, "a task whose runs record no base loss has no panel");
    assert_eq!(fig.panels[0].curves[0].raw, vec![(1.0, -0.25), (3.0, -2.5), (4.0, -0.5)]);
    let (_, y) = ranges(&fig.panels[0], true);
    assert!(y.start < -2.5 && y.end > 0.0, "the zero line (the base) is on the axis: {y:?}");
    let training = LossFigure::from_runs(&runs, &palette, "t", LossMeasure::Training).unwrap();
    assert_eq!(training.panels.len(), 2);
}
