//! Times the fused head loss against logits + candle's cross-entropy at SmolLM2's head
//! size (1,016 rows, 576 wide, 49,152 ids), forward and backward; prints, never asserts.
use candle_core::{DType, Tensor, Var};
use loran_model::fixtures::uniform;
use loran_model::head_loss::head_cross_entropy;
use std::time::Instant;

fn main() -> candle_core::Result<()> {
    let (n, d, vocab) = (1016, 576, 49_152);
    let head = uniform(&[vocab, d], 0.1, 1);
    let h = Var::from_tensor(&uniform(&[n, d], 1.0, 2))?;
    let targets: Vec<u32> = (0..n as u32).map(|i| (i * 7919) % vocab as u32).collect();
    let ids = Tensor::from_slice(&targets, n, &candle_core::Device::Cpu)?;
    for rep in 0..3 {
        let t = Instant::now();
        let loss = head_cross_entropy(h.as_tensor(), &head, &targets, None)?.mean_all()?;
        let fwd = t.elapsed().as_secs_f64();
        let g = loss.backward()?;
        let total = t.elapsed().as_secs_f64();
        drop(g);
        let t = Instant::now();
        let logits = h.as_tensor().matmul(&head.t()?)?;
        let plain = candle_nn::loss::cross_entropy(&logits, &ids)?;
        let pf = t.elapsed().as_secs_f64();
        let _ = plain.backward()?;
        let pt = t.elapsed().as_secs_f64();
        println!("rep {rep}: fused fwd {:.0} ms, fwd+bwd {:.0} ms; plain fwd {:.0} ms, fwd+bwd {:.0} ms (loss {} vs {})", fwd * 1e3, total * 1e3, pf * 1e3, pt * 1e3, loss.to_scalar::<f32>()?, plain.to_dtype(DType::F32)?.to_scalar::<f32>()?);
    }
    Ok(())
}
