//! A generated grid folder and readers for what the report writes.

use loran_report::figures::FIGURES_DIR;
use loran_train::config::RunConfig;
use loran_train::record::{
    RunIdentity, RunResult, RunStatus, StepRecord, Timings, TrainSummary, RESULT_SCHEMA,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const NEWS: &str = "news-standfirst";
pub const TOPICS: &str = "mailing-list-topics";
/// The method labels of the three groups, as their identities ([`identity`]) make them.
pub const METHODS: [&str; 3] = ["lora", "loran-tanh", "loran-sinter"];
pub const FAILED_RUN: &str = "loran-sinter-mailing-list-topics-s1-00000011";
pub const UNFINISHED_RUN: &str = "lora-news-standfirst-s9-deadbeef";
pub const FAILURE: &str = "candle: out of memory, at step 3";

/// The identity of the group `METHODS[method_index]`: LoRA, or LoRAN with tanh or Sinter.
pub fn identity(method_index: usize) -> RunIdentity {
    let mut cfg = RunConfig::default();
    if method_index > 0 {
        let activation = ["tanh", "sinter"][method_index - 1];
        cfg.adapter.method = "loran".into();
        cfg.adapter = cfg.adapter.with("activation", loran_adapters::ActivationConfig::named(activation).unwrap()).unwrap();
    }
    cfg.identity()
}

pub fn group(method: &str, task: &str) -> String {
    format!("{method}-{task}")
}

pub fn run_id(method: &str, task: &str, seed: u64) -> String {
    format!("{}-s{seed}-{:08x}", group(method, task), 16 + seed)
}

/// Deterministic metric values: one base per method, plus a seed offset.
pub fn metric_value(method_index: usize, seed: u64, extra: f64) -> f64 {
    0.20 + 0.10 * method_index as f64 + 0.01 * seed as f64 + extra
}

pub fn steps_for(method_index: usize, seed: u64, n: usize) -> Vec<StepRecord> {
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
                base_loss: Some(3.2 + 0.08 * (1.7 * t + seed as f64).sin()),
            }
        })
        .collect()
}

pub fn run_result(method_index: usize, task: &str, seed: u64) -> RunResult {
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
        identity: identity(method_index),
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
        step_records: None,
        prediction_records: None,
        // As today's scorers write them (any version at least theirs).
        scorer_version: Some(u32::MAX),
        task_labels: None,
        adapter_bytes: None,
    }
}

pub fn write_jsonl(path: &Path, steps: &[StepRecord]) {
    let text: String = steps
        .iter()
        .map(|s| serde_json::to_string(s).unwrap() + "\n")
        .collect();
    std::fs::write(path, text).unwrap();
}

pub fn write_run(grid: &Path, result: &RunResult, steps: &[StepRecord]) {
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
pub fn fixture_grid() -> tempfile::TempDir {
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
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
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
pub fn png_size(path: &Path) -> (u32, u32) {
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

pub fn svg_size(svg: &str) -> (u32, u32) {
    let attr = |name: &str| -> u32 {
        let key = format!(" {name}=\"");
        let start = svg.find(&key).unwrap_or_else(|| panic!("no {name} in SVG")) + key.len();
        let end = start + svg[start..].find('"').unwrap();
        svg[start..end].parse().unwrap()
    };
    (attr("width"), attr("height"))
}

/// The text content of every `<text>` element of an SVG, trimmed and unescaped.
pub fn svg_texts(svg: &str) -> Vec<String> {
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

pub fn cell<'a>(rows: &'a [Vec<String>], run: &str, column: &str) -> &'a str {
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

pub fn figure(grid: &Path, file: &str) -> PathBuf {
    grid.join(FIGURES_DIR).join(file)
}
