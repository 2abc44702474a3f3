//! The LLaMA-family causal language model (SmolLM2, Llama 2, ...).

use crate::attention::Attention;
use crate::bf16_compute::ComputeDtype;
use crate::head_loss::HeadPacks;
use crate::block::DecoderBlock;
use crate::checkpoint::{checkpointed_block, GradSink};
use crate::config::LlamaConfig;
use crate::kernels::Kernels;
use crate::linear::{AdaptableLinear, FrozenLinear};
use crate::mlp::Mlp;
use crate::norm::RmsNorm;
use crate::quant::nf4_weight::msg;
use crate::quant::QuantMode;
use crate::rope::Rope;
use candle_core::{DType, Device, Result, Tensor};
use candle_nn::kv_cache::KvCache;
use candle_nn::VarBuilder;
use std::sync::Arc;

/// Prompts after the frozen blocks below `cut`: those blocks' keys and values and
/// the residual states entering block `cut` (see [`Llama::prefill_prefix`]). Cells
/// whose adapters all sit at or above `cut` can share one.
#[derive(Debug, Clone)]
pub struct BlockPrefix {
    cut: usize,
    positions: usize,
    kv: Vec<(Tensor, Tensor)>,
    hidden: Tensor,
}

impl BlockPrefix {
    /// The first block not included.
    pub fn cut(&self) -> usize {
        self.cut
    }

    /// Prompt positions covered (the padded prompt width).
    pub fn positions(&self) -> usize {
        self.positions
    }

    /// Prompts (batch rows) covered.
    pub fn rows(&self) -> usize {
        self.hidden.dim(0).unwrap_or(0)
    }
}

/// Key/value caches of every block, for incremental decoding.
#[derive(Debug, Clone)]
pub struct Cache {
    layers: Vec<KvCache>,
}

impl Cache {
    /// Number of positions already cached.
    pub fn seq_len(&self) -> usize {
        self.layers.first().map(KvCache::current_seq_len).unwrap_or(0)
    }

    /// Forgets every cached position.
    pub fn reset(&mut self) {
        self.layers.iter_mut().for_each(KvCache::reset);
    }
}

/// A decoder-only transformer with tied or separate output head; every weight is frozen.
#[derive(Debug, Clone)]
pub struct Llama {
    cfg: LlamaConfig,
    pub(crate) embed_tokens: Tensor,
    pub(crate) layers: Vec<DecoderBlock>,
    pub(crate) norm: RmsNorm,
    pub(crate) lm_head: Option<Tensor>,
    rope: Rope,
    kernels: Kernels,
    checkpoint: Option<Arc<GradSink>>,
    /// bf16 packs of the output head, when the frozen products run in bf16.
    head_packs: Option<Arc<HeadPacks>>,
}

fn linear(vb: &VarBuilder, name: &str, out_dim: usize, in_dim: usize) -> Result<AdaptableLinear> {
    let weight = vb.pp(name).get((out_dim, in_dim), "weight")?;
    Ok(AdaptableLinear::new(format!("{}.{name}", vb.prefix()), FrozenLinear::new(weight)))
}

impl Llama {
    /// Loads the weights under HF names (`model.embed_tokens.weight`, `model.layers.N...`, `lm_head.weight`).
    pub fn load(vb: VarBuilder, cfg: &LlamaConfig) -> Result<Self> {
        let (hidden, inter) = (cfg.hidden_size, cfg.intermediate_size);
        let (q_dim, kv_dim) = (cfg.num_attention_heads * cfg.head_dim, cfg.num_key_value_heads * cfg.head_dim);
        let vb_m = vb.pp("model");
        let embed_tokens = vb_m.pp("embed_tokens").get((cfg.vocab_size, hidden), "weight")?;
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let vb_l = vb_m.pp(format!("layers.{i}"));
            let vb_a = vb_l.pp("self_attn");
            let attn = Attention::new(
                cfg,
                linear(&vb_a, "q_proj", q_dim, hidden)?,
                linear(&vb_a, "k_proj", kv_dim, hidden)?,
                linear(&vb_a, "v_proj", kv_dim, hidden)?,
                linear(&vb_a, "o_proj", hidden, q_dim)?,
            );
            let vb_f = vb_l.pp("mlp");
            let mlp = Mlp::new(
                linear(&vb_f, "gate_proj", inter, hidden)?,
                linear(&vb_f, "up_proj", inter, hidden)?,
                linear(&vb_f, "down_proj", hidden, inter)?,
            );
            let norm1 = RmsNorm::new(vb_l.pp("input_layernorm").get(hidden, "weight")?, cfg.rms_norm_eps);
            let norm2 = RmsNorm::new(vb_l.pp("post_attention_layernorm").get(hidden, "weight")?, cfg.rms_norm_eps);
            layers.push(DecoderBlock::new(norm1, attn, norm2, mlp));
        }
        let norm = RmsNorm::new(vb_m.pp("norm").get(hidden, "weight")?, cfg.rms_norm_eps);
        let lm_head = if cfg.tie_word_embeddings && !vb.contains_tensor("lm_head.weight") {
            None
        } else {
            Some(vb.pp("lm_head").get((cfg.vocab_size, hidden), "weight")?)
        };
        let rope = Rope::new(cfg.head_dim, cfg.rope_theta, cfg.max_position_embeddings, vb.dtype(), vb.device())?;
        Ok(Self { cfg: cfg.clone(), embed_tokens, layers, norm, lm_head, rope, kernels: Kernels::default(), checkpoint: None, head_packs: None })
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &LlamaConfig {
        &self.cfg
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        self.embed_tokens.device()
    }

