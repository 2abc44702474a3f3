//! End-to-end tests of `loran_report` on a generated grid folder.

mod fixture;

use fixture::*;
use loran_report::figures::{bars, layout, loss};
use loran_report::{render, scan_runs, RenderSummary};
use loran_train::record::RunStatus;

#[test]
fn render_counts_runs_and_writes_every_file() {
    let grid = fixture_grid();
    let summary = render(grid.path()).unwrap();
    let expected = RenderSummary {
        ok: 14,
        failed: 1,
        diverged: 0,
        unfinished: 1,
        summary_csv: grid.path().join("summary.csv"),
        tables: ["table.csv", "table.md", "table.tex"].iter().map(|f| grid.path().join(f)).collect(),
        figures: [
            "loss_curves.svg",
            "loss_curves.png",
            // The fixture's steps record the base's loss on each batch.
            "loss_vs_base.svg",
            "loss_vs_base.png",
            "metric_bars.svg",
            "metric_bars.png",
            // The fixture has LoRAN runs.
            "activation_shapes.svg",
            "activation_shapes.png",
        ]
        .iter()
        .map(|f| figure(grid.path(), f))
        .collect(),
        // Every fixture run records the same revision.
        mixed_revisions: None,
        // No manifest, no damaged file.
        stale: 0,
        damaged: 0,
        warnings: Vec::new(),
    };
    assert_eq!(summary, expected);
    assert_eq!(summary.finished(), 15);
    for path in &summary.figures {
        assert!(
            std::fs::metadata(path).unwrap().len() > 1000,
            "{}",
            path.display()
        );
    }
    let scan = scan_runs(grid.path()).unwrap();
    assert_eq!(
        scan.unfinished,
        vec![grid.path().join("runs").join(UNFINISHED_RUN)]
    );
}

#[test]
fn summary_csv_has_one_row_per_finished_run_and_exact_cells() {
    let grid = fixture_grid();
    let summary = render(grid.path()).unwrap();
    let rows = parse_csv(&std::fs::read_to_string(&summary.summary_csv).unwrap());

    let header: Vec<&str> = rows[0].iter().map(String::as_str).collect();
    assert_eq!(
        header,
        [
            "run_id",
            "group",
            "task",
            "method",
            "adapter_method",
            "quant",
            "activation",
            "r",
            "alpha",
            "lr",
            "seed",
            "status",
            "accuracy",
            "macro_f1",
            "rouge1",
            "rouge2",
            "rougeL",
            "primary_metric",
            "steps",
            "final_loss",
            "trainable_params",
            "train_s",
            "eval_s",
            "total_s",
            "peak_rss_mb",
            "threads",
            "git",
            "data_sha256",
            "error",
        ]
    );
    assert_eq!(rows.len(), 1 + 15);
    assert!(rows.iter().all(|r| r.len() == header.len()));

    // Rows are sorted by run_id; the unfinished folder has none.
    let ids: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
    assert!(!ids.contains(&UNFINISHED_RUN));

    let news = run_id("loran-tanh", NEWS, 2);
    assert_eq!(cell(&rows, &news, "group"), "loran-tanh-news-standfirst");
    assert_eq!(cell(&rows, &news, "method"), "loran-tanh");
    let identity = ["adapter_method", "quant", "activation", "r", "alpha", "lr"].map(|c| cell(&rows, &news, c));
    assert_eq!(identity, ["loran", "none", "tanh", "64", "16.000000", "0.000200"]);
    assert_eq!(cell(&rows, &run_id("lora", NEWS, 0), "activation"), "", "LoRA has no activation");
    assert_eq!(cell(&rows, &news, "seed"), "2");
    assert_eq!(cell(&rows, &news, "status"), "ok");
    // 0.20 + 0.10 + 0.02
    assert_eq!(cell(&rows, &news, "rougeL"), "0.320000");
    assert_eq!(cell(&rows, &news, "rouge2"), "0.220000");
    assert_eq!(cell(&rows, &news, "accuracy"), "");
    assert_eq!(cell(&rows, &news, "primary_metric"), "rougeL");
    assert_eq!(cell(&rows, &news, "final_loss"), "0.875000");
    assert_eq!(cell(&rows, &news, "trainable_params"), "2000");
    assert_eq!(cell(&rows, &news, "train_s"), "32.250000");
    assert_eq!(cell(&rows, &news, "error"), "");

    let topics = run_id("lora", TOPICS, 1);
    assert_eq!(cell(&rows, &topics, "accuracy"), "0.510000");
    assert_eq!(cell(&rows, &topics, "rougeL"), "");
    assert_eq!(
        cell(&rows, &topics, "data_sha256"),
        "sha-mailing-list-topics"
    );

    assert_eq!(cell(&rows, FAILED_RUN, "status"), "failed");
    assert_eq!(cell(&rows, FAILED_RUN, "error"), FAILURE);
    assert_eq!(cell(&rows, FAILED_RUN, "accuracy"), "");
    assert_eq!(cell(&rows, FAILED_RUN, "steps"), "3");
}

