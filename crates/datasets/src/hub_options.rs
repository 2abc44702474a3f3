//! Options of the hub-backed paper tasks (`samsum`, `newsgroups20`): which
//! hub dataset repo and files to read, through which hub cache, or which
//! local files instead. Every field has a documented default; unknown keys
//! are errors.

use crate::hub::{default_hub_cache, HubDataset};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Where a hub-backed task's files come from, as the loaders use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSource<'a> {
    /// The hub dataset (used when `path` is unset).
    pub hub: HubDataset,
    /// Local files or folder instead of the hub.
    pub path: Option<&'a Path>,
    /// File name of the training split.
    pub train_file: &'a str,
    /// File name of the validation split (`None`: carved from train).
    pub validation_file: Option<&'a str>,
    /// File name of the test split (`None`: carved from train).
    pub test_file: Option<&'a str>,
}

/// Options of `samsum`.
///
/// The hub fields (`repo` … `path`) repeat in [`Newsgroups20Options`] on purpose: a shared
/// struct would need `#[serde(flatten)]`, which serde cannot combine with
/// `deny_unknown_fields`, and each task documents its own defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SamsumOptions {
    /// Hub dataset repo (default `knkarthick/samsum`, which serves CSV files).
    pub repo: String,
    /// Branch, tag or commit hash of the repo (default `main`).
    pub revision: String,
    /// Hub cache folder, the one holding `datasets--*` folders (default:
    /// hf-hub's rule, `$HF_HOME/hub`, else `~/.cache/huggingface/hub`).
    pub cache_dir: Option<PathBuf>,
    /// Hub endpoint for downloads (default: `HF_ENDPOINT`, else `https://huggingface.co`).
    pub endpoint: Option<String>,
    /// Local data instead of the hub (default: unset). A file is the
    /// training data (validation and test are then carved from it by seeded
    /// hash); a folder holds the split files named below, and a split whose
    /// file is absent there is carved from train.
    pub path: Option<PathBuf>,
    /// Training split file (default `train.csv`). CSV, JSON, JSON lines or
    /// parquet, by extension, with fields `id`, `dialogue`, `summary`.
    pub train_file: String,
    /// Validation split file (default `validation.csv`; `null`: carved from train).
    pub validation_file: Option<String>,
    /// Test split file (default `test.csv`; `null`: carved from train).
    pub test_file: Option<String>,
}

impl Default for SamsumOptions {
    fn default() -> Self {
        Self {
            repo: "knkarthick/samsum".to_string(),
            revision: "main".to_string(),
            cache_dir: None,
            endpoint: None,
            path: None,
            train_file: "train.csv".to_string(),
            validation_file: Some("validation.csv".to_string()),
            test_file: Some("test.csv".to_string()),
        }
    }
}

impl SamsumOptions {
    /// Where the loader reads from.
    pub fn source(&self) -> DataSource<'_> {
        DataSource {
            hub: hub_dataset(
                "samsum",
                &self.repo,
                &self.revision,
                &self.cache_dir,
                &self.endpoint,
            ),
            path: self.path.as_deref(),
            train_file: &self.train_file,
            validation_file: self.validation_file.as_deref(),
            test_file: self.test_file.as_deref(),
        }
    }
}

/// Options of `newsgroups20`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Newsgroups20Options {
    /// Hub dataset repo (default `SetFit/20_newsgroups`, which serves JSON lines
    /// with fields `text`, `label`, `label_text`).
    pub repo: String,
    /// Branch, tag or commit hash of the repo (default `main`).
    pub revision: String,
    /// Hub cache folder (default: hf-hub's rule, `$HF_HOME/hub`, else
    /// `~/.cache/huggingface/hub`).
    pub cache_dir: Option<PathBuf>,
    /// Hub endpoint for downloads (default: `HF_ENDPOINT`, else `https://huggingface.co`).
    pub endpoint: Option<String>,
    /// Local data instead of the hub (default: unset): a folder holding
    /// sklearn's `20news-bydate-train/<group>/<id>` and
    /// `20news-bydate-test/<group>/<id>` (e.g. `~/scikit_learn_data/20news_home`),
    /// a folder holding the split files named below, or one training file.
    pub path: Option<PathBuf>,
    /// Training split file (default `train.jsonl`).
    pub train_file: String,
    /// Validation split file (default `null`: carved from train by seeded hash,
    /// as 20 Newsgroups has none).
    pub validation_file: Option<String>,
    /// Test split file (default `test.jsonl`; `null`: carved from train).
    pub test_file: Option<String>,
    /// In sklearn's folder layout, drop each post's header block, up to the
    /// first blank line, as sklearn's `remove=('headers',)` does (default
    /// true: the `Newsgroups:` header names the label).
    pub strip_headers: bool,
}

impl Default for Newsgroups20Options {
    fn default() -> Self {
        Self {
            repo: "SetFit/20_newsgroups".to_string(),
            revision: "main".to_string(),
            cache_dir: None,
            endpoint: None,
            path: None,
            train_file: "train.jsonl".to_string(),
            validation_file: None,
            test_file: Some("test.jsonl".to_string()),
            strip_headers: true,
        }
    }
}

impl Newsgroups20Options {
    /// Where the loader reads from.
    pub fn source(&self) -> DataSource<'_> {
        DataSource {
            hub: hub_dataset(
                "newsgroups20",
                &self.repo,
                &self.revision,
                &self.cache_dir,
                &self.endpoint,
            ),
            path: self.path.as_deref(),
            train_file: &self.train_file,
            validation_file: self.validation_file.as_deref(),
            test_file: self.test_file.as_deref(),
        }
    }
}

fn hub_dataset(
    task: &'static str,
    repo: &str,
    revision: &str,
    cache_dir: &Option<PathBuf>,
    endpoint: &Option<String>,
) -> HubDataset {
    HubDataset {
        task,
        repo: repo.to_string(),
        revision: revision.to_string(),
        cache_dir: cache_dir.clone().unwrap_or_else(default_hub_cache),
        endpoint: endpoint.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_like_configs_override_and_null_carves() {
        let o: SamsumOptions = serde_json::from_str(
            r#"{"cache_dir": "/c", "validation_file": null, "train_file": "train.jsonl"}"#,
        )
        .unwrap();
        assert_eq!(o.repo, "knkarthick/samsum");
        assert_eq!(o.validation_file, None);
        assert_eq!(o.test_file.as_deref(), Some("test.csv"));
        let source = o.source();
        assert_eq!(source.hub.cache_dir, PathBuf::from("/c"));
        assert_eq!(source.train_file, "train.jsonl");
        let n: Newsgroups20Options = serde_json::from_str("{}").unwrap();
        assert_eq!(n, Newsgroups20Options::default());
        assert_eq!(n.source().validation_file, None);
        assert!(serde_json::from_str::<Newsgroups20Options>(r#"{"repository": "x/y"}"#).is_err());
    }
}
