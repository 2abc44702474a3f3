//! Task options, as written in an experiment YAML under the run's task.
//! Every field has a documented default; unknown keys are errors.

use crate::error::DatasetError;
pub use crate::hub_options::{Newsgroups20Options, SamsumOptions};
use crate::prompt::PromptStyle;
use serde::{Deserialize, Serialize};

/// Options shared by every task, plus one section per task that has its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TaskOptions {
    /// Seed of the hash-based split (default 0). Changing it reshuffles which
    /// examples are train, validation and test.
    pub split_seed: u64,
    /// Share of examples in the validation split (default 0.1; valid: in [0, 1 − test_fraction)).
    pub validation_fraction: f64,
    /// Share of examples in the test split (default 0.2; valid: in (0, 1 − validation_fraction)).
    pub test_fraction: f64,
    /// Inputs are cut to this many characters at load time, at a word
    /// boundary (default 4000; valid: at least 1); tokenization then cuts further to fit the
    /// token budget. It only saves tokenizer work on very long texts.
    pub max_input_chars: usize,
    /// Keep at most this many training examples (default: all). Splits are
    /// ordered by their seeded hash, so this is a seeded random subset.
    pub max_train_examples: Option<usize>,
    /// Keep at most this many validation examples (default: all).
    pub max_validation_examples: Option<usize>,
    /// Keep at most this many test examples (default: all). 0 is an error:
    /// it would leave nothing to evaluate.
    pub max_test_examples: Option<usize>,
    /// Prompt layout: `chatml` (default, for SmolLM2-Instruct) or `plain`.
    pub prompt_style: PromptStyle,
    /// Options of `news-standfirst`.
    pub news_standfirst: NewsStandfirstOptions,
    /// Options of `mailing-list-topics`.
    pub mailing_list_topics: MailingListOptions,
    /// Options of `samsum` (hub repo, cache, local files). Left out when
    /// serialized at its defaults, like `newsgroups20`, so that the config hash
    /// of every run recorded before these tasks existed stays the same.
    #[serde(skip_serializing_if = "is_default")]
    pub samsum: SamsumOptions,
    /// Options of `newsgroups20` (hub repo, cache, local files).
    #[serde(skip_serializing_if = "is_default")]
    pub newsgroups20: Newsgroups20Options,
}

impl Default for TaskOptions {
    fn default() -> Self {
        Self {
            split_seed: 0,
            validation_fraction: 0.1,
            test_fraction: 0.2,
            max_input_chars: 4000,
            max_train_examples: None,
            max_validation_examples: None,
            max_test_examples: None,
            prompt_style: PromptStyle::ChatMl,
            news_standfirst: NewsStandfirstOptions::default(),
            mailing_list_topics: MailingListOptions::default(),
            samsum: SamsumOptions::default(),
            newsgroups20: Newsgroups20Options::default(),
        }
    }
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

impl TaskOptions {
    /// Checks that the fractions and caps make sense; errors name the
    /// `data.*` key of the run config and the fix. A cap of 0 on the train or
    /// test split is an error (nothing to train on, or to evaluate); a cap of
    /// 0 on validation is allowed, like `validation_fraction: 0`.
    pub fn validate(&self) -> Result<(), DatasetError> {
        let (v, t) = (self.validation_fraction, self.test_fraction);
        if !(0.0..1.0).contains(&v) || !(0.0..1.0).contains(&t) || v + t >= 1.0 {
            return Err(DatasetError::Options(format!(
                "`data.validation_fraction` {v} and `data.test_fraction` {t} must each be in [0, 1) and sum to \
                 less than 1, so that some examples are left for training; lower them"
            )));
        }
        if self.max_input_chars == 0 {
            return Err(DatasetError::Options(
                "`data.max_input_chars` is 0; it must be positive (default 4000)".to_string(),
            ));
        }
        if self.max_train_examples == Some(0) {
            return Err(DatasetError::Options(
                "`data.max_train_examples` is 0, which leaves nothing to train on; leave it unset to keep all"
                    .to_string(),
            ));
        }
        if self.max_test_examples == Some(0) {
            return Err(DatasetError::Options(
                "`data.max_test_examples` is 0, which leaves nothing to evaluate; leave it unset to keep all \
                 (`eval.max_examples` sets how many are scored)"
                    .to_string(),
            ));
        }
        Ok(())
    }
}

/// Options of `news-standfirst`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NewsStandfirstOptions {
    /// Articles whose `article_source_link` host is one of these domains, or
    /// a subdomain of one, are dropped (default `["bbc.co.uk"]`: BBC
    /// standfirsts repeat the article's first sentence).
    pub exclude_domains: Vec<String>,
    /// Also drop any other article whose text starts with its own standfirst
    /// (default true), for the same reason.
    pub drop_lead_copies: bool,
}

