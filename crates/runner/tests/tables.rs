//! The paper-shaped tables on a generated grid with per-example predictions: cells,
//! bold best, row order, deltas paired by seed and example against independent
//! computations, and byte-identical re-renders.

use crate::common;
use loran_metrics::{macro_f1, summarize};
use loran_report::render;
use loran_report::settings::{write_report_settings, ReportSpec, TableKind};
use loran_train::record::{PredictionRecord, RunResult, RunStatus};
use std::collections::BTreeMap;
use std::path::Path;

const NEWS: &str = "news-standfirst";
const MAIL: &str = "mailing-list-topics";
const EXAMPLES: usize = 30;
const LABELS: [&str; 3] = ["fork", "ilug", "rpm-list"];

/// Per-example ROUGE-L of `method` at `seed` on news example `i`.
fn rouge_l(method: &str, seed: u64, i: usize) -> f64 {
    let base = 0.30 + 0.01 * (i % 5) as f64 + 0.002 * seed as f64;
    match method {
        "zero-shot+nf4" => base - 0.12,
        "qlora" => base,
        // LoRAN gains a little more with each seed: seed-to-seed variance in its deltas.
        _ => base + 0.05 - 0.01 * (i % 2) as f64 + 0.003 * seed as f64,
    }
}

/// The label `method` at `seed` predicts for mail example `i` (gold: `LABELS[i % 3]`).
fn label(method: &str, seed: u64, i: usize) -> Option<String> {
    let gold = LABELS[i % 3];
    let right = match method {
        "zero-shot+nf4" => false,
        "qlora" => !i.is_multiple_of(3) || (seed == 1 && i.is_multiple_of(2)),
        _ => !i.is_multiple_of(10),
    };
    if right {
        Some(gold.to_string())
    } else if method == "zero-shot+nf4" {
        None
    } else {
        Some(LABELS[(i + 1) % 3].to_string())
    }
}

/// Summed test loss and target tokens of `method` at `seed` on example `i`.
fn loss_parts(method: &str, seed: u64, i: usize) -> (f64, usize) {
    let tokens = 5 + i % 4;
    let per_token = 2.0 + 0.01 * (i % 7) as f64 - 0.02 * seed as f64 - if method == "qlora" { 0.3 } else { 0.0 };
    (per_token * tokens as f64, tokens)
}

fn predictions(method: &str, task: &str, seed: u64) -> Vec<PredictionRecord> {
    (0..EXAMPLES)
        .map(|i| {
            let id = format!("ex-{i:02}");
            let (loss_sum, loss_tokens) = loss_parts(method, seed, i);
            let (loss_sum, loss_tokens) = (Some(loss_sum), Some(loss_tokens));
            if task == NEWS {
                let r = rouge_l(method, seed, i);
                let scores = BTreeMap::from([("rouge1".to_string(), r + 0.1), ("rouge2".to_string(), r / 2.0), ("rougeL".to_string(), r), ("rougeLsum".to_string(), r)]);
                PredictionRecord { id, target: "a standfirst".into(), prediction: "a guess".into(), score: r, scores, label: None, loss_sum, loss_tokens }
            } else {
                let gold = LABELS[i % 3].to_string();
                let parsed = label(method, seed, i);
                let correct = f64::from(parsed.as_deref() == Some(gold.as_str()));
                let scores = BTreeMap::from([("accuracy".to_string(), correct)]);
                PredictionRecord { id, prediction: parsed.clone().unwrap_or_else(|| "prose".into()), target: gold, score: correct, scores, label: parsed, loss_sum, loss_tokens }
            }
        })
        .collect()
}

/// Trainable parameters of `method`'s runs on `task`: none without an adapter, and LoRAN
/// with more on mail than on news (so its row shows a range).
fn params(method: &str, task: &str) -> u64 {
    match (method, task) {
        ("zero-shot+nf4", _) => 0,
        ("loran-sinter+nf4", MAIL) => 294_912,
        _ => 258_048,
    }
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = values.collect();
    v.iter().sum::<f64>() / v.len() as f64
}

