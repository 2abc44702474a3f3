//! Trained runs keep their adapter (`adapter/`, copied when a run is reused), and
//! `loran analyze` measures it: LoRA's two updates are one matrix, while LoRAN-Sinter at a
//! large amplitude puts energy outside the top r directions.

use loran_model::fixtures::{random_weights, tiny_config, write_hf_folder};
use loran_runner::grid::{read_grid, run_grid, GridOptions, GridOutcome};
use loran_train::record::RunResult;
use loran_train::resources::Resources;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let cfg = tiny_config();
        write_hf_folder(&dir.path().join("model"), &cfg, &random_weights(&cfg, 5)).unwrap();
        loran_datasets::fixtures::synthetic_store(&dir.path().join("home"), 40, 20).unwrap();
        Self { dir }
    }

    /// Runs grid `name` (LoRA at r = 4, α = 8 on q and v, 12 steps) with `axes` under `results/`.
    fn run(&self, name: &str, axes: &str) -> GridOutcome {
        let text = format!(
            "name: {name}\nbase:\n  model: {}\n  data: {{ max_test_examples: 4 }}\n  adapter: {{ r: 4, alpha: 8, dropout: 0.0, targets: [q_proj, v_proj] }}\n  \
             train: {{ steps: 12, lr: 3.0e-2, batch_size: 4, max_len: 320, max_target_tokens: 48, warmup_ratio: 0.1 }}\n  \
             eval: {{ max_examples: 2, max_new_tokens: 4, batch_size: 2 }}\naxes:\n{axes}",
            self.dir.path().join("model").display()
        );
        let path = self.dir.path().join(format!("{name}.yaml"));
        std::fs::write(&path, text).unwrap();
        let opts = GridOptions { results_root: self.results(), force: false, only: None };
        let mut resources = Resources::new(loran_assets::Store::new(self.dir.path().join("home")));
        run_grid(&read_grid(&path).unwrap(), &opts, &mut resources, &mut |_: &str| {}).unwrap()
    }

    fn results(&self) -> PathBuf {
        self.dir.path().join("results")
    }

    fn run_dir(&self, grid: &str, outcome: &GridOutcome, prefix: &str) -> PathBuf {
        let id = outcome.ok.iter().chain(&outcome.skipped).find(|id| id.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix} run: {outcome:?}"));
        self.results().join(grid).join("runs").join(id)
    }

    fn analyze(&self, args: &[&Path]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_loran")).arg("analyze").args(args).env("LORAN_HOME", self.dir.path().join("home")).output().unwrap()
    }
}

fn result(dir: &Path) -> RunResult {
    serde_json::from_str(&std::fs::read_to_string(dir.join("result.json")).unwrap()).unwrap()
}

fn folder_bytes(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap()).map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap())).collect()
}

