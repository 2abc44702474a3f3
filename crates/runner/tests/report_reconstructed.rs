//! The baselines grid's rows through a whole render: the labels of the reconstructed
//! methods (`nolora-style (reconstructed)`, …) reach summary.csv, the three tables and the
//! bar figure intact, the `baseline:` lookup finds them by label or registry name, and the tables carry the trainable-parameters column and the note.

use crate::common;
use loran_model::QuantMode;
use loran_report::render;
use loran_train::config::RunConfig;
use loran_train::record::RunResult;
use std::path::Path;

const NEWS: &str = "news-standfirst";
const MAIL: &str = "mailing-list-topics";
const NOTE: &str = "`-style (reconstructed)` rows follow formulations reconstructed from the papers' abstracts (NoLoRA, NA-LoRA; see the README's Methods section); they are not the authors' code.";

/// The cells of `experiments/quick/baselines.yaml` (plus NoLoRA over NF4): registry name,
/// base storage, trainable parameters.
const CELLS: [(&str, QuantMode, u64); 9] = [
    ("none", QuantMode::None, 0),
    ("lora", QuantMode::None, 258_048),
    ("lora", QuantMode::Nf4, 258_048),
    ("loran", QuantMode::None, 258_048),
    ("nolora", QuantMode::None, 258_624),
    ("nolora", QuantMode::Nf4, 258_624),
    ("na-lora", QuantMode::None, 258_048),
    ("sine-lora", QuantMode::None, 258_048),
    ("dora", QuantMode::None, 267_264),
];

fn label(method: &str, quant: QuantMode) -> String {
    let mut cfg = RunConfig { quant, ..RunConfig::default() };
    cfg.adapter.method = method.into();
    cfg.method_label()
}

fn result(i: usize, task: &str, method_label: &str, params: u64) -> RunResult {
    let (method, quant, _) = CELLS[i];
    let quant = if quant == QuantMode::None { "none" } else { "nf4" };
    let score = 0.2 + 0.01 * i as f64;
    let metrics = if task == NEWS { [("rougeL", score), ("test_loss", 2.0)] } else { [("accuracy", score), ("test_loss", 1.0)] };
    let metrics = metrics.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    let primary = if task == NEWS { "rougeL" } else { "accuracy" };
    common::ok_result("quick-baselines", &format!("{quant}-{method}"), &format!("{i:08x}"), task, method_label, 0, metrics, primary, params)
}

/// Every cell on both tasks, labelled as `method_label` labels them.
fn fixture(report_yaml: &str) -> tempfile::TempDir {
    let grid = tempfile::tempdir().unwrap();
    for (i, (method, quant, params)) in CELLS.iter().enumerate() {
        for task in [NEWS, MAIL] {
            let run = result(i, task, &label(method, *quant), *params);
            let dir = grid.path().join("runs").join(&run.run_id);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("result.json"), serde_json::to_string_pretty(&run).unwrap()).unwrap();
        }
    }
    std::fs::write(grid.path().join("report.yaml"), report_yaml).unwrap();
    grid
}

fn read(grid: &Path, file: &str) -> String {
    std::fs::read_to_string(grid.join(file)).unwrap()
}

/// The `name` cell of each CSV line (the labels hold no comma, so no field is quoted).
fn csv_column(text: &str, name: &str) -> Vec<String> {
    let mut lines = text.lines();
    let at = lines.next().unwrap().split(',').position(|h| h == name).unwrap();
    lines.map(|l| l.split(',').nth(at).unwrap().to_string()).collect()
}

#[test]
fn the_labels_say_reconstructed() {
    assert_eq!(label("nolora", QuantMode::None), "nolora-style (reconstructed)");
    assert_eq!(label("nolora", QuantMode::Nf4), "nolora-style+nf4 (reconstructed)");
    assert_eq!(label("na-lora", QuantMode::None), "na-lora-style (reconstructed)");
    assert_eq!(label("lora", QuantMode::Nf4), "qlora");
    assert_eq!(label("sine-lora", QuantMode::None), "sine-lora");
}