fn result(method: &str, task: &str, seed: u64, preds: &[PredictionRecord]) -> RunResult {
    let mut metrics = BTreeMap::new();
    if task == NEWS {
        for m in ["rouge1", "rouge2", "rougeL", "rougeLsum"] {
            metrics.insert(m.to_string(), mean(preds.iter().map(|p| p.scores[m])));
        }
    } else {
        let gold: Vec<&str> = preds.iter().map(|p| p.target.as_str()).collect();
        let parsed: Vec<Option<&str>> = preds.iter().map(|p| p.label.as_deref()).collect();
        metrics.insert("accuracy".into(), mean(preds.iter().map(|p| p.score)));
        metrics.insert("macro_f1".into(), macro_f1(&gold, &parsed).unwrap());
    }
    metrics.insert("test_loss".into(), 2.0 - 0.1 * seed as f64 - if method == "qlora" { 0.5 } else { 0.0 });
    let primary = if task == NEWS { "rougeL" } else { "accuracy" };
    common::ok_result("tables", method, "0000beef", task, method, seed, metrics, primary, params(method, task))
}

fn write_run(grid: &Path, result: &RunResult, preds: &[PredictionRecord]) {
    let dir = grid.join("runs").join(&result.run_id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("result.json"), serde_json::to_string_pretty(result).unwrap()).unwrap();
    let lines: String = preds.iter().map(|p| serde_json::to_string(p).unwrap() + "\n").collect();
    std::fs::write(dir.join("predictions.jsonl"), lines).unwrap();
}

const METHODS: [&str; 3] = ["qlora", "loran-sinter+nf4", "zero-shot+nf4"];

/// News with 3 seeds, mail with 2, for each method; a failed extra run on news.
fn fixture(spec: &ReportSpec) -> tempfile::TempDir {
    let grid = tempfile::tempdir().unwrap();
    for (task, seeds) in [(NEWS, 3), (MAIL, 2)] {
        for method in METHODS {
            for seed in 0..seeds {
                let preds = predictions(method, task, seed);
                write_run(grid.path(), &result(method, task, seed, &preds), &preds);
            }
        }
    }
    let mut failed = result("qlora", NEWS, 7, &[]);
    failed.status = RunStatus::Failed;
    failed.metrics.clear();
    failed.error = Some("boom".into());
    failed.train.trainable_params = 999_999;
    write_run(grid.path(), &failed, &[]);
    write_report_settings(grid.path(), spec).unwrap();
    grid
}

fn csv_rows(grid: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(grid.join("table.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines.map(|l| header.iter().map(|h| h.to_string()).zip(l.split(',').map(str::to_string)).collect()).collect()
}

fn find<'a>(rows: &'a [BTreeMap<String, String>], row: &str, task: &str, metric: &str) -> &'a BTreeMap<String, String> {
    rows.iter().find(|r| r["row"] == row && r["task"] == task && r["metric"] == metric).unwrap_or_else(|| panic!("no {row} {task} {metric}"))
}

fn num(row: &BTreeMap<String, String>, key: &str) -> f64 {
    row[key].parse().unwrap_or_else(|_| panic!("{key} = {:?}", row[key]))
}