impl Default for NewsStandfirstOptions {
    fn default() -> Self {
        Self {
            exclude_domains: vec!["bbc.co.uk".to_string()],
            drop_lead_copies: true,
        }
    }
}

/// Options of `mailing-list-topics`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailingListOptions {
    /// Also read the corpus's spam folders (default false). Spam that reached
    /// a list carries its `List-Id` too (102 fork, 46 ilug, 1 spamassassin-talk),
    /// but its topic is spam, not the list's.
    pub include_spam: bool,
    /// Drop messages whose cleaned body repeats an earlier one (default
    /// true); when copies carry different labels, every copy is dropped.
    pub deduplicate: bool,
}

impl Default for MailingListOptions {
    fn default() -> Self {
        Self {
            include_spam: false,
            deduplicate: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_partial_configs() {
        let o: TaskOptions = serde_json::from_str("{}").unwrap();
        assert_eq!(o, TaskOptions::default());
        let o: TaskOptions = serde_json::from_str(
            r#"{"split_seed": 3, "news_standfirst": {"drop_lead_copies": false}}"#,
        )
        .unwrap();
        assert_eq!(o.split_seed, 3);
        assert!(!o.news_standfirst.drop_lead_copies);
        assert_eq!(
            o.news_standfirst.exclude_domains,
            vec!["bbc.co.uk".to_string()]
        );
        o.validate().unwrap();
    }

    #[test]
    fn hub_task_sections_are_serialized_only_when_set() {
        let keys = |o: &TaskOptions| -> Vec<String> {
            let value = serde_json::to_value(o).unwrap();
            value.as_object().unwrap().keys().cloned().collect()
        };
        let default_keys = keys(&TaskOptions::default());
        assert!(
            !default_keys
                .iter()
                .any(|k| k == "samsum" || k == "newsgroups20"),
            "{default_keys:?}"
        );
        let mut o = TaskOptions::default();
        o.newsgroups20.strip_headers = false;
        assert!(keys(&o).contains(&"newsgroups20".to_string()));
        let back: TaskOptions = serde_json::from_value(serde_json::to_value(&o).unwrap()).unwrap();
        assert_eq!(back, o);
    }

    #[test]
    fn unknown_keys_are_errors() {
        let err = serde_json::from_str::<TaskOptions>(r#"{"split_sed": 3}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("split_sed"), "{err}");
        assert!(
            serde_json::from_str::<TaskOptions>(r#"{"mailing_list_topics": {"spam": true}}"#)
                .is_err()
        );
    }

    #[test]
    fn bad_fractions_are_rejected() {
        let o = TaskOptions {
            validation_fraction: 0.5,
            test_fraction: 0.5,
            ..TaskOptions::default()
        };
        assert!(o
            .validate()
            .unwrap_err()
            .to_string()
            .contains("sum to less than 1"));
        let o = TaskOptions {
            test_fraction: -0.1,
            ..TaskOptions::default()
        };
        assert!(o.validate().is_err());
    }
}