    /// The compute dtype of activations (the dtype the model was loaded in).
    pub fn dtype(&self) -> DType {
        self.rope.dtype()
    }

    /// The dtype the token embedding (and an untied output head) is stored in.
    pub fn embedding_dtype(&self) -> DType {
        self.embed_tokens.dtype()
    }

    /// Stores the token embedding and output head in `dtype`; lookups and the head's
    /// matmul widen them back to the compute dtype (the head a block of rows at a time).
    /// QLoRA keeps every weight it does not quantize in its 16-bit type: see
    /// [`Llama::quantize_for_qlora`].
    pub fn set_embedding_dtype(&mut self, dtype: DType) -> Result<()> {
        self.embed_tokens = self.embed_tokens.to_dtype(dtype)?;
        if let Some(head) = &self.lm_head {
            self.lm_head = Some(head.to_dtype(dtype)?);
        }
        self.set_compute_dtype(self.compute_dtype()); // packs of the new head
        Ok(())
    }

    /// The arithmetic of the frozen products (decoder linears and output head).
    pub fn compute_dtype(&self) -> ComputeDtype {
        if self.head_packs.is_some() { ComputeDtype::Bf16 } else { ComputeDtype::F32 }
    }

    /// Computes every frozen product (decoder linears, output head, fused loss) in
    /// `dtype`; adapters, norms, softmax and the residual stream stay f32. bf16 packs
    /// are made on first use and shared by clones.
    pub fn set_compute_dtype(&mut self, dtype: ComputeDtype) {
        for linear in self.linears_mut() {
            linear.base_mut().set_compute_dtype(dtype);
        }
        let blocks = HeadPacks::blocks_for(self.cfg.vocab_size);
        self.head_packs = (dtype == ComputeDtype::Bf16).then(|| Arc::new(HeadPacks::new(blocks)));
    }

    /// QLoRA's storage: decoder linears as `mode` says and, when that quantizes, the
    /// token embedding and output head in bf16 (the 16-bit type QLoRA keeps its
    /// unquantized weights in; norms are a few kB and stay as they are).
    pub fn quantize_for_qlora(&mut self, mode: QuantMode) -> Result<()> {
        self.quantize_linears(mode)?;
        if mode != QuantMode::None {
            self.set_embedding_dtype(DType::BF16)?;
        }
        Ok(())
    }

    /// Which kernels the forward uses (see [`Kernels`]).
    pub fn kernels(&self) -> Kernels {
        self.kernels
    }

    /// Chooses fused (inference) or differentiable (training) kernels.
    pub fn set_kernels(&mut self, kernels: Kernels) {
        self.kernels = kernels;
    }

    /// Turns activation checkpointing on or off for causal, uncached forwards (see
    /// [`crate::checkpoint`]). With it on, the trainer must add
    /// [`Llama::take_checkpoint_grads`] to the gradients of every backward pass.
    pub fn set_checkpointing(&mut self, on: bool) {
        self.checkpoint = on.then(|| Arc::new(GradSink::default()));
    }

    /// The parameter gradients the checkpointed blocks produced since the last call.
    pub fn take_checkpoint_grads(&self) -> std::collections::HashMap<candle_core::TensorId, Tensor> {
        self.checkpoint.as_ref().map(|s| s.take()).unwrap_or_default()
    }

