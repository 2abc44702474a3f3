//! `loran merge`: for every method whose update lives in weight space, the merged HF
//! folder, loaded back by our own loader, gives the adapter model's logits; NoLoRA-style
//! is refused in one line; QLoRA merges over the dequantized NF4 base and says so.

use loran_adapters::{loran, mlora, native, peft, ActivationConfig, AdapterConfig, AdapterSet};
use loran_model::fixtures::{max_diff, tiny_model, tiny_tokenizer, uniform};
use loran_model::load::{load_hf_folder, LoadOptions};
use loran_model::{Llama, QuantMode};
use loran_train::config::RunConfig;
use candle_core::{Device, Tensor};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Which file layout the adapter is saved in (all three are read by `loran merge`).
#[derive(Clone, Copy)]
enum Layout {
    Peft,
    Mlora,
    Native,
}

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        tiny_model(11).unwrap().save_hf_folder(&tiny_tokenizer(), &dir.path().join("model")).unwrap();
        Self { dir }
    }

    fn model_dir(&self) -> PathBuf {
        self.dir.path().join("model")
    }

    /// The fixture model as the command loads it, stored as `quant` says.
    fn model(&self, quant: QuantMode) -> Llama {
        let (mut model, _) = load_hf_folder(&self.model_dir(), &LoadOptions::default()).unwrap();
        model.quantize_for_qlora(quant).unwrap();
        model
    }

    fn merge(&self, adapter: &Path, out: &Path, extra: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_loran"))
            .arg("merge")
            .arg("--model")
            .arg(self.model_dir())
            .arg("--adapter")
            .arg(adapter)
            .arg("--out")
            .arg(out)
            .args(extra)
            .output()
            .unwrap()
    }
}

fn ids() -> Tensor {
    Tensor::new(&[[1u32, 75, 104, 101, 259, 35, 262, 200], [3, 9, 140, 263, 2, 77, 31, 100]], &Device::Cpu).unwrap()
}

/// Attaches `cfg` and makes it look trained: every B random and nonzero, DoRA's
/// magnitudes off the row norms, half of NA-LoRA's B rows masked.
fn trained(model: &mut Llama, cfg: &AdapterConfig) -> AdapterSet {
    let set = AdapterSet::attach(model, cfg, 3).unwrap();
    for (i, (name, var)) in set.named_parameters().into_iter().enumerate() {
        let seed = 100 + i as u64;
        if name.ends_with("lora_B.weight") || name.ends_with(loran::B_SUFFIX) {
            var.set(&uniform(var.dims(), 0.3, seed)).unwrap();
        } else if name.ends_with("lora_magnitude_vector") {
            var.set(&(var.as_tensor() * (uniform(var.dims(), 0.2, seed) + 1.0).unwrap()).unwrap()).unwrap();
        }
    }
    for (name, state) in set.named_state().unwrap() {
        if name.ends_with("na_lora_mask") {
            let mask: Vec<f32> = (0..state.elem_count()).map(|i| (i % 2) as f32).collect();
            set.set_state(&name, &Tensor::new(mask, &Device::Cpu).unwrap()).unwrap();
        }
    }
    set
}

fn save(set: &AdapterSet, model: &Llama, layout: Layout, dir: &Path) {
    match layout {
        Layout::Peft => peft::save(set, model, dir, Some("tiny")).unwrap(),
        Layout::Mlora => mlora::save(set, model, dir, Some("tiny")).unwrap(),
        Layout::Native => native::save(set, dir, Some("tiny"), None).unwrap(),
    }
}

fn adapter(method: &str, targets: &[&str]) -> AdapterConfig {
    AdapterConfig { method: method.into(), r: 4, alpha: 12.0, dropout: 0.1, targets: targets.iter().map(|t| t.to_string()).collect(), ..AdapterConfig::default() }
}

/// Merges `cfg` saved in `layout` and checks the folder against the adapter model.
fn check_merge(fx: &Fixture, label: &str, cfg: AdapterConfig, layout: Layout) {
    let mut model = fx.model(QuantMode::None);
    let set = trained(&mut model, &cfg);
    let adapter_dir = fx.dir.path().join(format!("{label}-adapter"));
    save(&set, &model, layout, &adapter_dir);
    let base = fx.model(QuantMode::None).forward(&ids(), 0, None).unwrap();
    let want = model.forward(&ids(), 0, None).unwrap();
    assert!(max_diff(&want, &base) > 1e-2, "{label}: the adapter must move the logits for the check to mean anything");

    let out = fx.dir.path().join(format!("{label}-merged"));
    let run = fx.merge(&adapter_dir, &out, &[]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{label}: {}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains(&format!("merged `{}` ({} modules)", cfg.method, set.module_names().len())), "{label}: {stdout}");
    assert!(!stdout.contains("NF4") && !stdout.contains("nf4"), "{label}: {stdout}");

    let mut files: Vec<String> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    files.sort();
    assert_eq!(files, ["config.json", "model.safetensors", "tokenizer.json"], "{label}");
    let (merged, _) = load_hf_folder(&out, &LoadOptions::default()).unwrap();
    let diff = max_diff(&merged.forward(&ids(), 0, None).unwrap(), &want);
    assert!(diff < 1e-5, "{label}: merged logits differ from the adapter model's by {diff}");
    // The adapted weights are W0 + ΔW, the others W0 as stored.
    let original = fx.model(QuantMode::None);
    for (name, a) in set.adapters() {
        let find = |m: &Llama| m.linears().into_iter().find(|l| l.name() == name).unwrap().base().weight().unwrap();
        let w0 = find(&original);
        let delta = a.merged_delta(original.linears().into_iter().find(|l| l.name() == name).unwrap().base()).unwrap().unwrap();
        assert_eq!(max_diff(&find(&merged), &(w0 + delta).unwrap()), 0.0, "{label}: {name}");
    }
    let untouched = merged.linears().into_iter().find(|l| l.name() == "model.layers.0.self_attn.o_proj").unwrap().base().weight().unwrap();
    let o0 = original.linears().into_iter().find(|l| l.name() == "model.layers.0.self_attn.o_proj").unwrap().base().weight().unwrap();
    assert_eq!(max_diff(&untouched, &o0), 0.0, "{label}");
}

