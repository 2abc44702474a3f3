//! Writing a model as a Hugging Face folder (`config.json`, `tokenizer.json`,
//! `model.safetensors` under HF tensor names), so that a merged adapter can be loaded by
//! our own `--model DIR` and by transformers without any adapter code.

use crate::config::LlamaConfig;
use crate::error::{ModelError, Result};
use crate::llama::Llama;
use candle_core::{DType, Tensor};
use std::collections::HashMap;
use std::path::Path;
use tokenizers::Tokenizer;

impl Llama {
    /// Every weight under its HF name, f32 and contiguous: NF4 linears are dequantized and
    /// 16-bit embeddings widened, so the folder holds what the forward computes with. A
    /// tied output head is not written (transformers ties it again from the config).
    ///
    /// An attached adapter is an error naming the linear: its update would be silently
    /// lost, so merge it first.
    pub fn hf_tensors(&self) -> Result<HashMap<String, Tensor>> {
        let f32 = |t: &Tensor| -> Result<Tensor> { Ok(t.to_dtype(DType::F32)?.contiguous()?) };
        let mut out = HashMap::new();
        out.insert("model.embed_tokens.weight".to_string(), f32(&self.embed_tokens)?);
        for (i, block) in self.layers.iter().enumerate() {
            let p = format!("model.layers.{i}");
            out.insert(format!("{p}.input_layernorm.weight"), f32(block.input_layernorm.weight())?);
            out.insert(format!("{p}.post_attention_layernorm.weight"), f32(block.post_attention_layernorm.weight())?);
        }
        for linear in self.linears() {
            if linear.adapter().is_some() {
                return Err(ModelError::AdapterAttached { linear: linear.name().to_string() });
            }
            out.insert(format!("{}.weight", linear.name()), f32(&linear.base().weight()?)?);
            if let Some(bias) = linear.base().bias() {
                out.insert(format!("{}.bias", linear.name()), f32(bias)?);
            }
        }
        out.insert("model.norm.weight".to_string(), f32(self.norm.weight())?);
        if let Some(head) = &self.lm_head {
            out.insert("lm_head.weight".to_string(), f32(head)?);
        }
        Ok(out)
    }

    /// Writes this model and `tokenizer` as an HF folder at `dir` (see [`write_hf_files`]).
    pub fn save_hf_folder(&self, tokenizer: &Tokenizer, dir: &Path) -> Result<()> {
        let mut cfg = self.config().clone();
        // A tied config with a separate head (an HF folder that stores both) keeps its head.
        cfg.tie_word_embeddings &= self.lm_head.is_none();
        write_hf_files(dir, &cfg, tokenizer, &self.hf_tensors()?)
    }
}

/// Writes `config.json` (f32), `tokenizer.json` and `model.safetensors` (with the
/// `format: pt` metadata transformers checks) into `dir`, created if needed. Each file
/// goes through a hidden temporary and a rename, so a crash leaves no half-written file.
pub fn write_hf_files(dir: &Path, cfg: &LlamaConfig, tokenizer: &Tokenizer, weights: &HashMap<String, Tensor>) -> Result<()> {
    let failed = |path: &Path, e: &dyn std::fmt::Display| ModelError::Write { path: path.to_path_buf(), detail: loran_io::one_line(&e.to_string()) };
    std::fs::create_dir_all(dir).map_err(|e| failed(dir, &e))?;
    let config = dir.join("config.json");
    let text = serde_json::to_string_pretty(&cfg.to_hf_json()).expect("a JSON value serializes");
    loran_io::write_atomic(&config, text.as_bytes()).map_err(|e| failed(&config, &e))?;
    let tok = dir.join("tokenizer.json");
    let tmp = loran_io::temporary_sibling(&tok);
    tokenizer.save(&tmp, true).map_err(|e| failed(&tok, &e))?;
    std::fs::rename(&tmp, &tok).map_err(|e| failed(&tok, &e))?;
    let st = dir.join("model.safetensors");
    let tmp = loran_io::temporary_sibling(&st);
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    let written = safetensors::serialize_to_file(weights.iter(), Some(metadata), &tmp)
        .map_err(|e| failed(&st, &e))
        .and_then(|()| std::fs::rename(&tmp, &st).map_err(|e| failed(&st, &e)));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use crate::fixtures::{max_diff, tiny_model, tiny_tokenizer};
    use crate::load::{load_hf_folder, LoadOptions};
    use crate::QuantMode;
    use candle_core::{Device, Tensor};

    fn logits(model: &crate::Llama) -> Tensor {
        let ids = Tensor::new(&[[5u32, 77, 260, 3, 140, 9]], &Device::Cpu).unwrap();
        model.forward(&ids, 0, None).unwrap()
    }

    #[test]
    fn a_saved_folder_loads_back_to_the_same_logits() {
        let model = tiny_model(3).unwrap();
        let dir = tempfile::tempdir().unwrap();
        model.save_hf_folder(&tiny_tokenizer(), dir.path()).unwrap();
        let mut names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        assert_eq!(names, ["config.json", "model.safetensors", "tokenizer.json"]);
        let (back, tok) = load_hf_folder(dir.path(), &LoadOptions::default()).unwrap();
        assert_eq!(max_diff(&logits(&model), &logits(&back)), 0.0);
        assert_eq!(tok.get_vocab_size(true), tiny_tokenizer().get_vocab_size(true));
        // 2 blocks × (2 norms + 7 linears) + embedding + final norm; the head is tied.
        assert_eq!(model.hf_tensors().unwrap().len(), 2 * 9 + 2);
    }

    #[test]
    fn an_nf4_model_is_written_dequantized() {
        let mut model = tiny_model(3).unwrap();
        model.quantize_for_qlora(QuantMode::Nf4).unwrap();
        let dir = tempfile::tempdir().unwrap();
        model.save_hf_folder(&tiny_tokenizer(), dir.path()).unwrap();
        let (back, _) = load_hf_folder(dir.path(), &LoadOptions::default()).unwrap();
        assert!(back.linears().iter().all(|l| !l.base().is_quantized()));
        let q = &model.linears()[0];
        let w = back.linears()[0].base().weight().unwrap();
        assert_eq!(max_diff(&q.base().weight().unwrap(), &w), 0.0);
        assert!(max_diff(&logits(&model), &logits(&back)) < 1e-5);
    }
}
