//! A fixture grid run through the real `loran` binary, and checks on what it leaves on disk.

use loran_model::fixtures::{random_weights, tiny_config, write_hf_folder};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

/// `loran` with an offline hub and `home` as `LORAN_HOME`; `FAILPOINTS` and thread
/// counts are not inherited from the test's environment.
pub fn loran(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_loran"));
    cmd.env("LORAN_HOME", home).env("HF_HUB_OFFLINE", "1").env_remove("FAILPOINTS").env("RAYON_NUM_THREADS", "2");
    cmd
}

/// A tiny model, synthetic task data and a grid of LoRA cells (one per rank) over them.
pub struct GridFixture {
    /// Holds everything.
    pub dir: tempfile::TempDir,
    /// The grid YAML.
    pub grid: PathBuf,
    /// `LORAN_HOME` with the synthetic task packages.
    pub home: PathBuf,
    /// The grid's name (its folder under a results root).
    pub name: String,
}

impl GridFixture {
    /// `steps` training steps per cell; four test examples scored in batches of
    /// `eval_batch` (generation and test loss); one cell per rank in `ranks`.
    pub fn new(name: &str, steps: usize, eval_batch: usize, ranks: &[usize]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let cfg = tiny_config();
        write_hf_folder(&dir.path().join("model"), &cfg, &random_weights(&cfg, 5)).unwrap();
        let home = dir.path().join("home");
        loran_datasets::fixtures::synthetic_store(&home, 60, 40).unwrap();
        let grid = dir.path().join(format!("{name}.yaml"));
        let ranks: Vec<String> = ranks.iter().map(|r| r.to_string()).collect();
        let text = format!(
            "name: {name}\nbase:\n  model: {}\n  data: {{ max_test_examples: 4 }}\n  \
             adapter: {{ method: lora, alpha: 16, dropout: 0.0, targets: [q_proj, v_proj] }}\n  \
             train: {{ steps: {steps}, lr: 1.0e-2, batch_size: 2, max_len: 256, max_target_tokens: 24 }}\n  \
             eval: {{ max_examples: 4, max_new_tokens: 6, batch_size: {eval_batch}, test_loss: true }}\n\
             axes:\n  adapter.r: [{}]\n",
            dir.path().join("model").display(),
            ranks.join(", ")
        );
        std::fs::write(&grid, text).unwrap();
        Self { dir, grid, home, name: name.to_string() }
    }

    /// A copy of the grid named `name` with each `(from, to)` text replacement applied
    /// (each must match), for bad-input cases.
    pub fn variant(&self, name: &str, edits: &[(&str, &str)]) -> PathBuf {
        let mut text = std::fs::read_to_string(&self.grid).unwrap().replacen(&format!("name: {}", self.name), &format!("name: {name}"), 1);
        for (from, to) in edits {
            assert!(text.contains(from), "`{from}` is not in the fixture grid:\n{text}");
            text = text.replace(from, to);
        }
        let path = self.dir.path().join(format!("{name}.yaml"));
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `loran grid run <grid> --results <results>` for another grid file.
    pub fn run_file(&self, grid: &Path, results: &Path, env: &[(&str, &str)]) -> Output {
        let mut cmd = loran(&self.home);
        cmd.args(["grid", "run"]).arg(grid).arg("--results").arg(results);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    /// A results root inside the fixture.
    pub fn results(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `loran grid run <grid> --results <results>` with extra environment variables.
    pub fn run(&self, results: &Path, env: &[(&str, &str)]) -> Output {
        self.run_file(&self.grid, results, env)
    }

    /// Run ids from `loran grid plan` (lines `  <run id>  <labels>`).
    pub fn planned_ids(&self) -> Vec<String> {
        let out = loran(&self.home).args(["grid", "plan"]).arg(&self.grid).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        text.lines()
            .filter(|l| l.starts_with("  ") && !l.trim_start().starts_with("warning"))
            .map(|l| l.split_whitespace().next().unwrap().to_string())
            .collect()
    }
}

/// Run folders under `runs`, each with whether it has a `result.json`.
pub fn run_folders(runs: &Path) -> BTreeMap<String, bool> {
    let Ok(entries) = std::fs::read_dir(runs) else { return BTreeMap::new() };
    entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p.join("result.json").exists()))
        .collect()
}

/// Lines in a run folder's `metrics.jsonl` (0 when it is missing).
pub fn steps_logged(run: &Path) -> usize {
    std::fs::read_to_string(run.join("metrics.jsonl")).map(|t| t.lines().count()).unwrap_or(0)
}

/// The parsed `result.json` of a run folder; panics naming the file if it is torn.
pub fn result(run: &Path) -> serde_json::Value {
    let path = run.join("result.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is torn: {e}", path.display()));
    assert!(value["status"].is_string(), "{} has no status: {text}", path.display());
    value
}

