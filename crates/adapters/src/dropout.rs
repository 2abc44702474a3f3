//! Inverted dropout driven by a seeded generator, on only while training.

use candle_core::{Result, Shape, Tensor};
use rand::rngs::StdRng;
use rand::Rng;
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Mask elements filled by one SplitMix64 stream.
const MASK_BLOCK: usize = 1 << 14;

/// A switch shared by every adapter of a set: training (dropout on) or evaluation.
#[derive(Debug, Clone, Default)]
pub struct TrainingFlag(Arc<AtomicBool>);

impl TrainingFlag {
    /// Whether adapters are in training mode.
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Switches training mode on or off.
    pub fn set(&self, training: bool) {
        self.0.store(training, Ordering::Relaxed)
    }
}

/// Zeroes each element with probability `p` and scales the rest by `1/(1-p)`.
#[derive(Debug)]
pub struct SeededDropout {
    p: f32,
    rng: Mutex<StdRng>,
    training: TrainingFlag,
    /// The generator as it was before the last draw, and that draw's shape: a
    /// checkpointed block's recomputation draws the same mask again from it (a few
    /// hundred bytes, where keeping the mask would hold a tensor per adapter).
    last_draw: Mutex<Option<(StdRng, Shape)>>,
}

impl SeededDropout {
    /// Dropout with probability `p`, its own generator, and the set's training flag.
    pub fn new(p: f64, rng: StdRng, training: TrainingFlag) -> Self {
        Self { p: p as f32, rng: Mutex::new(rng), training, last_draw: Mutex::new(None) }
    }

    /// The drop probability.
    pub fn p(&self) -> f32 {
        self.p
    }

    /// Whether [`SeededDropout::apply`] masks its input now (training and `p > 0`).
    pub fn is_active(&self) -> bool {
        self.p != 0.0 && self.training.get()
    }

    /// `x` itself in evaluation or when `p = 0`; a masked copy otherwise.
    pub fn apply(&self, x: &Tensor) -> Result<Tensor> {
        match self.mask(x)? {
            Some(mask) => x * mask,
            None => Ok(x.clone()),
        }
    }

    /// The mask [`SeededDropout::apply`] multiplies `x` by (`None` when inactive): a
    /// fresh draw, or, while a checkpointed block is recomputed, the forward's draw again.
    pub fn mask(&self, x: &Tensor) -> Result<Option<Tensor>> {
        if !self.is_active() {
            return Ok(None);
        }
        if loran_model::checkpoint::is_replaying() {
            // Recomputing a checkpointed block: the forward pass's mask, not a new draw.
            let last = self.last_draw.lock().expect("dropout state poisoned").clone();
            if let Some((mut rng, shape)) = last {
                if &shape == x.shape() {
                    return Ok(Some(self.draw(&mut rng, x)?));
                }
            }
        }
        let mut rng = self.rng.lock().expect("dropout rng poisoned");
        *self.last_draw.lock().expect("dropout state poisoned") = Some((rng.clone(), x.shape().clone()));
        Ok(Some(self.draw(&mut rng, x)?))
    }

    /// A mask shaped like `x`: `1/(1-p)` with probability `1-p`, else 0.
    ///
    /// One 64-bit seed comes from the adapter's generator; blocks of the mask are then
    /// filled in parallel, each from its own SplitMix64 stream keyed by the seed and the
    /// block's index, so the mask depends on the seed alone, never on the thread count.
    fn draw(&self, rng: &mut StdRng, x: &Tensor) -> Result<Tensor> {
        let keep = 1.0 - self.p;
        let scale = 1.0 / keep;
        // Keep an element when its 32 random bits fall below keep·2³².
        let threshold = (keep as f64 * 4_294_967_296.0) as u64;
        let seed: u64 = rng.random();
        let mut mask = vec![0f32; x.elem_count()];
        mask.par_chunks_mut(MASK_BLOCK).enumerate().for_each(|(block, out)| {
            let mut state = seed ^ (block as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
            for pair in out.chunks_mut(2) {
                let bits = loran_model::splitmix::next(&mut state);
                for (v, half) in pair.iter_mut().zip([bits & 0xFFFF_FFFF, bits >> 32]) {
                    *v = if half < threshold { scale } else { 0.0 };
                }
            }
        });
        Tensor::from_vec(mask, x.shape(), x.device())?.to_dtype(x.dtype())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seeding::stream;
    use candle_core::Device;

    #[test]
    fn identity_in_eval_and_unbiased_in_training() {
        let flag = TrainingFlag::default();
        let d = SeededDropout::new(0.25, stream(0, "l", "dropout"), flag.clone());
        let x = Tensor::ones((200, 100), candle_core::DType::F32, &Device::Cpu).unwrap();
        assert_eq!(d.apply(&x).unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap(), 20_000.0);
        flag.set(true);
        let y: Vec<f32> = d.apply(&x).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        let dropped = y.iter().filter(|&&v| v == 0.0).count() as f64 / y.len() as f64;
        assert!((dropped - 0.25).abs() < 0.02, "dropped {dropped}");
        assert!(y.iter().all(|&v| v == 0.0 || (v - 4.0 / 3.0).abs() < 1e-6));
    }

    #[test]
    fn same_seed_same_masks() {
        let masks = |seed| {
            let flag = TrainingFlag::default();
            flag.set(true);
            let d = SeededDropout::new(0.5, stream(seed, "l", "dropout"), flag);
            let x = Tensor::ones(64, candle_core::DType::F32, &Device::Cpu).unwrap();
            (d.apply(&x).unwrap().to_vec1::<f32>().unwrap(), d.apply(&x).unwrap().to_vec1::<f32>().unwrap())
        };
        assert_eq!(masks(7), masks(7));
        assert_ne!(masks(7), masks(8));
    }

    #[test]
    fn masks_do_not_depend_on_the_thread_count_and_every_block_drops_at_rate_p() {
        let draw_with = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let flag = TrainingFlag::default();
                flag.set(true);
                let d = SeededDropout::new(0.1, stream(3, "l", "dropout"), flag);
                let x = Tensor::ones(5 * MASK_BLOCK + 7, candle_core::DType::F32, &Device::Cpu).unwrap();
                d.apply(&x).unwrap().to_vec1::<f32>().unwrap()
            })
        };
        let one = draw_with(1);
        assert_eq!(one, draw_with(3));
        for block in one.chunks(MASK_BLOCK) {
            let dropped = block.iter().filter(|&&v| v == 0.0).count() as f64 / block.len() as f64;
            assert!((dropped - 0.1).abs() < 0.02 || block.len() < 100, "a block dropped {dropped}");
        }
        // Distinct blocks draw distinct streams.
        assert_ne!(one[..MASK_BLOCK], one[MASK_BLOCK..2 * MASK_BLOCK]);
    }
}