#[test]
fn figures_have_the_documented_sizes_and_content() {
    let grid = fixture_grid();
    render(grid.path()).unwrap();

    let loss_size = (layout::WIDTH, layout::TITLE_HEIGHT + 2 * loss::PANEL_HEIGHT);
    // Two tasks, three groups each.
    let bars_size = (
        layout::WIDTH,
        layout::TITLE_HEIGHT + 2 * bars::PANEL_OVERHEAD + 6 * bars::ROW_HEIGHT,
    );
    for (stem, size) in [("loss_curves", loss_size), ("metric_bars", bars_size)] {
        assert_eq!(
            png_size(&figure(grid.path(), &format!("{stem}.png"))),
            size,
            "{stem}"
        );
        let svg = std::fs::read_to_string(figure(grid.path(), &format!("{stem}.svg"))).unwrap();
        assert_eq!(svg_size(&svg), size, "{stem}");
        assert!(svg.contains("font-family=\"DejaVu Sans\""), "{stem}");
        let texts = svg_texts(&svg);
        for task in [NEWS, TOPICS] {
            for method in METHODS {
                // Loss curves name groups; bars name the table's rows (the method here).
                let g = if stem == "loss_curves" { group(method, task) } else { method.to_string() };
                assert!(
                    texts
                        .iter()
                        .any(|t| t == &g || t.starts_with(&format!("{g} ("))),
                    "{stem} lacks a label for group {g}: {texts:?}"
                );
            }
            assert!(
                texts.iter().any(|t| t.contains(task)),
                "{stem} lacks task {task}"
            );
        }
    }

    let bars = svg_texts(&std::fs::read_to_string(figure(grid.path(), "metric_bars.svg")).unwrap());
    for metric in ["rougeL", "accuracy"] {
        let axis = format!("{metric} ×100 (mean over ok runs; whiskers ±1 sample std)");
        assert!(bars.contains(&axis), "axis label {axis}: {bars:?}");
    }
    // lora on news: rougeL 0.20, 0.21, 0.22 → mean 21.00, sample std 1.00 on the table's ×100 scale.
    assert!(bars.contains(&"21.00 ± 1.00 (n=3)".to_owned()), "{bars:?}");
    // The failed seed leaves one ok run of two.
    assert!(
        bars.contains(&"70.00 (n=1 of 2 runs)".to_owned()),
        "{bars:?}"
    );
    let loss = svg_texts(&std::fs::read_to_string(figure(grid.path(), "loss_curves.svg")).unwrap());
    for label in [
        "training loss",
        "optimizer step",
        "lora-news-standfirst (3)",
    ] {
        assert!(loss.contains(&label.to_owned()), "{label}: {loss:?}");
    }
    // The topics groups lost nothing: the failed run still logged 3 steps.
    assert!(
        loss.contains(&"loran-sinter-mailing-list-topics (2)".to_owned()),
        "{loss:?}"
    );
}

#[test]
fn rendering_twice_is_byte_identical() {
    let grid = fixture_grid();
    let first = render(grid.path()).unwrap();
    let read_all = |s: &RenderSummary| -> Vec<Vec<u8>> {
        std::iter::once(&s.summary_csv)
            .chain(&s.figures)
            .map(|p| std::fs::read(p).unwrap())
            .collect()
    };
    let before = read_all(&first);
    let second = render(grid.path()).unwrap();
    assert_eq!(first, second);
    let after = read_all(&second);
    assert_eq!(before.len(), 9);
    for ((a, b), path) in before
        .iter()
        .zip(&after)
        .zip(std::iter::once(&first.summary_csv).chain(&first.figures))
    {
        assert!(a == b, "{} changed between renders", path.display());
    }
}

