//! loran-metrics: scores of generated text against references, and their
//! statistics over seeds. It knows nothing of models or tensors.
//!
//! - [`rouge`]: ROUGE-1/2/L/Lsum exactly as Google's `rouge-score`
//!   (via the `rougers` crate), per pair and as corpus means; 0–1 scale.
//! - [`sentences`]: one sentence per line, as ROUGE-Lsum needs (UAX #29 boundaries).
//! - [`classification`]: accuracy and macro-F1 over string labels, where an
//!   unparseable prediction (`None`) is always wrong.
//! - [`stats`]: mean ± sample std over seeds, formatted for tables.
//! - [`bootstrap`]: paired bootstrap confidence intervals of a difference
//!   between two systems on the same examples.
//! - [`scoring`]: one scorer per task kind (by the kind's name) and a
//!   [`MetricSpec`] per metric, which reports read for column order, display
//!   scale, decimals and direction; [`parse_label`] reads a classification answer.
//!
//! All fallible functions return [`MetricsError`].
//!
//! ```
//! use loran_metrics::{corpus_rouge, fmeasures, paired_bootstrap, summarize, RougeVariant};
//!
//! let method = [("the cat sat", "the cat sat"), ("a b c", "a b")];
//! let baseline = [("the cat sat", "a dog"), ("a b c", "c")];
//! let (ours, ours_each) = corpus_rouge(&method, true)?;
//! let (base, base_each) = corpus_rouge(&baseline, true)?;
//! assert!(ours.rouge_l > base.rouge_l);
//!
//! let ci = paired_bootstrap(
//!     &fmeasures(&ours_each, RougeVariant::RougeL),
//!     &fmeasures(&base_each, RougeVariant::RougeL),
//!     1000,
//!     0,
//!     0.95,
//! )?;
//! assert!((ci.delta - (ours.rouge_l - base.rouge_l)).abs() < 1e-12);
//!
//! // Over seeds, on the 0-100 scale of paper tables.
//! let seeds = summarize(&[0.312, 0.318, 0.309]).scaled(100.0);
//! assert_eq!(seeds.display(2), "31.30 ± 0.46 (n=3)");
//! # Ok::<(), loran_metrics::MetricsError>(())
//! ```

pub mod answer;
pub mod bootstrap;
pub mod classification;
pub mod error;
pub mod rouge;
pub mod scoring;
pub mod sentences;
pub mod stats;

pub use answer::parse_label;
pub use bootstrap::{bootstrap_statistic, paired_bootstrap, BootstrapCi};
pub use classification::{accuracy, classify, macro_f1, macro_f1_over, ClassScores, ClassificationReport};
pub use error::MetricsError;
pub use rouge::{corpus_rouge, fmeasures, rouge, CorpusRouge, Prf, RougeScores, RougeVariant};
pub use scoring::{
    metric_spec, metric_specs, scorer, Direction, MetricSpec, Resample, ScoreInput, ScoreOptions,
    TaskScorer, TaskScores,
};
pub use stats::{summarize, Summary};
