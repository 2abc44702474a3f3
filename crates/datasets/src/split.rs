//! Deterministic, seeded, hash-based train/validation/test splits.
//!
//! Each example's id is hashed together with the seed (sha256, which is stable
//! across platforms and Rust versions, unlike `DefaultHasher`). The first 8
//! bytes of the digest, read big-endian and divided by 2^64, give a number
//! `u` in [0, 1): `u < test` goes to test, `u < test + validation` to
//! validation, the rest to train. An example's split therefore depends only on
//! its id, the seed and the fractions, never on the other examples or on the
//! order in which they were read.

use crate::task::{Example, Splits};
use sha2::{Digest, Sha256};

/// Which split an example belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// Training.
    Train,
    /// Validation.
    Validation,
    /// Test.
    Test,
}

/// The example's position in [0, 1) under `seed`: sha256 over the domain tag
/// `loran-split`, a NUL byte, the seed as 8 little-endian bytes and the id's
/// UTF-8 bytes.
pub fn split_unit(id: &str, seed: u64) -> f64 {
    let mut hasher = Sha256::new();
    hasher.update(b"loran-split\0");
    hasher.update(seed.to_le_bytes());
    hasher.update(id.as_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // 53 bits keep the division exact in f64.
    (u64::from_be_bytes(first) >> 11) as f64 / (1u64 << 53) as f64
}

/// The split of one id.
pub fn assign_split(id: &str, seed: u64, validation_fraction: f64, test_fraction: f64) -> Split {
    let u = split_unit(id, seed);
    if u < test_fraction {
        Split::Test
    } else if u < test_fraction + validation_fraction {
        Split::Validation
    } else {
        Split::Train
    }
}

/// Splits `examples` by id; within each split the examples are ordered by
/// their split hash (ties broken by id), so truncating a split keeps a
/// seeded random subset.
pub fn split_examples(
    examples: Vec<Example>,
    seed: u64,
    validation_fraction: f64,
    test_fraction: f64,
) -> Splits {
    let mut keyed: Vec<(f64, Example)> = examples
        .into_iter()
        .map(|e| (split_unit(&e.id, seed), e))
        .collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
    let mut splits = Splits::default();
    for (u, ex) in keyed {
        if u < test_fraction {
            splits.test.push(ex);
        } else if u < test_fraction + validation_fraction {
            splits.validation.push(ex);
        } else {
            splits.train.push(ex);
        }
    }
    splits
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn examples(n: usize) -> Vec<Example> {
        (0..n)
            .map(|i| Example {
                id: format!("ex-{i}"),
                input: format!("input {i}"),
                target: "t".into(),
            })
            .collect()
    }

    fn ids(split: &[Example]) -> Vec<String> {
        split.iter().map(|e| e.id.clone()).collect()
    }

    #[test]
    fn unit_is_stable_across_runs() {
        // Pinned values: a change here silently reshuffles every recorded experiment.
        // Computed independently: sha256(b"loran-split\0" + 0u64 LE + b"news-1"),
        // first 8 bytes big-endian, >> 11, / 2^53.
        assert_eq!(split_unit("news-1", 0), 0.41665017602181686);
        assert_eq!(
            split_unit("easy-ham-1/00001.7c53336b37003a9286aba55d2945844c", 0),
            0.7073854283589429
        );
        let again: Vec<f64> = (0..5).map(|i| split_unit(&format!("ex-{i}"), 7)).collect();
        let once: Vec<f64> = (0..5).map(|i| split_unit(&format!("ex-{i}"), 7)).collect();
        assert_eq!(again, once);
        assert_ne!(split_unit("news-1", 0), split_unit("news-1", 1));
        assert_ne!(split_unit("news-1", 0), split_unit("news-2", 0));
    }

    #[test]
    fn same_seed_same_split_whatever_the_input_order() {
        let a = split_examples(examples(500), 3, 0.1, 0.2);
        let mut reversed = examples(500);
        reversed.reverse();
        let b = split_examples(reversed, 3, 0.1, 0.2);
        assert_eq!(a, b);
    }

    #[test]
    fn fractions_are_roughly_respected_and_splits_are_disjoint() {
        let n = 10_000;
        let s = split_examples(examples(n), 0, 0.1, 0.2);
        assert_eq!(s.len(), n);
        let frac = |k: usize| k as f64 / n as f64;
        assert!(
            (frac(s.test.len()) - 0.2).abs() < 0.02,
            "test {}",
            s.test.len()
        );
        assert!(
            (frac(s.validation.len()) - 0.1).abs() < 0.02,
            "validation {}",
            s.validation.len()
        );
        let mut seen = HashSet::new();
        for (_, split) in s.named() {
            for ex in split {
                assert!(seen.insert(ex.id.clone()), "{} is in two splits", ex.id);
            }
        }
        assert_eq!(seen.len(), n);
    }

    #[test]
    fn a_different_seed_gives_a_different_split() {
        let a = split_examples(examples(1000), 0, 0.1, 0.2);
        let b = split_examples(examples(1000), 1, 0.1, 0.2);
        let ta: HashSet<String> = ids(&a.test).into_iter().collect();
        let tb: HashSet<String> = ids(&b.test).into_iter().collect();
        let overlap = ta.intersection(&tb).count();
        // Independent 20% draws overlap in about 20% of the test set.
        assert!(overlap < ta.len() / 2, "overlap {overlap} of {}", ta.len());
    }

    #[test]
    fn zero_fractions_put_everything_in_train() {
        let s = split_examples(examples(50), 0, 0.0, 0.0);
        assert_eq!(
            (s.train.len(), s.validation.len(), s.test.len()),
            (50, 0, 0)
        );
        assert_eq!(assign_split("x", 0, 0.0, 0.0), Split::Train);
    }

    #[test]
    fn assign_split_agrees_with_split_examples() {
        let s = split_examples(examples(300), 5, 0.15, 0.25);
        for (name, split) in s.named() {
            for ex in split {
                let expected = match name {
                    "train" => Split::Train,
                    "validation" => Split::Validation,
                    _ => Split::Test,
                };
                assert_eq!(assign_split(&ex.id, 5, 0.15, 0.25), expected);
            }
        }
    }
}
