//! One decoder block against a naive f64 re-implementation written from the LLaMA equations.

use candle_core::{DType, Device, Tensor};
use loran_model::fixtures::{random_weights, tiny_config, uniform, write_hf_folder};
use loran_model::rope::Rope;
use loran_model::{load, Kernels, LlamaConfig, LoadOptions, ModelSource};
use std::collections::HashMap;

type Mat = Vec<Vec<f64>>;

fn to_mat(t: &Tensor) -> Mat {
    t.to_dtype(DType::F64).unwrap().to_vec2::<f64>().unwrap()
}

/// y[t][o] = Σ_i x[t][i] · w[o][i]
fn linear(x: &Mat, w: &Mat) -> Mat {
    x.iter().map(|row| w.iter().map(|wr| row.iter().zip(wr).map(|(a, b)| a * b).sum()).collect()).collect()
}

fn rms_norm(x: &Mat, w: &[f64], eps: f64) -> Mat {
    x.iter()
        .map(|row| {
            let ms = row.iter().map(|v| v * v).sum::<f64>() / row.len() as f64;
            let inv = 1.0 / (ms + eps).sqrt();
            row.iter().zip(w).map(|(v, g)| v * inv * g).collect()
        })
        .collect()
}

/// HF rotate_half RoPE on one head vector at position p.
fn rope(v: &[f64], p: usize, theta: f64) -> Vec<f64> {
    let d = v.len();
    let half = d / 2;
    let mut out = vec![0.0; d];
    for i in 0..half {
        let angle = p as f64 * theta.powf(-2.0 * i as f64 / d as f64);
        let (s, c) = angle.sin_cos();
        out[i] = v[i] * c - v[i + half] * s;
        out[i + half] = v[i + half] * c + v[i] * s;
    }
    out
}

fn silu(x: f64) -> f64 {
    x / (1.0 + (-x).exp())
}

fn naive_block(x: &Mat, w: &HashMap<String, Tensor>, cfg: &LlamaConfig, layer: usize) -> Mat {
    let get = |n: &str| to_mat(&w[&format!("model.layers.{layer}.{n}.weight")]);
    let vec = |n: &str| w[&format!("model.layers.{layer}.{n}.weight")].to_dtype(DType::F64).unwrap().to_vec1::<f64>().unwrap();
    let (h, kvh, d) = (cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim);
    let t_len = x.len();
    let n1 = rms_norm(x, &vec("input_layernorm"), cfg.rms_norm_eps);
    let q = linear(&n1, &get("self_attn.q_proj"));
    let k = linear(&n1, &get("self_attn.k_proj"));
    let v = linear(&n1, &get("self_attn.v_proj"));
    let mut attn = vec![vec![0.0; h * d]; t_len];
    for head in 0..h {
        let kv_head = head / (h / kvh);
        let qh: Vec<Vec<f64>> = (0..t_len).map(|t| rope(&q[t][head * d..(head + 1) * d], t, cfg.rope_theta)).collect();
        let kh: Vec<Vec<f64>> = (0..t_len).map(|t| rope(&k[t][kv_head * d..(kv_head + 1) * d], t, cfg.rope_theta)).collect();
        for t in 0..t_len {
            let scores: Vec<f64> =
                (0..=t).map(|s| qh[t].iter().zip(&kh[s]).map(|(a, b)| a * b).sum::<f64>() / (d as f64).sqrt()).collect();
            let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let exps: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
            let z: f64 = exps.iter().sum();
            for (s, e) in exps.iter().enumerate() {
                for j in 0..d {
                    attn[t][head * d + j] += e / z * v[s][kv_head * d + j];
                }
            }
        }
    }
    let o = linear(&attn, &get("self_attn.o_proj"));
    let h1: Mat = x.iter().zip(&o).map(|(a, b)| a.iter().zip(b).map(|(p, q)| p + q).collect()).collect();
    let n2 = rms_norm(&h1, &vec("post_attention_layernorm"), cfg.rms_norm_eps);
    let gate = linear(&n2, &get("mlp.gate_proj"));
    let up = linear(&n2, &get("mlp.up_proj"));
    let act: Mat = gate.iter().zip(&up).map(|(g, u)| g.iter().zip(u).map(|(a, b)| silu(*a) * b).collect()).collect();
    let down = linear(&act, &get("mlp.down_proj"));
    h1.iter().zip(&down).map(|(a, b)| a.iter().zip(b).map(|(p, q)| p + q).collect()).collect()
}

#[test]
fn decoder_block_matches_naive_reference() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = tiny_config();
    let weights = random_weights(&cfg, 11);
    write_hf_folder(dir.path(), &cfg, &weights).unwrap();
    let model = load(&ModelSource::HfFolder(dir.path().to_path_buf()), &LoadOptions::default()).unwrap().model;
    let rope_tables = Rope::new(cfg.head_dim, cfg.rope_theta, cfg.max_position_embeddings, DType::F32, &Device::Cpu).unwrap();
    let t_len = 7;
    let x = uniform(&[1, t_len, cfg.hidden_size], 1.0, 99);
    let expected = naive_block(&to_mat(&x.squeeze(0).unwrap()), &weights, &cfg, 1);
    for kernels in [Kernels::Differentiable, Kernels::Fused] {
        let y = model.layers()[1].forward(&x, &rope_tables, 0, None, None, kernels).unwrap();
        let got = to_mat(&y.squeeze(0).unwrap());
        let mut worst: f64 = 0.0;
        for (r, e) in got.iter().zip(&expected) {
            for (a, b) in r.iter().zip(e) {
                worst = worst.max((a - b).abs());
            }
        }
        assert!(worst < 1e-5, "{kernels:?}: max |Δ| = {worst}");
    }
}
