//! A run's `adapter/` is the run: `loran eval --adapter RUN/adapter` gives back the
//! metrics of its `result.json` to the last bit and its predictions, and `loran generate
//! --adapter` and `loran perplexity --adapter` run the trained model. LoRA, QLoRA (nf4-dq), LoRAN-Sinter and NoLoRA each
//! save the layouts of `loran_adapters::folder`.

use crate::train_fixture::{result, Fixture};
use loran_model::generate::{generate, Decoding, GenerateOptions};
use loran_model::{load, LoadOptions, ModelSource, QuantMode};
use loran_train::config::RunConfig;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PROMPT: &str = "the report said that the";

fn loran(fx: &Fixture, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loran")).args(args).env("LORAN_HOME", fx.dir.path().join("home")).output().unwrap()
}

fn ok(out: &Output) -> String {
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    stdout.into_owned()
}

/// The error line of a failed command: its last line of stderr, and its only `error:` line.
fn error(out: &Output) -> String {
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(stderr.lines().filter(|l| l.starts_with("error")).count(), 1, "{stderr}");
    let last = stderr.lines().last().unwrap().to_string();
    assert!(last.starts_with("error: "), "{stderr}");
    last
}

/// Sizes of every file under `dir`.
fn bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).map(|p| if p.is_dir() { bytes(&p) } else { p.metadata().unwrap().len() }).sum()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Greedy text of the model folder with the adapter folder on it, computed in process.
fn direct_generation(model_dir: &Path, adapter: &Path, quant: QuantMode) -> String {
    let mut loaded = load(&ModelSource::HfFolder(model_dir.to_path_buf()), &LoadOptions::default()).unwrap();
    if quant.is_quantized() {
        loaded.model.quantize_for_qlora(quant).unwrap();
    }
    let mut set = loran_adapters::folder::load(adapter, &mut loaded.model, 0).unwrap();
    // As the command does: merged where exact, the base dequantized (outputs unchanged).
    loran_train::score::prepare_for_generation(&mut loaded.model, &mut set).unwrap();
    let ids = loran_model::tokenizer::encode(&loaded.tokenizer, PROMPT).unwrap();
    let opts = GenerateOptions { max_new_tokens: 8, decoding: Decoding::Greedy, stop_tokens: loaded.model.config().eos_token_ids.clone() };
    let out = generate(&loaded.model, &ids, &opts).unwrap();
    loaded.tokenizer.decode(&out.tokens, true).unwrap()
}