#[test]
fn diverged_runs_are_counted_and_their_nan_loss_is_kept() {
    let grid = tempfile::tempdir().unwrap();
    let ok = run_result(0, TOPICS, 0);
    write_run(grid.path(), &ok, &steps_for(0, 0, 10));
    let mut diverged = run_result(1, TOPICS, 0);
    diverged.status = RunStatus::Diverged;
    diverged.metrics.clear();
    diverged.train.final_loss = f64::NAN;
    diverged.error = Some("loss is NaN at step 6".into());
    let mut steps = steps_for(1, 0, 6);
    steps[5].loss = f64::NAN;
    // serde_json writes the NaNs as null; the report reads them back as NaN.
    write_run(grid.path(), &diverged, &steps);
    let text = std::fs::read_to_string(
        grid.path()
            .join("runs")
            .join(&diverged.run_id)
            .join("result.json"),
    )
    .unwrap();
    assert!(text.contains("\"final_loss\": null"), "{text}");

    let summary = render(grid.path()).unwrap();
    assert_eq!(
        (
            summary.ok,
            summary.failed,
            summary.diverged,
            summary.unfinished
        ),
        (1, 0, 1, 0)
    );
    let rows = parse_csv(&std::fs::read_to_string(&summary.summary_csv).unwrap());
    assert_eq!(cell(&rows, &diverged.run_id, "status"), "diverged");
    assert_eq!(cell(&rows, &diverged.run_id, "final_loss"), "NaN");
    let bars_svg = std::fs::read_to_string(figure(grid.path(), "metric_bars.svg")).unwrap();
    assert!(svg_texts(&bars_svg).contains(&"no ok run (n=0 of 1 runs)".to_owned()));
    let scan = scan_runs(grid.path()).unwrap();
    let loaded = scan
        .runs
        .iter()
        .find(|r| r.result.run_id == diverged.run_id)
        .unwrap();
    assert_eq!(loaded.steps.len(), 6);
    assert!(loaded.steps[5].loss.is_nan() && loaded.result.train.final_loss.is_nan());
}

#[test]
fn a_corrupt_result_json_is_left_out_with_a_warning_naming_the_folder() {
    let grid = fixture_grid();
    let run = grid.path().join("runs").join(run_id("lora", NEWS, 0));
    std::fs::write(run.join("result.json"), "{\"schema\": 1,\n\"status\": ").unwrap();
    let summary = render(grid.path()).unwrap();
    assert_eq!((summary.ok, summary.damaged), (13, 1));
    assert_eq!(summary.warnings.len(), 1, "{:?}", summary.warnings);
    let expected = format!("{} is damaged (result.json line 2 does not parse)", run.display());
    assert!(summary.warnings[0].starts_with(&expected) && summary.warnings[0].contains("run the grid again"), "{:?}", summary.warnings);
}

#[test]
fn a_render_whose_runs_all_went_stale_leaves_no_old_table_or_figure_behind() {
    use loran_report::manifest::{write_manifest, Manifest, ManifestCell};
    let grid = fixture_grid();
    let first = render(grid.path()).unwrap();
    assert_eq!(first.tables.len(), 3);
    let cell = ManifestCell { run_id: "other-s0-00000000".into(), config_hash: "not-any-runs".into() };
    write_manifest(grid.path(), &Manifest { grid: "fixture".into(), file: "../fixture.yaml".into(), cells: vec![cell] }).unwrap();
    let second = render(grid.path()).unwrap();
    assert_eq!((second.ok, second.failed, second.unfinished, second.stale), (0, 0, 0, 16));
    assert!(second.tables.is_empty() && second.figures.is_empty(), "{second:?}");
    for path in first.tables.iter().chain(&first.figures) {
        assert!(!path.exists(), "{} still shows the stale runs", path.display());
    }
    assert_eq!(second.warnings.len(), 1, "{:?}", second.warnings);
    assert!(second.warnings[0].starts_with("16 run(s) in "), "{:?}", second.warnings);
    let rows = parse_csv(&std::fs::read_to_string(&second.summary_csv).unwrap());
    assert_eq!(rows.len(), 1, "the summary keeps only its header");
}
