//! Right-padded batches and a seeded, shuffling batch iterator over epochs.

use crate::tokenize::TokenizedExample;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// A padded batch, row-major `[batch_size, seq_len]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Token ids; each row is right-padded with the pad id.
    pub input_ids: Vec<u32>,
    /// 1.0 where a token is scored (target tokens and eos), 0.0 elsewhere,
    /// including every padding position.
    pub loss_mask: Vec<f32>,
    /// Number of rows.
    pub batch_size: usize,
    /// Columns: the longest example of the batch.
    pub seq_len: usize,
    /// Index of each row's example in the list the batch was drawn from.
    pub example_indices: Vec<usize>,
    /// Real tokens of each row (the rest of the row is padding). The pad id is the
    /// eos, which also ends every example, so the ids alone cannot tell padding apart.
    pub lengths: Vec<usize>,
}

impl Batch {
    /// Row `i` of the ids.
    pub fn row(&self, i: usize) -> &[u32] {
        &self.input_ids[i * self.seq_len..(i + 1) * self.seq_len]
    }

    /// Row-major `[batch_size·seq_len]`: true at a real token, false at padding.
    pub fn valid_tokens(&self) -> Vec<bool> {
        self.lengths.iter().flat_map(|&len| (0..self.seq_len).map(move |p| p < len)).collect()
    }
}

/// Pads `examples` on the right to the longest one.
pub fn collate(examples: &[&TokenizedExample], pad_id: u32) -> Batch {
    let seq_len = examples
        .iter()
        .map(|e| e.input_ids.len())
        .max()
        .unwrap_or(0);
    let mut input_ids = Vec::with_capacity(examples.len() * seq_len);
    let mut loss_mask = Vec::with_capacity(examples.len() * seq_len);
    for ex in examples {
        input_ids.extend_from_slice(&ex.input_ids);
        input_ids.resize(input_ids.len() + seq_len - ex.input_ids.len(), pad_id);
        loss_mask.extend(ex.loss_mask.iter().map(|&m| f32::from(m)));
        loss_mask.resize(loss_mask.len() + seq_len - ex.loss_mask.len(), 0.0);
    }
    Batch {
        input_ids,
        loss_mask,
        batch_size: examples.len(),
        seq_len,
        example_indices: (0..examples.len()).collect(),
        lengths: examples.iter().map(|e| e.input_ids.len()).collect(),
    }
}

/// Batches in the examples' own order (for evaluation); the last may be smaller.
pub fn batches_in_order(
    examples: &[TokenizedExample],
    batch_size: usize,
    pad_id: u32,
) -> Vec<Batch> {
    let batch_size = batch_size.max(1);
    examples
        .chunks(batch_size)
        .enumerate()
        .map(|(k, chunk)| {
            let mut batch = collate(&chunk.iter().collect::<Vec<_>>(), pad_id);
            batch.example_indices = (k * batch_size..k * batch_size + chunk.len()).collect();
            batch
        })
        .collect()
}

/// An endless stream of training batches. Each epoch visits every example
/// once in a fresh random order drawn from one `StdRng` seeded with `seed`;
/// batches never straddle two epochs, so an epoch's last batch is smaller
/// when the batch size does not divide the number of examples. The same seed
/// gives the same batches (for a given version of `rand`).
///
/// A split smaller than the batch size is not an error: every batch is then
/// the whole split in a fresh order (one epoch per batch), with fewer rows
/// than the batch size and no example repeated within a batch; a single
/// example is a batch of one at every step. (An empty train split never
/// loads; see [`crate::LoadedTask::split_warnings`] for the one-example case.)
#[derive(Debug, Clone)]
pub struct BatchIter {
    examples: Vec<TokenizedExample>,
    batch_size: usize,
    pad_id: u32,
    rng: StdRng,
    order: Vec<usize>,
    pos: usize,
    epoch: usize,
}

impl BatchIter {
    /// A stream over `examples` (a zero batch size counts as 1).
    pub fn new(examples: Vec<TokenizedExample>, batch_size: usize, pad_id: u32, seed: u64) -> Self {
        let n = examples.len();
        Self {
            examples,
            batch_size: batch_size.max(1),
            pad_id,
            rng: StdRng::seed_from_u64(seed),
            order: (0..n).collect(),
            pos: n, // forces a shuffle before the first batch
            epoch: 0,
        }
    }

    /// Epochs started so far (1 during the first epoch, 0 before any batch).
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// Batches per epoch.
    pub fn batches_per_epoch(&self) -> usize {
        self.examples.len().div_ceil(self.batch_size)
    }
}

