//! Attention of one new position per row against a KV cache, computed in place.
//!
//! In a decoding step each (row, KV head) multiplies a few query heads by the whole
//! cache. Through batched matmuls that is hundreds of tiny products a layer, and the
//! matmul path copies the transposed key cache and repacks both caches for every one
//! of them, so moving the cache dominates the step while the arithmetic is a few
//! MFLOP. Here every score is a dot product over a cached key row and every output an
//! accumulation over cached value rows, read where the cache keeps them: no copy, no
//! packing. Same math as the matmul path, in another summation order (last-bit
//! rounding differences).

use candle_core::{bail, CpuStorage, Result, Storage, Tensor};
use rayon::prelude::*;
use std::sync::OnceLock;

/// Whether decoding attends through this module (the default) or through the batched
/// matmuls every other attention call uses: `LORAN_DECODE_ATTENTION=matmul` (read once
/// per process) picks the latter, to compare the two on one machine.
pub fn in_place() -> bool {
    static IN_PLACE: OnceLock<bool> = OnceLock::new();
    *IN_PLACE.get_or_init(|| std::env::var("LORAN_DECODE_ATTENTION").map_or(true, |v| v != "matmul"))
}

/// `softmax(q·kᵀ·scale + mask)·v` for `q [b, h, 1, d]` and a cache `k, v [b, kvh, kv_len, d]`
/// (any strides whose last is 1, e.g. a narrowed KV cache), `h` a multiple of `kvh`;
/// `mask` is additive and broadcastable to `[b, 1, 1, kv_len]`. Returns `[b, h, 1, d]`.
pub fn attend_one_position(q: &Tensor, k: &Tensor, v: &Tensor, mask: Option<&Tensor>, scale: f64) -> Result<Tensor> {
    let (b, h, t, d) = q.dims4()?;
    let (kb, kvh, kv_len, kd) = k.dims4()?;
    if t != 1 || kb != b || kd != d || v.dims4()? != (b, kvh, kv_len, d) || kvh == 0 || h % kvh != 0 {
        bail!("attend_one_position: q {:?}, k {:?}, v {:?} do not fit", q.dims(), k.dims(), v.dims());
    }
    let groups = h / kvh;
    let queries = q.flatten_all()?.to_vec1::<f32>()?;
    let mask = match mask {
        Some(m) => Some(m.broadcast_as((b, 1, 1, kv_len))?.flatten_all()?.to_vec1::<f32>()?),
        None => None,
    };
    let (k_storage, k_layout) = k.storage_and_layout();
    let (v_storage, v_layout) = v.storage_and_layout();
    let (keys, values) = match (&*k_storage, &*v_storage) {
        (Storage::Cpu(CpuStorage::F32(k)), Storage::Cpu(CpuStorage::F32(v))) => (k.as_slice(), v.as_slice()),
        _ => bail!("attend_one_position: the cache must be f32 on the CPU"),
    };
    let (ks, vs) = (k_layout.stride(), v_layout.stride());
    if ks[3] != 1 || vs[3] != 1 {
        bail!("attend_one_position: cache rows must be contiguous");
    }
    let (k0, v0) = (k_layout.start_offset(), v_layout.start_offset());
    let scale = scale as f32;
    let mut out = vec![0f32; b * h * d];
    out.par_chunks_mut(d).enumerate().for_each_init(
        || vec![0f32; kv_len],
        |scores, (bh, dst)| {
            let (row, head) = (bh / h, bh % h);
            let kv_head = head / groups;
            let query = &queries[bh * d..(bh + 1) * d];
            let key_at = |j: usize| {
                let s = k0 + row * ks[0] + kv_head * ks[1] + j * ks[2];
                &keys[s..s + d]
            };
            let mut max = f32::NEG_INFINITY;
            for (j, score) in scores.iter_mut().enumerate() {
                let mut s = dot(query, key_at(j)) * scale;
                if let Some(m) = &mask {
                    s += m[row * kv_len + j];
                }
                *score = s;
                max = max.max(s);
            }
            let mut sum = 0f32;
            for s in scores.iter_mut() {
                *s = if max == f32::NEG_INFINITY { 0.0 } else { (*s - max).exp() };
                sum += *s;
            }
            let inv = if sum > 0.0 { 1.0 / sum } else { 0.0 };
            for (j, &p) in scores.iter().enumerate() {
                let s = v0 + row * vs[0] + kv_head * vs[1] + j * vs[2];
                let weight = p * inv;
                for (o, &x) in dst.iter_mut().zip(&values[s..s + d]) {
                    *o += weight * x;
                }
            }
        },
    );
    Tensor::from_vec(out, (b, h, 1, d), q.device())
}

