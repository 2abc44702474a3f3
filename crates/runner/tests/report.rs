//! End-to-end tests of `loran_report` on a generated grid folder.

use loran_report::figures::{bars, layout, loss, FIGURES_DIR};
use loran_report::{render, scan_runs, RenderSummary};
use loran_train::record::{
    RunResult, RunStatus, StepRecord, Timings, TrainSummary, RESULT_SCHEMA,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const NEWS: &str = "news-standfirst";
const TOPICS: &str = "mailing-list-topics";
const METHODS: [&str; 3] = ["lora", "loran", "loran-sinter"];
const FAILED_RUN: &str = "loran-sinter-mailing-list-topics-s1-00000011";
const UNFINISHED_RUN: &str = "lora-news-standfirst-s9-deadbeef";
const FAILURE: &str = "candle: out of memory, at step 3";

fn group(method: &str, task: &str) -> String {
    format!("{method}-{task}")
}

fn run_id(method: &str, task: &str, seed: u64) -> String {
    format!("{}-s{seed}-{:08x}", group(method, task), 16 + seed)
}

/// Deterministic metric values: one base per method, plus a seed offset.
fn metric_value(method_index: usize, seed: u64, extra: f64) -> f64 {
    0.20 + 0.10 * method_index as f64 + 0.01 * seed as f64 + extra
}

fn steps_for(method_index: usize, seed: u64, n: usize) -> Vec<StepRecord> {
    (1..=n)
        .map(|step| {
            let t = step as f64;
            let loss = 0.6
                + (2.6 - 0.3 * method_index as f64) * (-t / 12.0).exp()
                + 0.08 * (1.7 * t + seed as f64).sin();
            StepRecord {
                step,
                loss,
                lr: 2e-4,
                grad_norm: 1.0 / t,
                tokens: 64,
                elapsed_s: 0.5 * t,
            }
        })
        .collect()
}

fn run_result(method_index: usize, task: &str, seed: u64) -> RunResult {
    let method = METHODS[method_index];
    let metrics: BTreeMap<String, f64> = if task == NEWS {
        [
            ("rouge1", metric_value(method_index, seed, 0.05)),
            ("rouge2", metric_value(method_index, seed, -0.10)),
            ("rougeL", metric_value(method_index, seed, 0.0)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    } else {
        [
            ("accuracy", metric_value(method_index, seed, 0.30)),
            ("macro_f1", metric_value(method_index, seed, 0.25)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    };
    RunResult {
        schema: RESULT_SCHEMA,
        status: RunStatus::Ok,
        grid: "fixture-grid".into(),
        run_id: run_id(method, task, seed),
        group: group(method, task),
        config_hash: format!("{:064x}", 7 * seed + method_index as u64),
        seed,
        task: task.into(),
        method: method.into(),
        labels: BTreeMap::from([("adapter.method".to_owned(), method.to_owned())]),
        metrics,
        primary_metric: if task == NEWS { "rougeL" } else { "accuracy" }.into(),
        train: TrainSummary {
            steps: 40,
            final_loss: 0.75 + 0.125 * method_index as f64,
            target_tokens: 2560,
            trainable_params: 1_000 * (method_index as u64 + 1),
        },
        timings: Timings {
            load_s: 1.0,
            train_s: 30.25 + seed as f64,
            eval_s: 4.5,
            total_s: 35.75 + seed as f64,
            ..Timings::default()
        },
        peak_rss_mb: 700.0 + method_index as f64,
        threads: 2,
        versions: BTreeMap::from([("rustc".to_owned(), "1.95.0".to_owned())]),
        git: "0123abcd".into(),
        data_sha256: format!("sha-{task}"),
        error: None,
        finished_at: "2025-06-01T12:00:00Z".into(),
        warnings: Vec::new(),
        reused_from: None,
    }
}

fn write_jsonl(path: &Path, steps: &[StepRecord]) {
    let text: String = steps
        .iter()
        .map(|s| serde_json::to_string(s).unwrap() + "\n")
        .collect();
    std::fs::write(path, text).unwrap();
}

fn write_run(grid: &Path, result: &RunResult, steps: &[StepRecord]) {
    let dir = grid.join("runs").join(&result.run_id);
    std::fs::create_dir_all(&dir).unwrap();
    write_jsonl(&dir.join("metrics.jsonl"), steps);
    std::fs::write(
        dir.join("result.json"),
        serde_json::to_string_pretty(result).unwrap(),
    )
    .unwrap();
}

/// 2 tasks × 3 groups; 3 seeds for the news task and 2 for the topics task; one of the
/// topics runs failed after 3 steps; one extra folder never finished.
fn fixture_grid() -> tempfile::TempDir {
    let grid = tempfile::tempdir().unwrap();
    for (task, seeds) in [(NEWS, 3u64), (TOPICS, 2)] {
        for method_index in 0..METHODS.len() {
            for seed in 0..seeds {
                let mut result = run_result(method_index, task, seed);
                let mut steps = steps_for(method_index, seed, 40);
                if result.run_id == FAILED_RUN {
                    result.status = RunStatus::Failed;
                    result.metrics.clear();
                    result.error = Some(FAILURE.into());
                    result.train.steps = 3;
                    steps.truncate(3);
                }
                write_run(grid.path(), &result, &steps);
            }
        }
    }
    let unfinished = grid.path().join("runs").join(UNFINISHED_RUN);
    std::fs::create_dir_all(&unfinished).unwrap();
    write_jsonl(&unfinished.join("metrics.jsonl"), &steps_for(0, 9, 5));
    grid
}

/// A minimal CSV reader (quoted fields with commas and doubled quotes), independent of polars.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for line in text.lines() {
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                ('"', _) => quoted = !quoted,
                (',', false) => fields.push(std::mem::take(&mut field)),
                _ => field.push(c),
            }
        }
        fields.push(field);
        rows.push(fields);
    }
    rows
}

/// Width and height from a PNG's IHDR chunk, after checking the signature.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert!(
        bytes.len() > 33,
        "{} is too short for a PNG",
        path.display()
    );
    assert_eq!(
        &bytes[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} signature",
        path.display()
    );
    assert_eq!(&bytes[8..16], b"\0\0\0\x0dIHDR", "{} IHDR", path.display());
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