/// The bytes and modification time of every finished cell's `result.json`, by run id.
pub fn finished_results(runs: &Path) -> BTreeMap<String, (Vec<u8>, SystemTime)> {
    run_folders(runs)
        .into_iter()
        .filter(|(_, done)| *done)
        .map(|(id, _)| {
            let path = runs.join(&id).join("result.json");
            result(&runs.join(&id));
            (id, (std::fs::read(&path).unwrap(), std::fs::metadata(&path).unwrap().modified().unwrap()))
        })
        .collect()
}

/// A safetensors file (a run's `adapter/`) is whole: its JSON header parses and the
/// tensors' data ends exactly at the end of the file.
fn assert_whole_safetensors(path: &Path, bytes: &[u8]) {
    assert!(bytes.len() >= 8, "{} is truncated", path.display());
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = bytes.get(8..8 + header_len).unwrap_or_else(|| panic!("{} is truncated in its header", path.display()));
    let header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(header).unwrap_or_else(|e| panic!("{} has a torn header: {e}", path.display()));
    let end = header.iter().filter(|(k, _)| *k != "__metadata__").map(|(_, t)| t["data_offsets"][1].as_u64().unwrap()).max().unwrap_or(0);
    assert_eq!(bytes.len(), 8 + header_len + end as usize, "{} is truncated", path.display());
}

/// Parses every result file under `dir` by its kind (JSON, JSON lines, CSV, YAML, PNG,
/// SVG, markdown, LaTeX, safetensors) and fails on a torn one or a leftover temporary
/// file. Returns how many files it checked.
pub fn assert_nothing_torn(dir: &Path) -> usize {
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            checked += assert_nothing_torn(&path);
            continue;
        }
        assert!(!name.ends_with(".tmp"), "leftover temporary file {}", path.display());
        let bytes = std::fs::read(&path).unwrap();
        let text = || String::from_utf8(bytes.clone()).unwrap_or_else(|_| panic!("{} is not UTF-8", path.display()));
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        match ext {
            "json" => {
                serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_or_else(|e| panic!("{} is torn: {e}", path.display()));
            }
            "jsonl" => {
                let text = text();
                assert!(text.is_empty() || text.ends_with('\n'), "{} ends mid-line", path.display());
                for (i, line) in text.lines().enumerate() {
                    serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{}:{} is torn: {e}", path.display(), i + 1));
                }
            }
            "csv" => {
                assert!(text().ends_with('\n'), "{} ends mid-line", path.display());
                use polars::prelude::{CsvReadOptions, SerReader};
                CsvReadOptions::default()
                    .with_has_header(true)
                    .into_reader_with_file_handle(std::io::Cursor::new(bytes.clone()))
                    .finish()
                    .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
            }
            "yaml" => {
                serde_saphyr::from_str::<serde_json::Value>(&text()).unwrap_or_else(|e| panic!("{} is torn: {e}", path.display()));
            }
            "png" => {
                assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{} lacks the PNG signature", path.display());
                assert!(bytes.len() > 12 && &bytes[bytes.len() - 8..bytes.len() - 4] == b"IEND", "{} is truncated (no IEND)", path.display());
            }
            "svg" => assert!(text().trim_end().ends_with("</svg>"), "{} is truncated", path.display()),
            "safetensors" => assert_whole_safetensors(&path, &bytes),
            "md" | "tex" => assert!(text().ends_with('\n'), "{} ends mid-line", path.display()),
            // The grid lock and the cells' locks (`runs/.<run id>.lock`).
            _ if name.ends_with(".lock") => {}
            _ => panic!("unexpected file {} in a results folder", path.display()),
        }
        checked += 1;
    }
    checked
}
