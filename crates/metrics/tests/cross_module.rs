//! Checks that span modules: per-example scores feeding the bootstrap, and
//! per-seed corpus scores feeding the seed summary.

use loran_metrics::{
    bootstrap_statistic, corpus_rouge, fmeasures, macro_f1, paired_bootstrap, summarize,
    RougeVariant,
};

fn pairs(predictions: &[&str]) -> Vec<(String, String)> {
    let targets = [
        "the cat sat on the mat",
        "police shot the gunman",
        "rates rose again",
    ];
    targets
        .iter()
        .zip(predictions)
        .map(|(t, p)| (t.to_string(), p.to_string()))
        .collect()
}

#[test]
fn bootstrap_delta_equals_difference_of_corpus_rouge() {
    let good = pairs(&[
        "the cat sat on a mat",
        "police shot the gunman dead",
        "rates rose",
    ]);
    let bad = pairs(&["a dog stood", "the gunman", "prices fell"]);
    let (good_corpus, good_each) = corpus_rouge(&good, true).expect("non-empty");
    let (bad_corpus, bad_each) = corpus_rouge(&bad, true).expect("non-empty");
    for variant in RougeVariant::ALL {
        let ci = paired_bootstrap(
            &fmeasures(&good_each, variant),
            &fmeasures(&bad_each, variant),
            500,
            0,
            0.95,
        )
        .expect("paired");
        let difference = good_corpus.get(variant) - bad_corpus.get(variant);
        assert!((ci.delta - difference).abs() < 1e-12, "{variant:?}: {ci:?}");
        assert!(ci.delta > 0.0 && ci.low <= ci.delta && ci.delta <= ci.high);
    }
}

#[test]
fn bootstrap_of_macro_f1_difference() {
    let gold = ["a", "a", "b", "b", "c", "c"];
    let better = [Some("a"), Some("a"), Some("b"), Some("b"), Some("c"), None];
    let worse = [Some("a"), Some("b"), Some("b"), None, Some("a"), None];
    let delta =
        macro_f1(&gold, &better).expect("paired") - macro_f1(&gold, &worse).expect("paired");
    let ci = bootstrap_statistic(gold.len(), 300, 9, 0.9, |idx| {
        let g: Vec<&str> = idx.iter().map(|&i| gold[i]).collect();
        let b: Vec<Option<&str>> = idx.iter().map(|&i| better[i]).collect();
        let w: Vec<Option<&str>> = idx.iter().map(|&i| worse[i]).collect();
        macro_f1(&g, &b).expect("paired") - macro_f1(&g, &w).expect("paired")
    })
    .expect("valid");
    assert!((ci.delta - delta).abs() < 1e-12);
    assert!(ci.low <= ci.high);
}

#[test]
fn seed_summary_of_corpus_scores() {
    // Three "seeds" that differ only in one prediction.
    let runs = [
        pairs(&[
            "the cat sat on the mat",
            "police shot the gunman",
            "rates rose again",
        ]),
        pairs(&[
            "the cat sat on the mat",
            "police shot the gunman",
            "rates fell",
        ]),
        pairs(&[
            "the cat sat on the mat",
            "police shot the gunman",
            "nothing",
        ]),
    ];
    let rouge1: Vec<f64> = runs
        .iter()
        .map(|run| corpus_rouge(run, false).expect("non-empty").0.rouge1 * 100.0)
        .collect();
    // The first two pairs score rouge1 F = 1 in every run. The third:
    // identical -> 1; "rates fell" vs "rates rose again" -> P=1/2, R=1/3,
    // F=0.4; "nothing" -> 0. Corpus means (x100): 100, 80, 66.67.
    let expected = [100.0, (2.0 + 0.4) / 3.0 * 100.0, 2.0 / 3.0 * 100.0];
    for (got, want) in rouge1.iter().zip(expected) {
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
    }
    let summary = summarize(&rouge1);
    let mean = expected.iter().sum::<f64>() / 3.0;
    let var = expected.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 2.0;
    assert!((summary.mean - mean).abs() < 1e-9);
    assert!((summary.std.expect("n = 3") - var.sqrt()).abs() < 1e-9);
    assert_eq!(
        summary.display(2),
        format!("{mean:.2} ± {:.2} (n=3)", var.sqrt())
    );
}