#[test]
fn runs_save_their_adapter_and_analyze_measures_its_spectrum() {
    let fx = Fixture::new();
    let axes = "  adapter:\n    - { method: none }\n    - { method: lora }\n    - { method: loran, activation: { name: sinter, amplitude: 0.5, omega: 10 } }\n";
    let done = fx.run("spectra", axes);
    assert_eq!(done.ok.len(), 3, "{done:?}");
    let (none, lora, sinter) = (fx.run_dir("spectra", &done, "none-"), fx.run_dir("spectra", &done, "lora-s0"), fx.run_dir("spectra", &done, "loran-sinter-"));

    // Trained runs keep adapter/ (its size recorded, nothing temporary left); zero-shot has none.
    assert!(!none.join("adapter").exists() && result(&none).adapter_bytes.is_none());
    for run in [&lora, &sinter] {
        let files = folder_bytes(&run.join("adapter"));
        // loran-lab's layout, plus PEFT's config (LoRA) or the LoRAN fork's (Sinter) beside it.
        assert_eq!(files.keys().collect::<Vec<_>>(), ["adapter_config.json", "adapter_model.safetensors", "loran_adapter.json"]);
        assert_eq!(result(run).adapter_bytes, Some(files.values().map(|b| b.len() as u64).sum()));
        assert!(!run.join(".adapter.tmp").exists());
    }

    let out = fx.analyze(&[&fx.results().join("spectra")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("skipped: no `adapter/`"), "{stdout}");
    assert!(stdout.contains("model.layers.1.self_attn.v_proj") && stdout.contains("loran-sinter"), "{stdout}");
    let csv = std::fs::read_to_string(fx.results().join("spectra/analysis.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<BTreeMap<&str, &str>> = lines.map(|l| header.iter().copied().zip(l.split(',')).collect()).collect();
    // Two runs × q and v of both layers.
    assert_eq!(rows.len(), 8, "{csv}");
    let num = |row: &BTreeMap<&str, &str>, key: &str| row[key].parse::<f64>().unwrap();
    let run_rows = |dir: &Path| {
        let id = dir.file_name().unwrap().to_str().unwrap().to_string();
        rows.iter().filter(move |r| r["run_id"] == id).collect::<Vec<_>>()
    };
    let expected_modules = ["model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj", "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"];
    for run in [&lora, &sinter] {
        assert_eq!(run_rows(run).iter().map(|r| r["module"]).collect::<Vec<_>>(), expected_modules);
    }
    for row in run_rows(&lora) {
        assert_eq!((row["method"], row["r"]), ("lora", "4"));
        assert_eq!((row["out_features"], row["in_features"]), (if row["module"].ends_with("q_proj") { "32" } else { "16" }, "32"));
        // One matrix: every measure agrees to the last digit, and it holds rank r.
        for m in ["numerical_rank", "effective_rank", "stable_rank", "energy_outside_r"] {
            assert_eq!(row[format!("linear_{m}").as_str()], row[format!("nonlinear_{m}").as_str()], "{m}: {row:?}");
        }
        assert_eq!(row["linear_numerical_rank"], "4", "{row:?}");
        assert!(num(row, "nonlinear_energy_outside_r") < 1e-10, "{row:?}");
    }
    for row in run_rows(&sinter) {
        assert_eq!(row["method"], "loran-sinter");
        assert!(num(row, "linear_energy_outside_r") < 1e-10, "{row:?}");
        // 4e-4 to 2.4e-2 computed.
        assert!(num(row, "nonlinear_energy_outside_r") > 1e-4, "{row:?}");
        assert!(num(row, "nonlinear_numerical_rank") > 4.0, "{row:?}");
    }
    let png = std::fs::read(fx.results().join("spectra/spectrum.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{} bytes", png.len());

    // Another grid reuses the LoRA run with its adapter; `save_adapter: false` is another
    // config (another run id) and keeps no adapter.
    let copy = fx.run("copy", "  adapter.method: [lora]\n  train.save_adapter: [true, false]\n");
    assert_eq!((copy.ok.len(), copy.skipped.len()), (1, 1), "{copy:?}");
    let reused = fx.results().join("copy/runs").join(&copy.skipped[0]);
    assert_eq!(result(&reused).reused_from.as_deref(), Some(lora.display().to_string().as_str()));
    assert_eq!(folder_bytes(&reused.join("adapter")), folder_bytes(&lora.join("adapter")));
    assert_eq!(result(&reused).adapter_bytes, result(&lora).adapter_bytes);
    let unsaved = fx.results().join("copy/runs").join(&copy.ok[0]);
    assert!(!unsaved.join("adapter").exists() && result(&unsaved).adapter_bytes.is_none());
    let text = std::fs::read_to_string(unsaved.join("config.resolved.yaml")).unwrap();
    assert!(text.contains("save_adapter: false"), "{text}");

    // Runs of two grids need `--out`.
    let out = fx.analyze(&[&lora, &reused]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--out"), "{}", String::from_utf8_lossy(&out.stderr));
}