    /// One block of a causal, uncached forward from position 0, checkpointed when enabled.
    fn block_forward(&self, layer: &DecoderBlock, h: &Tensor) -> Result<Tensor> {
        match &self.checkpoint {
            Some(sink) => checkpointed_block(layer, h, &self.rope, self.kernels, sink),
            None => layer.forward(h, &self.rope, 0, None, None, self.kernels),
        }
    }

    /// The decoder blocks.
    pub fn layers(&self) -> &[DecoderBlock] {
        &self.layers
    }

    /// Every linear layer, in HF order: per block q, k, v, o, gate, up, down.
    pub fn linears(&self) -> Vec<&AdaptableLinear> {
        self.layers
            .iter()
            .flat_map(|b| b.self_attn.linears().into_iter().chain(b.mlp.linears()))
            .collect()
    }

    /// Every linear layer, mutably, for attaching adapters or merging.
    pub fn linears_mut(&mut self) -> Vec<&mut AdaptableLinear> {
        self.layers
            .iter_mut()
            .flat_map(|b| {
                let DecoderBlock { self_attn, mlp, .. } = b;
                self_attn.linears_mut().into_iter().chain(mlp.linears_mut())
            })
            .collect()
    }

    /// The linear called `name` (HF path such as `model.layers.7.self_attn.q_proj`).
    pub fn linear_mut(&mut self, name: &str) -> Option<&mut AdaptableLinear> {
        self.linears_mut().into_iter().find(|l| l.name() == name)
    }

    /// Stores every decoder linear (q, k, v, o, gate, up, down of every block) as `mode`
    /// says. Embeddings, norms and the (tied) output head stay dense, as bitsandbytes
    /// and transformers leave them. Errors name the layer.
    pub fn quantize_linears(&mut self, mode: QuantMode) -> Result<()> {
        for linear in self.linears_mut() {
            let quantized = linear
                .base()
                .quantize(mode)
                .map_err(|e| msg(format!("{}: {}", linear.name(), loran_io::one_line(&e.to_string()))))?;
            *linear.base_mut() = quantized;
        }
        Ok(())
    }

    /// Bytes held by the weights (and biases) of every decoder linear, as stored now.
    pub fn linear_storage_bytes(&self) -> usize {
        self.linears().iter().map(|l| l.base().storage_bytes()).sum()
    }

    /// Number of weight values in the decoder linears.
    pub fn linear_param_count(&self) -> usize {
        self.linears().iter().map(|l| l.base().in_features() * l.base().out_features()).sum()
    }

    /// `(bytes held, weight values)` over the decoder linears: bits per parameter is
    /// `8 · bytes / values`.
    pub fn linear_storage(&self) -> (usize, usize) {
        (self.linear_storage_bytes(), self.linear_param_count())
    }

    /// An empty KV cache for incremental decoding of up to `max_len` positions (it grows if needed).
    pub fn new_cache(&self, max_len: usize) -> Cache {
        Cache { layers: (0..self.layers.len()).map(|_| KvCache::new(2, max_len.max(1))).collect() }
    }

    /// Token embeddings of `ids` (`[batch, seq]` u32) as `[batch, seq, hidden]`.
    pub fn embed(&self, ids: &Tensor) -> Result<Tensor> {
        let (b, t) = ids.dims2()?;
        self.embed_tokens.index_select(&ids.flatten_all()?, 0)?.to_dtype(self.dtype())?.reshape((b, t, self.cfg.hidden_size))
    }

    /// Final normalised hidden states `[batch, seq, hidden]` for `ids` at positions `start..`.
    ///
    /// `mask` is an optional additive attention mask broadcastable to `[batch, 1, seq, kv_len]`;
    /// without it a causal mask is used.
    pub fn forward_hidden(
        &self,
        ids: &Tensor,
        start: usize,
        mut cache: Option<&mut Cache>,
        mask: Option<&Tensor>,
    ) -> Result<Tensor> {
        if let Some(cache) = cache.as_deref() {
            if cache.seq_len() != start {
                candle_core::bail!("cache holds {} positions but start is {start}", cache.seq_len());
            }
        }
        let mut h = self.embed(ids)?;
        for (i, layer) in self.layers.iter().enumerate() {
            if start == 0 && cache.is_none() && mask.is_none() {
                h = self.block_forward(layer, &h)?;
                continue;
            }
            let layer_cache = cache.as_deref_mut().map(|c| &mut c.layers[i]);
            h = layer.forward(&h, &self.rope, start, layer_cache, mask, self.kernels)?;
        }
        self.norm.forward(&h, self.kernels)
    }