fn svg_size(svg: &str) -> (u32, u32) {
    let attr = |name: &str| -> u32 {
        let key = format!(" {name}=\"");
        let start = svg.find(&key).unwrap_or_else(|| panic!("no {name} in SVG")) + key.len();
        let end = start + svg[start..].find('"').unwrap();
        svg[start..end].parse().unwrap()
    };
    (attr("width"), attr("height"))
}

/// The text content of every `<text>` element of an SVG, trimmed and unescaped.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .map(|chunk| {
            let body = &chunk[chunk.find('>').unwrap() + 1..];
            let body = &body[..body.find("</text>").unwrap()];
            body.trim()
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&amp;", "&")
        })
        .collect()
}

fn cell<'a>(rows: &'a [Vec<String>], run: &str, column: &str) -> &'a str {
    let col = rows[0]
        .iter()
        .position(|c| c == column)
        .unwrap_or_else(|| panic!("no {column}"));
    let row = rows
        .iter()
        .find(|r| r[0] == run)
        .unwrap_or_else(|| panic!("no row for {run}"));
    &row[col]
}

fn figure(grid: &Path, file: &str) -> PathBuf {
    grid.join(FIGURES_DIR).join(file)
}

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

    let news = run_id("loran", NEWS, 2);
    assert_eq!(cell(&rows, &news, "group"), "loran-news-standfirst");
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
        let axis = format!("{metric} (mean over ok runs; whiskers ±1 sample std)");
        assert!(bars.contains(&axis), "axis label {axis}: {bars:?}");
    }
    // lora on news: rougeL 0.20, 0.21, 0.22 → mean 0.210, sample std 0.010.
    assert!(bars.contains(&"0.210 ± 0.010 (n=3)".to_owned()), "{bars:?}");
    // The failed seed leaves one ok run of two.
    assert!(
        bars.contains(&"0.700 (n=1 of 2 runs)".to_owned()),
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
    assert_eq!(before.len(), 7);
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
fn corrupt_result_json_fails_naming_the_file() {
    let grid = fixture_grid();
    let bad = grid
        .path()
        .join("runs")
        .join(run_id("lora", NEWS, 0))
        .join("result.json");
    std::fs::write(&bad, "{\"schema\": 1,\n\"status\": ").unwrap();
    let err = format!("{:#}", render(grid.path()).unwrap_err());
    assert!(err.contains(&format!("{}:2:", bad.display())), "{err}");
}
