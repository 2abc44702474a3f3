//! `newsgroups20`: which of the 20 Usenet newsgroups a post was sent to
//! (20 Newsgroups, "bydate" version), one of the paper's own tasks.
//!
//! Sources (see [`Newsgroups20Options`]):
//! - the hub dataset repo `SetFit/20_newsgroups` (files `train.jsonl`,
//!   `test.jsonl`, fields `text`, `label`, `label_text`), read from the hub
//!   cache or downloaded into it; or local files with those fields (CSV,
//!   JSON, JSON lines, parquet). `text` is used as it is. The label is
//!   `label_text`, else the name at index `label` of [`LABELS`]; when both
//!   are given they must agree. `data_sha256` is the manifest sha256 of the
//!   files by name. Ids are `<split>-<row>`.
//! - sklearn's folder layout ([`super::bydate`]) under `path`: the label is
//!   the group folder, the header block is stripped (`strip_headers`), and
//!   `data_sha256` is the manifest sha256 of every post by relative path.
//!   Ids are the posts' relative paths.
//!
//! Both have a train and a test split; validation is carved from train by
//! seeded hash. Filter: the text is not empty (after stripping).

use super::bydate::{self, is_bydate_root, read_posts, strip_header};
use super::split_files::{resolve, PerSplit, SplitFile};
use super::{finish, FilterLog, Loaded, Pool};
use crate::error::DatasetError;
use crate::hashing::manifest_sha256;
use crate::options::{Newsgroups20Options, TaskOptions};
use crate::prompt::PromptTemplate;
use crate::table::{Table, Wanted};
use crate::task::{Example, LoadedTask, TaskKind};
use std::path::Path;

/// Registry name.
pub const TASK: &str = "newsgroups20";

/// The 20 newsgroups in sklearn's order (`target_names`, alphabetical), which
/// is also the order of SetFit's integer `label`.
pub const LABELS: [&str; 20] = [
    "alt.atheism",
    "comp.graphics",
    "comp.os.ms-windows.misc",
    "comp.sys.ibm.pc.hardware",
    "comp.sys.mac.hardware",
    "comp.windows.x",
    "misc.forsale",
    "rec.autos",
    "rec.motorcycles",
    "rec.sport.baseball",
    "rec.sport.hockey",
    "sci.crypt",
    "sci.electronics",
    "sci.med",
    "sci.space",
    "soc.religion.christian",
    "talk.politics.guns",
    "talk.politics.mideast",
    "talk.politics.misc",
    "talk.religion.misc",
];

/// The question the prompt asks (the prompt then lists [`LABELS`]).
pub const QUESTION: &str = "Which newsgroup was the post below sent to?";

/// The label names, in [`LABELS`] order.
pub fn labels() -> Vec<String> {
    LABELS.iter().map(|l| l.to_string()).collect()
}

/// The prompt template of `newsgroups20`.
pub fn template(opts: &TaskOptions) -> PromptTemplate {
    PromptTemplate::classification(opts.prompt_style, QUESTION, "Post", &labels())
}

/// Loads the task from the hub (or `data.newsgroups20.path`); the asset store is unused.
pub fn load(_store: &loran_assets::Store, opts: &TaskOptions) -> Result<LoadedTask, DatasetError> {
    load_with(&opts.newsgroups20, opts)
}

/// Loads the task with explicit `newsgroups20` options (the other options from `opts`).
pub fn load_with(ng: &Newsgroups20Options, opts: &TaskOptions) -> Result<LoadedTask, DatasetError> {
    opts.validate()?;
    let (splits, data_sha256, source) = match ng.path.as_deref() {
        Some(root) if is_bydate_root(root) => read_bydate(root, ng.strip_headers)?,
        _ => read_files(ng)?,
    };
    let mut log = FilterLog::new(TASK, &source);
    let total = |s: &PerSplit<Vec<Example>>| s.present().iter().map(|v| v.len()).sum();
    log.record("all posts", total(&splits))?;
    let splits = splits.try_map(|mut v| {
        v.retain(|e| !e.input.is_empty());
        Ok::<_, DatasetError>(v)
    })?;
    log.record("text is not empty", total(&splits))?;
    finish(
        Loaded {
            name: TASK,
            kind: TaskKind::Classification { labels: labels() },
            examples: Pool::Presplit {
                train: splits.train,
                validation: splits.validation,
                test: splits.test,
            },
            data_sha256,
            source,
            template: template(opts),
            log,
        },
        opts,
    )
}

type Read = (PerSplit<Vec<Example>>, String, String);