#[test]
fn reconstructed_labels_survive_every_report_file() {
    let grid = fixture("table: main\nbaseline: lora\n");
    render(grid.path()).unwrap();
    let rows = [
        ("zero-shot", "—"),
        ("lora", "258k"),
        ("dora", "267k"),
        ("loran-sinter", "258k"),
        ("na-lora-style (reconstructed)", "258k"),
        ("nolora-style (reconstructed)", "259k"),
        ("nolora-style+nf4 (reconstructed)", "259k"),
        ("qlora", "258k"),
        ("sine-lora", "258k"),
    ];

    // summary.csv: one cell per run, unquoted.
    let summary = read(grid.path(), "summary.csv");
    let methods = csv_column(&summary, "method");
    assert_eq!(methods.iter().filter(|m| *m == "na-lora-style (reconstructed)").count(), 2, "{summary}");
    assert_eq!(methods.iter().filter(|m| *m == "nolora-style+nf4 (reconstructed)").count(), 2, "{summary}");
    assert!(!methods.iter().any(|m| m == "na-lora"), "{summary}");

    // table.csv: one row per label, the baseline found, the counts exact.
    let table = read(grid.path(), "table.csv");
    let mut labels = csv_column(&table, "row");
    labels.dedup();
    assert_eq!(labels, rows.map(|r| r.0), "{table}");
    assert!(csv_column(&table, "baseline").iter().all(|b| b == "lora"), "{table}");
    for (line, row) in table.lines().skip(1).zip(csv_column(&table, "row")) {
        let (_, _, params) = CELLS[CELLS.iter().position(|(m, q, _)| label(m, *q) == row).unwrap()];
        assert!(line.ends_with(&format!(",{params},{params}")), "{line}");
    }

    // table.md: the labels as row cells, the params column, the note once.
    let md = read(grid.path(), "table.md");
    assert!(md.starts_with("# quick-baselines: main table\n\n| method | Trainable params | news-standfirst R-L | news-standfirst Test loss | mailing-list-topics Acc |"), "{md}");
    for (row, params) in rows {
        assert!(md.contains(&format!("\n| {row} | {params} | ")), "{row} | {params} in {md}");
    }
    assert!(md.contains("\n| nolora-style+nf4 (reconstructed) | n/a | n/a | n/a |"), "deltas: {md}");
    assert_eq!(md.matches(&format!("\n- {NOTE}\n")).count(), 1, "{md}");

    // table.tex: `+`, parentheses and hyphens as they are; the note as a comment.
    let tex = read(grid.path(), "table.tex");
    assert!(tex.contains("\nnolora-style+nf4 (reconstructed) & 259k & "), "{tex}");
    assert!(tex.contains("\nzero-shot & --- & "), "{tex}");
    assert!(tex.contains(&format!("\n% - {NOTE}\n")), "{tex}");

    // The bar figure labels its bars with the rows.
    let svg = read(grid.path(), "figures/metric_bars.svg");
    let texts: Vec<&str> = svg
        .split("<text")
        .skip(1)
        .map(|chunk| {
            let body = &chunk[chunk.find('>').unwrap() + 1..];
            body[..body.find("</text>").unwrap()].trim()
        })
        .collect();
    for (row, _) in rows {
        assert_eq!(texts.iter().filter(|t| **t == row).count(), 2, "{row}: a bar on each task's panel");
    }

    // Byte-identical when rendered again.
    let files = ["summary.csv", "table.csv", "table.md", "table.tex", "figures/metric_bars.svg"];
    let first: Vec<String> = files.iter().map(|f| read(grid.path(), f)).collect();
    render(grid.path()).unwrap();
    let second: Vec<String> = files.iter().map(|f| read(grid.path(), f)).collect();
    assert_eq!(first, second);
}

#[test]
fn a_baseline_names_a_reconstructed_row_by_label_or_registry_name() {
    for (yaml, row) in [
        ("baseline: nolora-style (reconstructed)\n", "nolora-style (reconstructed)"),
        ("baseline: \"na-lora-style (reconstructed)\"\n", "na-lora-style (reconstructed)"),
        ("baseline: nolora+nf4\n", "nolora-style+nf4 (reconstructed)"),
        ("baseline: na-lora\n", "na-lora-style (reconstructed)"),
    ] {
        let grid = fixture(yaml);
        render(grid.path()).unwrap();
        let table = read(grid.path(), "table.csv");
        assert!(csv_column(&table, "baseline").iter().all(|b| b == row), "{yaml}: {table}");
        let md = read(grid.path(), "table.md");
        assert!(md.contains(&format!("## Against `{row}`: paired deltas")), "{yaml}: {md}");
        assert!(!md.contains("is not a row"), "{yaml}: {md}");
        // The baseline follows zero-shot.
        let order: Vec<&str> = md.lines().filter(|l| l.starts_with("| ")).skip(1).take(2).map(|l| l.split('|').nth(1).unwrap().trim()).collect();
        assert_eq!(order, ["zero-shot", row], "{md}");
    }
}