    /// Runs prompts `ids` (masked by `mask`, as in a first decoding step) through
    /// blocks `0..cut` with a KV cache, keeping those blocks' keys and values and the
    /// states entering block `cut`. [`Llama::forward_from_prefix`] finishes the pass.
    pub fn prefill_prefix(&self, ids: &Tensor, cut: usize, mask: Option<&Tensor>) -> Result<BlockPrefix> {
        let (_, t) = ids.dims2()?;
        let cut = cut.min(self.layers.len());
        let mut cache = self.new_cache(t);
        let mut h = self.embed(ids)?;
        for (layer, layer_cache) in self.layers[..cut].iter().zip(cache.layers.iter_mut()) {
            h = layer.forward(&h, &self.rope, 0, Some(layer_cache), mask, self.kernels)?;
        }
        let mut kv = Vec::with_capacity(cut);
        for layer_cache in &cache.layers[..cut] {
            match (layer_cache.k()?, layer_cache.v()?) {
                (Some(k), Some(v)) => kv.push((k, v)),
                _ => candle_core::bail!("prefill_prefix: a block cached no keys"),
            }
        }
        Ok(BlockPrefix { cut, positions: t, kv, hidden: h })
    }

    /// Final normalised states of the prompts of `prefix`, as [`Llama::forward_hidden`]
    /// from position 0 with `cache` and `mask` would give them: blocks `cut..` run on the
    /// prefix's states, and `cache` (empty) receives every block's keys and values.
    pub fn forward_from_prefix(&self, prefix: &BlockPrefix, cache: &mut Cache, mask: Option<&Tensor>) -> Result<Tensor> {
        if cache.seq_len() != 0 || cache.layers.len() != self.layers.len() {
            candle_core::bail!("forward_from_prefix: the cache must be empty and sized for this model");
        }
        for ((k, v), layer_cache) in prefix.kv.iter().zip(cache.layers.iter_mut()) {
            layer_cache.append(k, v)?;
        }
        let mut h = prefix.hidden.clone();
        for (layer, layer_cache) in self.layers.iter().zip(cache.layers.iter_mut()).skip(prefix.cut) {
            h = layer.forward(&h, &self.rope, 0, Some(layer_cache), mask, self.kernels)?;
        }
        self.norm.forward(&h, self.kernels)
    }

    /// Residual-stream states `[batch, seq, hidden]` entering block `upto` (causal, no cache):
    /// the embeddings followed by blocks `0..upto`.
    pub fn forward_prefix(&self, ids: &Tensor, upto: usize) -> Result<Tensor> {
        let mut h = self.embed(ids)?;
        for layer in &self.layers[..upto.min(self.layers.len())] {
            h = layer.forward(&h, &self.rope, 0, None, None, self.kernels)?;
        }
        Ok(h)
    }

    /// Final normalised states from residual-stream states `h` entering block `from`
    /// (causal, positions from 0): blocks `from..` then the final norm.
    pub fn forward_from(&self, h: &Tensor, from: usize) -> Result<Tensor> {
        let mut h = h.clone();
        for layer in &self.layers[from.min(self.layers.len())..] {
            h = self.block_forward(layer, &h)?;
        }
        self.norm.forward(&h, self.kernels)
    }

    /// Logits `[..., vocab]` from final hidden states.
    pub fn logits(&self, hidden: &Tensor) -> Result<Tensor> {
        // The output head is frozen: inside a graph only `hidden` gets a gradient.
        let head = self.lm_head.as_ref().unwrap_or(&self.embed_tokens);
        match &self.head_packs {
            Some(packs) if !hidden.track_op() && hidden.dtype() == DType::F32 => packs.logits(hidden, head),
            _ => crate::frozen_matmul::frozen_matmul_t(hidden, &FrozenLinear::new(head.clone())),
        }
    }

    /// Per-row cross-entropy `[n]` of final hidden rows `[n, hidden]` against `targets`,
    /// through the output head without building the logits (see [`crate::head_loss`]).
    pub fn head_loss(&self, hidden: &Tensor, targets: &[u32]) -> Result<Tensor> {
        let head = self.lm_head.as_ref().unwrap_or(&self.embed_tokens);
        crate::head_loss::head_cross_entropy(hidden, head, targets, self.head_packs.as_ref())
    }

    /// Logits `[batch, seq, vocab]` for `ids` at positions `start..`, causal, optionally cached.
    pub fn forward(&self, ids: &Tensor, start: usize, cache: Option<&mut Cache>) -> Result<Tensor> {
        self.logits(&self.forward_hidden(ids, start, cache, None)?)
    }
}
