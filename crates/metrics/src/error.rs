//! The one error type of this crate.

use thiserror::Error;

/// Why a metric could not be computed. Every message fits on one line.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum MetricsError {
    /// Two inputs that must be paired element by element differ in length.
    #[error("length mismatch: {left_name} has {left} values but {right_name} has {right}")]
    LengthMismatch {
        /// Name of the first input (e.g. `"method"`, `"gold"`).
        left_name: &'static str,
        /// Length of the first input.
        left: usize,
        /// Name of the second input (e.g. `"baseline"`, `"predictions"`).
        right_name: &'static str,
        /// Length of the second input.
        right: usize,
    },
    /// A metric was asked for over no examples at all.
    #[error("empty input: {what} has no values")]
    EmptyInput {
        /// Name of the empty input.
        what: &'static str,
    },
    /// A value that must be finite is NaN or infinite.
    #[error("non-finite value {value} at index {index} of {what}")]
    NonFinite {
        /// Name of the input holding the value.
        what: &'static str,
        /// Position of the first offending value.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A confidence level outside the open interval (0, 1).
    #[error("confidence must lie strictly between 0 and 1, got {0}")]
    InvalidConfidence(f64),
    /// A bootstrap with no resamples.
    #[error("the bootstrap needs at least one resample, got 0")]
    ZeroResamples,
    /// A task kind no scorer is registered for (see [`crate::scoring`]).
    #[error(
        "unknown task kind `{kind}`: no scorer is registered for it (known: {known}); add \
         `scoring/<kind>.rs` and its line in the `registry!` list of crates/metrics/src/scoring/mod.rs"
    )]
    UnknownTaskKind {
        /// The kind's name as the caller spelled it.
        kind: String,
        /// The registered kinds, comma-separated.
        known: String,
    },
    /// A kind that parses answers into labels was given no label set.
    #[error(
        "task kind `{kind}` scores answers against a label set, but none was given; \
         pass the task's labels as ScoreInput::labels"
    )]
    MissingLabels {
        /// The scorer's kind.
        kind: &'static str,
    },
}

/// Checks that two paired inputs have the same, non-zero length.
pub(crate) fn check_paired(
    left_name: &'static str,
    left: usize,
    right_name: &'static str,
    right: usize,
) -> Result<(), MetricsError> {
    if left != right {
        return Err(MetricsError::LengthMismatch {
            left_name,
            left,
            right_name,
            right,
        });
    }
    if left == 0 {
        return Err(MetricsError::EmptyInput { what: left_name });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{check_paired, MetricsError};

    #[test]
    fn check_paired_reports_mismatch_before_emptiness() {
        assert_eq!(check_paired("a", 2, "b", 2), Ok(()));
        assert!(matches!(
            check_paired("a", 0, "b", 1),
            Err(MetricsError::LengthMismatch {
                left: 0,
                right: 1,
                ..
            })
        ));
        assert_eq!(
            check_paired("a", 0, "b", 0),
            Err(MetricsError::EmptyInput { what: "a" })
        );
    }

    #[test]
    fn length_mismatch_names_both_lengths() {
        let error = MetricsError::LengthMismatch {
            left_name: "method",
            left: 3,
            right_name: "baseline",
            right: 4,
        };
        assert_eq!(
            error.to_string(),
            "length mismatch: method has 3 values but baseline has 4"
        );
    }

    #[test]
    fn messages_are_one_line() {
        let errors = [
            MetricsError::EmptyInput { what: "gold" },
            MetricsError::NonFinite {
                what: "method",
                index: 2,
                value: f64::NAN,
            },
            MetricsError::InvalidConfidence(1.5),
            MetricsError::ZeroResamples,
            MetricsError::UnknownTaskKind {
                kind: "qa".into(),
                known: "summarization".into(),
            },
            MetricsError::MissingLabels {
                kind: "classification",
            },
        ];
        for error in errors {
            let message = error.to_string();
            assert!(!message.contains('\n'), "{message}");
            assert!(!message.is_empty());
        }
    }
}