/// Dot product in 8 independent lanes (vectorizes on any x86-64).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::uniform;
    use candle_core::{Device, D};

    /// The batched-matmul reference: the same formula through candle ops.
    fn reference(q: &Tensor, k: &Tensor, v: &Tensor, mask: Option<&Tensor>, scale: f64) -> Tensor {
        let (b, h, _, d) = q.dims4().unwrap();
        let (_, kvh, kv_len, _) = k.dims4().unwrap();
        let g = h / kvh;
        let q = q.reshape((b, kvh, g, d)).unwrap();
        let raw = (q.matmul(&k.t().unwrap().contiguous().unwrap()).unwrap() * scale).unwrap();
        let raw = match mask {
            Some(m) => raw.broadcast_add(&m.reshape((b, 1, 1, kv_len)).unwrap()).unwrap(),
            None => raw,
        };
        let p = candle_nn::ops::softmax(&raw, D::Minus1).unwrap();
        p.matmul(&v.contiguous().unwrap()).unwrap().reshape((b, h, 1, d)).unwrap()
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
    }

    #[test]
    fn matches_batched_matmuls_on_a_narrowed_cache_with_padding_masked() {
        let (b, h, kvh, d, cap, len) = (3, 6, 2, 20, 16, 11);
        // A cache with room for 16 positions, of which 11 are filled: the narrowed view
        // the KV cache hands out, rows contiguous but blocks strided.
        let k = uniform(&[b, kvh, cap, d], 1.0, 1).narrow(2, 0, len).unwrap();
        let v = uniform(&[b, kvh, cap, d], 1.0, 2).narrow(2, 0, len).unwrap();
        let q = uniform(&[b, h, 1, d], 1.0, 3);
        // Row 1 is left-padded by 3 positions.
        let mask: Vec<f32> = (0..b * len).map(|i| if i / len == 1 && i % len < 3 { f32::NEG_INFINITY } else { 0.0 }).collect();
        let mask = Tensor::from_vec(mask, (b, 1, 1, len), &Device::Cpu).unwrap();
        let scale = 1.0 / (d as f64).sqrt();
        for m in [None, Some(&mask)] {
            let ours = attend_one_position(&q, &k, &v, m, scale).unwrap();
            let want = reference(&q, &k, &v, m, scale);
            assert!(max_diff(&ours, &want) < 1e-6, "{}", max_diff(&ours, &want));
        }
        // The padded positions get no weight: changing their values changes nothing.
        let v2 = v.slice_assign(&[1..2, 0..kvh, 0..3, 0..d], &uniform(&[1, kvh, 3, d], 9.0, 4)).unwrap();
        let (a, c) = (attend_one_position(&q, &k, &v, Some(&mask), scale).unwrap(), attend_one_position(&q, &k, &v2, Some(&mask), scale).unwrap());
        assert_eq!(max_diff(&a, &c), 0.0);
        assert!(attend_one_position(&uniform(&[b, 5, 1, d], 1.0, 5), &k, &v, None, scale).is_err(), "5 heads over 2 KV heads");
    }
}