impl Iterator for BatchIter {
    type Item = Batch;

    /// The next batch; `None` only when there are no examples.
    fn next(&mut self) -> Option<Batch> {
        if self.examples.is_empty() {
            return None;
        }
        if self.pos >= self.order.len() {
            self.order.shuffle(&mut self.rng);
            self.pos = 0;
            self.epoch += 1;
        }
        let end = (self.pos + self.batch_size).min(self.order.len());
        let indices = self.order[self.pos..end].to_vec();
        let rows: Vec<&TokenizedExample> = indices.iter().map(|&i| &self.examples[i]).collect();
        self.pos = end;
        let mut batch = collate(&rows, self.pad_id);
        batch.example_indices = indices;
        Some(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn ex(ids: &[u32], prompt_len: usize) -> TokenizedExample {
        let mut loss_mask = vec![0u8; prompt_len];
        loss_mask.resize(ids.len(), 1);
        TokenizedExample {
            input_ids: ids.to_vec(),
            loss_mask,
            prompt_len,
        }
    }

    #[test]
    fn collate_pads_right_and_masks_padding() {
        let a = ex(&[5, 6, 7, 8], 2);
        let b = ex(&[9, 10], 1);
        let batch = collate(&[&a, &b], 0);
        assert_eq!(batch.batch_size, 2);
        assert_eq!(batch.seq_len, 4);
        assert_eq!(batch.input_ids, vec![5, 6, 7, 8, 9, 10, 0, 0]);
        assert_eq!(
            batch.loss_mask,
            vec![0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0]
        );
        assert_eq!(batch.row(1), &[9, 10, 0, 0]);
        assert_eq!(batch.lengths, vec![4, 2]);
        assert_eq!(batch.valid_tokens(), vec![true, true, true, true, true, true, false, false]);
    }

    /// Padding with the eos, which also ends each example: the lengths, not the ids,
    /// say where the padding starts.
    #[test]
    fn padding_with_the_eos_is_told_apart_by_length() {
        let (a, b) = (ex(&[5, 6, 2], 1), ex(&[9, 2], 1));
        let batch = collate(&[&a, &b], 2);
        assert_eq!(batch.input_ids, vec![5, 6, 2, 9, 2, 2]);
        assert_eq!(batch.valid_tokens(), vec![true, true, true, true, true, false]);
    }

    fn dataset(n: u32) -> Vec<TokenizedExample> {
        (0..n).map(|i| ex(&[100 + i, 1], 1)).collect()
    }

    fn first_ids(batch: &Batch) -> Vec<u32> {
        (0..batch.batch_size).map(|r| batch.row(r)[0]).collect()
    }

    #[test]
    fn each_epoch_covers_every_example_once() {
        let mut it = BatchIter::new(dataset(10), 4, 0, 7);
        assert_eq!(it.batches_per_epoch(), 3);
        for epoch in 1..=3 {
            let mut seen = Vec::new();
            for _ in 0..3 {
                let b = it.next().unwrap();
                assert_eq!(it.epoch(), epoch);
                seen.extend(first_ids(&b));
            }
            assert_eq!(seen.len(), 10);
            assert_eq!(
                seen.iter().copied().collect::<BTreeSet<_>>(),
                (100..110).collect()
            );
        }
    }

    #[test]
    fn deterministic_for_a_seed_and_reshuffled_across_epochs() {
        let run = |seed| {
            BatchIter::new(dataset(32), 8, 0, seed)
                .take(8)
                .map(|b| first_ids(&b))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
        let batches = run(1);
        let epoch1: Vec<u32> = batches[..4].concat();
        let epoch2: Vec<u32> = batches[4..].concat();
        assert_ne!(
            epoch1, epoch2,
            "the second epoch reused the first epoch's order"
        );
        assert_ne!(
            epoch1,
            (100..132).collect::<Vec<_>>(),
            "the first epoch was not shuffled"
        );
    }

    #[test]
    fn empty_dataset_yields_nothing() {
        assert!(BatchIter::new(Vec::new(), 4, 0, 0).next().is_none());
    }

    #[test]
    fn in_order_batches_keep_order() {
        let batches = batches_in_order(&dataset(5), 2, 0);
        assert_eq!(batches.len(), 3);
        assert_eq!(
            batches.iter().flat_map(first_ids).collect::<Vec<_>>(),
            vec![100, 101, 102, 103, 104]
        );
        assert_eq!(batches[2].batch_size, 1);
    }
}