fn read_bydate(root: &Path, strip_headers: bool) -> Result<Read, DatasetError> {
    let mut manifest = Vec::new();
    let mut split = |dir: &str| -> Result<Vec<Example>, DatasetError> {
        read_posts(root, dir, &mut manifest)?
            .into_iter()
            .map(|post| {
                if !LABELS.contains(&post.group.as_str()) {
                    return Err(DatasetError::LocalData {
                        task: TASK.to_string(),
                        detail: format!(
                            "{}: folder `{}` is not one of the 20 newsgroups ({})",
                            root.join(dir).display(),
                            post.group,
                            LABELS.join(", ")
                        ),
                    });
                }
                let text = if strip_headers {
                    strip_header(&post.text)
                } else {
                    post.text
                };
                Ok(Example {
                    id: post.path,
                    input: text.trim().to_string(),
                    target: post.group,
                })
            })
            .collect()
    };
    let train = split(bydate::TRAIN_DIR)?;
    let test = root
        .join(bydate::TEST_DIR)
        .is_dir()
        .then(|| split(bydate::TEST_DIR))
        .transpose()?;
    let source = format!(
        "{} ({}{})",
        root.display(),
        bydate::TRAIN_DIR,
        if test.is_some() {
            format!(", {}", bydate::TEST_DIR)
        } else {
            String::new()
        }
    );
    let splits = PerSplit {
        train,
        validation: None,
        test,
    };
    Ok((splits, manifest_sha256(&manifest), source))
}

fn read_files(ng: &Newsgroups20Options) -> Result<Read, DatasetError> {
    let files = resolve(&ng.source())?;
    let (splits, sha) = files.read(|file, bytes| {
        let wanted = Wanted {
            task: TASK,
            required: &["text"],
            optional: &["label", "label_text"],
            text: &["text", "label_text"],
        };
        let table = file.read_table(bytes, wanted)?;
        table_examples(file, &table)
    })?;
    Ok((splits, sha, format!("{}: {}", files.source, files.names())))
}

/// The examples of one split file.
fn table_examples(file: &SplitFile, table: &Table) -> Result<Vec<Example>, DatasetError> {
    let texts = table.column("text").unwrap_or_default();
    let (names, indices) = (table.column("label_text"), table.column("label"));
    if names.is_none() && indices.is_none() {
        return Err(DatasetError::MissingField {
            task: TASK.to_string(),
            path: file.path.display().to_string(),
            field: "label_text` or `label".to_string(),
            found: "neither".to_string(),
            needed: "`text`, `label_text` (or `label`)".to_string(),
        });
    }
    (0..table.rows)
        .map(|i| {
            let name = names
                .map(|n| n[i].as_str())
                .filter(|n| !n.trim().is_empty());
            let index = indices
                .map(|n| n[i].as_str())
                .filter(|n| !n.trim().is_empty());
            let label = label_of(name, index).map_err(|detail| DatasetError::DataFile {
                path: file.path.display().to_string(),
                detail: format!("record {}: {detail}", i + 1),
            })?;
            Ok(Example {
                id: format!("{}-{i:05}", file.split),
                input: texts[i].replace("\r\n", "\n").trim().to_string(),
                target: label.to_string(),
            })
        })
        .collect()
}

/// The label of a record from its `label_text` and/or integer `label`.
pub fn label_of(name: Option<&str>, index: Option<&str>) -> Result<&'static str, String> {
    let by_index = index
        .map(|raw| {
            raw.trim()
                .parse::<usize>()
                .ok()
                .and_then(|i| LABELS.get(i).copied())
                .ok_or_else(|| {
                    format!("`label` {raw} is not an index 0..19 into the 20 newsgroups (0 is alt.atheism, 19 talk.religion.misc)")
                })
        })
        .transpose()?;
    let by_name = name
        .map(|raw| {
            LABELS
                .iter()
                .copied()
                .find(|l| *l == raw.trim())
                .ok_or_else(|| {
                    format!(
                        "`label_text` {raw:?} is not one of the 20 newsgroups ({})",
                        LABELS.join(", ")
                    )
                })
        })
        .transpose()?;
    match (by_name, by_index) {
        (Some(n), Some(i)) if n != i => {
            Err(format!("`label_text` {n} disagrees with `label` ({i})"))
        }
        (Some(label), _) | (None, Some(label)) => Ok(label),
        (None, None) => Err("no `label_text` and no `label`".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_sorted_and_distinct() {
        let mut sorted = LABELS.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, LABELS.to_vec());
    }

    #[test]
    fn every_label_reads_back_from_a_generated_answer() {
        for label in LABELS {
            let answer = format!(" {}.\nbecause", label.to_uppercase());
            assert_eq!(
                loran_metrics::parse_label(&answer, &labels()).as_deref(),
                Some(label)
            );
        }
    }

    #[test]
    fn labels_from_names_and_indices() {
        assert_eq!(label_of(Some("sci.space"), None), Ok("sci.space"));
        assert_eq!(label_of(None, Some("14")), Ok("sci.space"));
        assert_eq!(label_of(Some("sci.space"), Some("14")), Ok("sci.space"));
        assert!(label_of(Some("sci.space"), Some("13"))
            .unwrap_err()
            .contains("disagrees"));
        assert!(label_of(None, Some("20")).is_err());
        assert!(label_of(Some("sci.spaceflight"), None).is_err());
        assert!(label_of(None, None).is_err());
    }
}