#[test]
fn cells_are_mean_std_n_with_the_best_in_bold() {
    let grid = fixture(&ReportSpec::default());
    render(grid.path()).unwrap();
    let rows = csv_rows(grid.path());
    for method in METHODS {
        let values: Vec<f64> = (0..3).map(|s| mean((0..EXAMPLES).map(|i| rouge_l(method, s, i)))).collect();
        let expected = summarize(&values);
        let row = find(&rows, method, NEWS, "rougeL");
        assert!((num(row, "mean") - expected.mean).abs() < 1e-6, "{method}");
        assert!((num(row, "std") - expected.std.unwrap()).abs() < 1e-6, "{method}");
        assert_eq!(row["n"], "3", "the failed run is not counted");
    }
    assert_eq!(find(&rows, "loran-sinter+nf4", NEWS, "rougeL")["best"], "true");
    assert_eq!(find(&rows, "qlora", NEWS, "rougeL")["best"], "false");
    // Test loss: lower is better.
    assert_eq!(find(&rows, "qlora", MAIL, "test_loss")["best"], "true");

    let md = std::fs::read_to_string(grid.path().join("table.md")).unwrap();
    let order: Vec<&str> = md.lines().filter(|l| l.starts_with("| ")).skip(1).take(3).map(|l| l.split('|').nth(1).unwrap().trim()).collect();
    assert_eq!(order, ["zero-shot+nf4", "qlora", "loran-sinter+nf4"], "{md}");
    let loran_line = md.lines().find(|l| l.starts_with("| loran-sinter+nf4 |")).unwrap();
    let rl = summarize(&(0..3).map(|s| 100.0 * mean((0..EXAMPLES).map(|i| rouge_l("loran-sinter+nf4", s, i)))).collect::<Vec<_>>());
    let shown = format!("**{:.2} ± {:.2} (n=3)**", rl.mean, rl.std.unwrap());
    assert!(loran_line.contains(&shown), "{shown} not in {loran_line}");
    assert!(md.contains("(n=2)") && md.contains("(3 of 4 runs; 1 failed)"), "the failed run is shown, not counted: {md}");
    let tex = std::fs::read_to_string(grid.path().join("table.tex")).unwrap();
    assert!(tex.contains(&format!("\\textbf{{{:.2} $\\pm$ {:.2} (n=3)}}", rl.mean, rl.std.unwrap())), "{tex}");
    assert!(tex.contains("\\multicolumn{5}{c}{news-standfirst}") && tex.contains("zero-shot+nf4"), "{tex}");
}

#[test]
fn the_params_column_shows_what_each_rows_runs_trained() {
    let grid = fixture(&ReportSpec::default());
    render(grid.path()).unwrap();
    // table.csv: the exact counts of the row's ok runs of the task, on every metric line.
    let rows = csv_rows(grid.path());
    for method in METHODS {
        for task in [NEWS, MAIL] {
            let lines: Vec<_> = rows.iter().filter(|r| r["row"] == method && r["task"] == task).collect();
            assert_eq!(lines.len(), if task == NEWS { 5 } else { 3 }, "{method} {task}");
            for line in lines {
                let want = params(method, task).to_string();
                assert_eq!((&line["trainable_params_min"], &line["trainable_params_max"]), (&want, &want), "{method} {task}: the failed run is not counted");
            }
        }
    }
    // table.md: right after the row label, readable, a range where the tasks differ.
    let md = std::fs::read_to_string(grid.path().join("table.md")).unwrap();
    assert!(md.contains("| method | Trainable params | news-standfirst R-1 |"), "{md}");
    assert!(md.contains("\n|---|---:|---:|"), "{md}");
    let shown = |row: &str| -> String {
        let line = md.lines().find(|l| l.starts_with(&format!("| {row} |"))).unwrap();
        line.split('|').nth(2).unwrap().trim().to_string()
    };
    assert_eq!(params("qlora", NEWS), 258_048);
    assert_eq!(shown("qlora"), "258k");
    assert_eq!(shown("zero-shot+nf4"), "—");
    assert_eq!((params("loran-sinter+nf4", NEWS), params("loran-sinter+nf4", MAIL)), (258_048, 294_912));
    assert_eq!(shown("loran-sinter+nf4"), "258k–295k");
    // table.tex: the same, LaTeX-escaped, in the scores table only.
    let tex = std::fs::read_to_string(grid.path().join("table.tex")).unwrap();
    for line in ["\nzero-shot+nf4 & --- & ", "\nqlora & 258k & ", "\nloran-sinter+nf4 & 258k--295k & ", "Method & Trainable params & R-1 & "] {
        assert_eq!(tex.matches(line).count(), 1, "{line:?} in {tex}");
    }
    assert!(!md.contains("reconstructed") && !tex.contains("reconstructed"), "no reconstructed row, no note");
}