#[test]
fn a_saved_adapter_reproduces_its_run() {
    let fx = Fixture::new();
    let body = "axes:\n  quant: [none, nf4-dq]\n  adapter:\n    - { method: lora, targets: [q_proj, v_proj] }\n    \
                - { method: loran, targets: [q_proj, v_proj], activation: { name: sinter, amplitude: 0.5, omega: 10 } }\n    \
                - { method: nolora, targets: [q_proj, v_proj] }\n";
    let grid = fx.grid("saved", body);
    let done = fx.run(&grid, "results");
    assert_eq!(done.ok.len(), 6, "{done:?}");
    let model_dir = fx.dir.path().join("model");
    let model = model_dir.to_str().unwrap();
    let base_text = ok(&loran(&fx, &["generate", "--model", model, "--prompt", PROMPT, "--max-new-tokens", "8"]));
    let mut runs: Vec<PathBuf> = done.ok.iter().map(|id| fx.run_dir("results", "saved", id)).collect();
    runs.sort();
    for run in &runs {
        let cfg: RunConfig = serde_saphyr::from_str(&std::fs::read_to_string(run.join("config.resolved.yaml")).unwrap()).unwrap();
        let (method, adapter) = (cfg.adapter.method.as_str(), run.join("adapter"));
        let recorded = result(run);

        // The layouts: loran-lab's always, PEFT's for LoRA and QLoRA, the fork's for LoRAN.
        let native = json(&adapter.join("loran_adapter.json"));
        assert_eq!((native["base_model"].as_str(), native["base_quant"].as_str()), (Some(model), Some(cfg.quant.name())), "{}", run.display());
        let foreign = adapter.join("adapter_config.json");
        match method {
            "lora" => assert_eq!(json(&foreign)["peft_type"], "LORA"),
            "loran" => assert_eq!(json(&foreign)["peft_type"], "MLORA"),
            _ => assert!(!foreign.exists(), "{}", run.display()),
        }
        assert_eq!(recorded.adapter_bytes, Some(bytes(&adapter)));

        // `loran eval` gives the run's numbers, bit for bit, and its predictions.
        let out_file = fx.dir.path().join(format!("{}.json", run.file_name().unwrap().to_str().unwrap()));
        let out = loran(&fx, &["eval", "--adapter", adapter.to_str().unwrap(), "--out", out_file.to_str().unwrap()]);
        ok(&out);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("settings from") && stderr.contains("every metric equals"), "{stderr}");
        let report = json(&out_file);
        let metrics: std::collections::BTreeMap<String, f64> = serde_json::from_value(report["metrics"].clone()).unwrap();
        assert!(metrics.contains_key("test_loss") && metrics.contains_key("rougeL"), "{metrics:?}");
        for (name, value) in &recorded.metrics {
            assert_eq!(metrics[name].to_bits(), value.to_bits(), "{name} of {}", run.display());
        }
        assert_eq!(metrics.len(), recorded.metrics.len());
        let predictions: Vec<serde_json::Value> =
            std::fs::read_to_string(run.join("predictions.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(report["predictions"].as_array().unwrap(), &predictions, "{}", run.display());
        assert_eq!(report["quant"], cfg.quant.name());

        // `loran generate --adapter` runs the adapted model (the recorded base and quant).
        let text = ok(&loran(&fx, &["generate", "--adapter", adapter.to_str().unwrap(), "--prompt", PROMPT, "--max-new-tokens", "8"]));
        assert_eq!(text.trim_end_matches('\n'), direct_generation(&model_dir, &adapter, cfg.quant), "{}", run.display());
        if method == "lora" && cfg.quant == QuantMode::None {
            assert_ne!(text, base_text, "training changed nothing the prompt shows");
            // `loran perplexity --adapter` scores under the adapted model too.
            let ppl = |extra: &[&str]| ok(&loran(&fx, &[&["perplexity", "--text", PROMPT, "--model", model], extra].concat()));
            let (adapted, base) = (ppl(&["--adapter", adapter.to_str().unwrap()]), ppl(&[]));
            assert!(adapted.contains("mean NLL: ") && base.contains("mean NLL: "), "{adapted}");
            assert_ne!(adapted, base);
        }
    }

    // Bad input: one line naming the flag or file and the fix.
    let adapter = runs[0].join("adapter");
    let adapter = adapter.to_str().unwrap();
    let err = error(&loran(&fx, &["eval", "--adapter", "/nonexistent/adapter"]));
    assert_eq!(err, "error: --adapter: /nonexistent/adapter: no such adapter folder");
    let err = error(&loran(&fx, &["eval", "--adapter", adapter, "--task", "mailing-list-topics"]));
    assert!(err.starts_with("error: --task mailing-list-topics: the run in ") && err.contains("drop --task or pass --task news-standfirst"), "{err}");
    let err = error(&loran(&fx, &["eval", "--adapter", adapter, "--model", "smollm2-135m"]));
    assert!(err.starts_with("error: --model smollm2-135m: the adapter in ") && err.contains(&format!("pass --model {model}")), "{err}");
    // Outside a run folder, the task is needed; a base of another shape is refused.
    let copy = fx.dir.path().join("copied-adapter");
    std::fs::create_dir(&copy).unwrap();
    for entry in std::fs::read_dir(adapter).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    let err = error(&loran(&fx, &["eval", "--adapter", copy.to_str().unwrap()]));
    assert!(err.starts_with("error: --task is required: "), "{err}");
    let other = fx.dir.path().join("other-model");
    let mut cfg = loran_model::fixtures::tiny_config();
    cfg.hidden_size = 48;
    cfg.head_dim = 12;
    loran_model::fixtures::write_hf_folder(&other, &cfg, &loran_model::fixtures::random_weights(&cfg, 1)).unwrap();
    let err = error(&loran(&fx, &["generate", "--adapter", copy.to_str().unwrap(), "--model", other.to_str().unwrap(), "--prompt", PROMPT]));
    assert!(err.contains("does not fit --model") && err.contains(&format!("pass --model {model}")), "{err}");
}