#[test]
fn every_weight_space_method_merges_to_the_adapter_models_logits() {
    let fx = Fixture::new();
    let qv = ["q_proj", "v_proj"];
    check_merge(&fx, "lora", adapter("lora", &["q_proj", "k_proj", "down_proj"]), Layout::Peft);
    check_merge(&fx, "rslora", AdapterConfig { rslora: true, ..adapter("lora", &qv) }, Layout::Peft);
    check_merge(&fx, "dora", adapter("dora", &["q_proj", "v_proj", "up_proj"]), Layout::Peft);
    // v_proj is 16 × 32 here: a transposed merge (the official fork's bug) could not even add.
    let sinter = ActivationConfig::named("sinter").unwrap().with("amplitude", 0.5).unwrap().with("omega", 20.0).unwrap();
    check_merge(&fx, "loran-sinter", adapter("loran", &qv).with("activation", sinter).unwrap(), Layout::Mlora);
    let tanh = ActivationConfig::named("tanh").unwrap();
    check_merge(&fx, "loran-tanh", adapter("loran", &["k_proj", "gate_proj"]).with("activation", tanh).unwrap(), Layout::Native);
    check_merge(&fx, "sine-lora", adapter("sine-lora", &qv), Layout::Native);
    check_merge(&fx, "na-lora", adapter("na-lora", &["gate_proj"]), Layout::Native);
}

#[test]
fn qlora_merges_over_the_dequantized_nf4_base_and_says_so() {
    let fx = Fixture::new();
    let mut model = fx.model(QuantMode::Nf4);
    let set = trained(&mut model, &adapter("lora", &["q_proj", "v_proj"]));
    // Inside a run folder, the run's config says the base was NF4: no flag needed.
    let run = fx.dir.path().join("run");
    save(&set, &model, Layout::Peft, &run.join("adapter"));
    let config = RunConfig { quant: QuantMode::Nf4, ..RunConfig::default() };
    std::fs::write(run.join("config.resolved.yaml"), serde_saphyr::to_string(&config).unwrap()).unwrap();
    let want = model.forward(&ids(), 0, None).unwrap();

    let out = fx.dir.path().join("merged");
    let done = fx.merge(&run.join("adapter"), &out, &[]);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(stdout.contains("nf4 base (QLoRA)") && stdout.contains("dequantized"), "{stdout}");
    let (merged, _) = load_hf_folder(&out, &LoadOptions::default()).unwrap();
    assert!(merged.linears().iter().all(|l| !l.base().is_quantized()));
    let diff = max_diff(&merged.forward(&ids(), 0, None).unwrap(), &want);
    assert!(diff < 1e-5, "QLoRA merged logits differ by {diff}");
    // Over the full-precision base instead (`--quant none`), the same adapter gives other weights.
    let dense = fx.dir.path().join("merged-dense");
    assert!(fx.merge(&run.join("adapter"), &dense, &["--quant", "none"]).status.success());
    let (over_dense, _) = load_hf_folder(&dense, &LoadOptions::default()).unwrap();
    assert!(max_diff(&over_dense.forward(&ids(), 0, None).unwrap(), &want) > 1e-4);
}

#[test]
fn nolora_is_refused_in_one_line_and_a_used_folder_is_not_written_over() {
    let fx = Fixture::new();
    let mut model = fx.model(QuantMode::None);
    let set = trained(&mut model, &adapter("nolora", &["q_proj", "v_proj"]));
    let dir = fx.dir.path().join("nolora");
    save(&set, &model, Layout::Native, &dir);
    let out = fx.dir.path().join("merged");
    let refused = fx.merge(&dir, &out, &[]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: adapter.method: `nolora` cannot be merged into the base weights: ") && stderr.contains("acts on A·x per token"), "{stderr}");
    assert!(!out.exists());

    let lora = fx.dir.path().join("lora");
    let mut model = fx.model(QuantMode::None);
    save(&trained(&mut model, &adapter("lora", &["q_proj"])), &model, Layout::Peft, &lora);
    let taken = fx.merge(&lora, &fx.model_dir(), &[]);
    assert_eq!(taken.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&taken.stderr).contains("exists and is not empty"));
}