#[test]
fn deltas_match_an_independent_seed_by_example_computation() {
    let spec = ReportSpec::default();
    let grid = fixture(&spec);
    render(grid.path()).unwrap();
    let rows = csv_rows(grid.path());
    // LoRAN − QLoRA on example i at seed s is 0.05 − 0.01·(i mod 2) + 0.003·s: a seed part
    // (seed means 0.045, 0.048, 0.051 → A = 0.003²/3), an example part (B = var_i/30) and
    // no interaction. Half-width sqrt(t(.975, 2)²·A + t(.975, 29)²·B).
    let x = |i: usize| 0.05 - 0.01 * (i % 2) as f64 + 0.003;
    let e: Vec<f64> = (0..EXAMPLES).map(x).collect();
    let e_mean = mean(e.iter().copied());
    let b = e.iter().map(|v| (v - e_mean).powi(2)).sum::<f64>() / (EXAMPLES - 1) as f64 / EXAMPLES as f64;
    let a = 0.003f64.powi(2) / 3.0;
    let half = (4.302_653f64.powi(2) * a + 2.045_230f64.powi(2) * b).sqrt();
    let row = find(&rows, "loran-sinter+nf4", NEWS, "rougeL");
    assert_eq!(row["baseline"], "qlora");
    for (key, want) in [("delta", e_mean), ("ci_low", e_mean - half), ("ci_high", e_mean + half), ("se", (a + b).sqrt()), ("seed_share", a / (a + b))] {
        assert!((num(row, key) - want).abs() < 1e-6, "{key}: {} vs {want}", row[key]);
    }
    assert_eq!((row["paired_seeds"].as_str(), row["paired_examples"].as_str()), ("3", "30"));
    assert!(num(row, "p_holm") >= num(row, "p") && num(row, "mde") > 0.0, "{row:?}");
    // Zero-shot is 0.12 below on every example and seed: no variance, p = 0.
    let zero = find(&rows, "zero-shot+nf4", NEWS, "rougeL");
    assert!((num(zero, "delta") + 0.12).abs() < 1e-9 && num(zero, "p") == 0.0 && zero["significant_holm"] == "true", "{zero:?}");
    // Macro-F1: the full-sample delta is the seed-mean macro-F1 difference.
    let f1 = |method: &str, seed: u64| {
        let gold: Vec<&str> = (0..EXAMPLES).map(|i| LABELS[i % 3]).collect();
        let parsed: Vec<Option<String>> = (0..EXAMPLES).map(|i| label(method, seed, i)).collect();
        macro_f1(&gold, &parsed).unwrap()
    };
    let want = (f1("loran-sinter+nf4", 0) + f1("loran-sinter+nf4", 1)) / 2.0 - (f1("qlora", 0) + f1("qlora", 1)) / 2.0;
    let row = find(&rows, "loran-sinter+nf4", MAIL, "macro_f1");
    assert!((num(row, "delta") - want).abs() < 1e-6, "{} vs {want}", row["delta"]);
    assert!(num(row, "ci_low") <= num(row, "delta") && num(row, "delta") <= num(row, "ci_high"));
    // The baseline has no delta.
    assert_eq!(find(&rows, "qlora", NEWS, "rougeL")["delta"], "");
    // Test loss: the token-weighted mean per run, averaged over seeds, method − baseline.
    let mean_loss = |method: &str| -> f64 {
        let per_seed = (0..3).map(|s| {
            let (sum, tokens) = (0..EXAMPLES).map(|i| loss_parts(method, s, i)).fold((0.0, 0), |(a, n), (b, m)| (a + b, n + m));
            sum / tokens as f64
        });
        per_seed.sum::<f64>() / 3.0
    };
    let row = find(&rows, "loran-sinter+nf4", NEWS, "test_loss");
    assert!((num(row, "delta") - (mean_loss("loran-sinter+nf4") - mean_loss("qlora"))).abs() < 1e-6, "{}", row["delta"]);
    assert!((num(row, "delta") - 0.3).abs() < 1e-9 && row["ci_excludes_zero"] == "true", "a 0.3-nat shift on every example: {row:?}");
    let md = std::fs::read_to_string(grid.path().join("table.md")).unwrap();
    assert!(md.contains("## Against `qlora`: paired deltas"), "{md}");
    // The column's detectable difference is the largest among rows with a variance:
    // LoRAN's (zero-shot's runs differ from QLoRA's by a constant, no variance, no MDE).
    assert_eq!(find(&rows, "zero-shot+nf4", NEWS, "rougeL")["mde"], "");
    let loran_rl_mde = format!("news-standfirst R-L ≥ {:.2} points", 100.0 * num(find(&rows, "loran-sinter+nf4", NEWS, "rougeL"), "mde"));
    assert!(md.contains("Seeds: 2–3 per comparison, paired by seed") && md.contains("This table resolves differences of news-standfirst R-1 ≥ ") && md.contains(&loran_rl_mde), "{md}");
    assert!(md.contains(&format!("{:+.2} [{:+.2}, {:+.2}] *", 100.0 * num(find(&rows, "zero-shot+nf4", NEWS, "rougeL"), "delta"), 100.0 * num(find(&rows, "zero-shot+nf4", NEWS, "rougeL"), "ci_low"), 100.0 * num(find(&rows, "zero-shot+nf4", NEWS, "rougeL"), "ci_high"))), "{md}");
}

