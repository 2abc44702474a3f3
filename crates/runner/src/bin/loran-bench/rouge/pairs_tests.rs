//! Tests of `pairs.rs`.
use super::*;
use loran_metrics::corpus_rouge;

#[test]
fn generator_is_deterministic_for_a_seed() {
    let a = generate_pairs(7, 1000);
    let b = generate_pairs(7, 1000);
    assert_eq!(a.len(), 1000);
    assert_eq!(a, b);
    assert_ne!(a, generate_pairs(8, 1000));
}

#[test]
fn generated_pairs_look_like_summaries() {
    let pairs = generate_pairs(2024, 1000);
    assert_eq!(pairs.len(), 1000);
    assert!(pairs.iter().all(|p| !p.prediction.trim().is_empty() && !p.reference.trim().is_empty()));
    let multiline = pairs.iter().filter(|p| p.reference.contains('\n') || p.prediction.contains('\n')).count();
    assert!(multiline > 100 && multiline < 1000, "{multiline} pairs with a newline");
    let words: Vec<usize> = pairs.iter().map(|p| p.reference.split_whitespace().count()).collect();
    let mean = words.iter().sum::<usize>() as f64 / words.len() as f64;
    assert!((15.0..=45.0).contains(&mean), "mean reference length {mean}");
    assert!(words.iter().all(|&w| w >= 5), "a reference shorter than 5 words");
}

#[test]
fn generated_pairs_overlap_and_stemming_matters() {
    let pairs = generate_pairs(2024, 1000);
    let refs: Vec<(&str, &str)> = pairs.iter().map(|p| (p.reference.as_str(), p.prediction.as_str())).collect();
    let (plain, _) = corpus_rouge(&refs, false).expect("non-empty");
    let (stemmed, _) = corpus_rouge(&refs, true).expect("non-empty");
    assert!(plain.rouge2 > 0.1 && plain.rouge1 < 0.95, "{plain:?}");
    assert!(stemmed.rouge1 > plain.rouge1 + 0.01, "stemming barely matters: {plain:?} {stemmed:?}");
    assert_ne!(stemmed.rouge_l, stemmed.rouge_lsum);
}
