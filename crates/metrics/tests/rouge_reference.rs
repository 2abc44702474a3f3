//! Every case of `tests/reference/rouge_cases.jsonl` (made with Google's
//! `rouge-score`) must match to 1e-9 in precision, recall and F-measure.

use loran_metrics::{rouge, Prf, RougeVariant};
use serde_json::Value;

const CASES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/reference/rouge_cases.jsonl"
);
const TOL: f64 = 1e-9;

fn field<'a>(case: &'a Value, key: &str) -> &'a Value {
    case.get(key)
        .unwrap_or_else(|| panic!("case lacks {key}: {case}"))
}

fn expected_prf(case: &Value, key: &str) -> Prf {
    let triple: Vec<f64> = field(case, key)
        .as_array()
        .unwrap_or_else(|| panic!("{key} is not an array"))
        .iter()
        .map(|v| {
            v.as_f64()
                .unwrap_or_else(|| panic!("{key} holds a non-number"))
        })
        .collect();
    assert_eq!(
        triple.len(),
        3,
        "{key} must be [precision, recall, fmeasure]"
    );
    Prf {
        precision: triple[0],
        recall: triple[1],
        fmeasure: triple[2],
    }
}

#[test]
fn matches_every_rouge_score_reference_case() {
    let text =
        std::fs::read_to_string(CASES).unwrap_or_else(|e| panic!("cannot read {CASES}: {e}"));
    let mut checked = 0;
    let mut failures = Vec::new();
    for (line_no, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let case: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("line {}: invalid JSON: {e}", line_no + 1));
        let name = field(&case, "case").as_str().expect("case is a string");
        let use_stemmer = field(&case, "use_stemmer")
            .as_bool()
            .expect("use_stemmer is a bool");
        let target = field(&case, "target").as_str().expect("target is a string");
        let prediction = field(&case, "prediction")
            .as_str()
            .expect("prediction is a string");
        let got = rouge(target, prediction, use_stemmer);
        for variant in RougeVariant::ALL {
            let want = expected_prf(&case, variant.name());
            let have = got.get(variant);
            let pairs = [
                ("precision", have.precision, want.precision),
                ("recall", have.recall, want.recall),
                ("fmeasure", have.fmeasure, want.fmeasure),
            ];
            for (what, have, want) in pairs {
                if (have - want).abs() > TOL {
                    failures.push(format!(
                        "line {} {name} (stemmer={use_stemmer}) {} {what}: got {have}, want {want}",
                        line_no + 1,
                        variant.name()
                    ));
                }
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 24, "expected the 24 reference cases");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