#[test]
fn two_renders_write_byte_identical_tables() {
    let grid = fixture(&ReportSpec::default());
    render(grid.path()).unwrap();
    let first: Vec<Vec<u8>> = ["table.csv", "table.md", "table.tex", "summary.csv"].iter().map(|f| std::fs::read(grid.path().join(f)).unwrap()).collect();
    render(grid.path()).unwrap();
    let second: Vec<Vec<u8>> = ["table.csv", "table.md", "table.tex", "summary.csv"].iter().map(|f| std::fs::read(grid.path().join(f)).unwrap()).collect();
    assert_eq!(first, second);
}

#[test]
fn a_configured_baseline_and_old_predictions_are_reported_honestly() {
    let spec = ReportSpec { baseline: Some("zero-shot+nf4".into()), notes: vec!["one seed; SmolLM2 instead of Llama-2".into()], ..ReportSpec::default() };
    let grid = fixture(&spec);
    // Strip the per-example scores of one run, as files from before they existed.
    let dir = grid.path().join("runs/news-standfirst-qlora-s1-0000beef");
    let old: String = std::fs::read_to_string(dir.join("predictions.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("scores");
            v.to_string() + "\n"
        })
        .collect();
    std::fs::write(dir.join("predictions.jsonl"), old).unwrap();
    render(grid.path()).unwrap();
    let rows = csv_rows(grid.path());
    assert_eq!(find(&rows, "qlora", MAIL, "accuracy")["baseline"], "zero-shot+nf4");
    assert!(!find(&rows, "qlora", MAIL, "accuracy")["delta"].is_empty());
    assert_eq!(find(&rows, "qlora", NEWS, "rougeL")["delta"], "", "a run without per-example scores gives no interval");
    let md = std::fs::read_to_string(grid.path().join("table.md")).unwrap();
    assert!(md.contains("one seed; SmolLM2 instead of Llama-2") && md.contains("re-run with --force"), "{md}");

    let ablation = ReportSpec { table: TableKind::Ablation, ..ReportSpec::default() };
    write_report_settings(grid.path(), &ablation).unwrap();
    render(grid.path()).unwrap();
    let rows = csv_rows(grid.path());
    assert!(rows.iter().any(|r| r["row"] == "sinter"), "ablation rows are activations");
}
