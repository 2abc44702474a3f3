//! `samsum`: abstractive summaries of messenger-like dialogues (SAMSum,
//! Gliwa et al. 2019), one of the paper's own tasks.
//!
//! Source: the hub dataset repo `knkarthick/samsum` (files `train.csv`,
//! `validation.csv`, `test.csv`, fields `id`, `dialogue`, `summary`), read
//! from the hub cache or downloaded into it; or local files with those
//! fields (CSV, JSON, JSON lines, parquet); see [`SamsumOptions`]. The
//! dataset's own splits are used; a split without a file is carved from train
//! by seeded hash. `data_sha256` is the [`crate::hashing::manifest_sha256`]
//! of the files read, by file name.
//!
//! Line breaks are normalised to `\n`. Filters, in order: the dialogue is not
//! empty; the summary is not empty. The example id is the dataset's `id`
//! (`<split>-row<n>` when it is empty or repeats an earlier one).

use super::split_files::{resolve, PerSplit, SplitFile};
use super::{finish, FilterLog, Loaded, Pool};
use crate::error::DatasetError;
use crate::options::{SamsumOptions, TaskOptions};
use crate::prompt::PromptTemplate;
use crate::table::{Table, Wanted};
use crate::task::{Example, LoadedTask, TaskKind};
use std::collections::HashSet;

/// Registry name.
pub const TASK: &str = "samsum";
/// The fields every file must have.
pub const FIELDS: [&str; 3] = ["id", "dialogue", "summary"];
/// What the prompt asks (a causal-LM instruction, as the paper's setup uses).
pub const INSTRUCTION: &str =
    "Summarize this dialogue: in one to three sentences, say who did or will do what.";

/// The prompt template of `samsum`.
pub fn template(opts: &TaskOptions) -> PromptTemplate {
    PromptTemplate::summary_of(opts.prompt_style, INSTRUCTION, "Dialogue", "Summary")
}

/// Loads the task from the hub (or `data.samsum.path`); the asset store is unused.
pub fn load(_store: &loran_assets::Store, opts: &TaskOptions) -> Result<LoadedTask, DatasetError> {
    load_with(&opts.samsum, opts)
}

/// Loads the task with explicit `samsum` options (the other options from `opts`).
pub fn load_with(samsum: &SamsumOptions, opts: &TaskOptions) -> Result<LoadedTask, DatasetError> {
    opts.validate()?;
    let files = resolve(&samsum.source())?;
    let (tables, data_sha256) = files.read(read_split)?;
    let origin = format!("{} [{}]", files.source, files.names());
    let mut log = FilterLog::new(TASK, &origin);
    let examples = build_examples(tables, &mut log)?;
    finish(
        Loaded {
            name: TASK,
            kind: TaskKind::Summarization,
            examples,
            data_sha256,
            source: format!("{}: {}", files.source, files.names()),
            template: template(opts),
            log,
        },
        opts,
    )
}

fn read_split(file: &SplitFile, bytes: Vec<u8>) -> Result<(&'static str, Table), DatasetError> {
    let wanted = Wanted {
        task: TASK,
        required: &FIELDS,
        optional: &[],
        text: &["dialogue", "summary"],
    };
    Ok((file.split, file.read_table(bytes, wanted)?))
}

/// One split's rows as examples, before filtering.
fn rows_to_examples(split: &str, table: &Table, seen: &mut HashSet<String>) -> Vec<Example> {
    let column = |name| table.column(name).unwrap_or_default();
    let (ids, dialogues, summaries) = (column("id"), column("dialogue"), column("summary"));
    (0..table.rows)
        .map(|i| {
            let raw_id = ids[i].trim();
            let id = if raw_id.is_empty() || !seen.insert(raw_id.to_string()) {
                format!("{split}-row{i}")
            } else {
                raw_id.to_string()
            };
            Example {
                id,
                input: normalise_lines(&dialogues[i]),
                target: normalise_lines(&summaries[i]),
            }
        })
        .collect()
}

/// `\r\n` and `\r` become `\n`; outer whitespace goes.
fn normalise_lines(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .trim()
        .to_string()
}

fn build_examples(
    tables: PerSplit<(&'static str, Table)>,
    log: &mut FilterLog,
) -> Result<Pool, DatasetError> {
    let mut seen = HashSet::new();
    let mut splits = tables.try_map(|(split, table)| {
        Ok::<_, DatasetError>(rows_to_examples(split, &table, &mut seen))
    })?;
    let total = |s: &PerSplit<Vec<Example>>| s.present().iter().map(|v| v.len()).sum();
    log.record("all rows", total(&splits))?;
    let keep = |f: fn(&Example) -> bool, s: &mut PerSplit<Vec<Example>>| {
        s.train.retain(f);
        s.validation.iter_mut().for_each(|v| v.retain(f));
        s.test.iter_mut().for_each(|v| v.retain(f));
    };
    keep(|e| !e.input.is_empty(), &mut splits);
    log.record("dialogue is not empty", total(&splits))?;
    keep(|e| !e.target.is_empty(), &mut splits);
    log.record("summary is not empty", total(&splits))?;
    Ok(Pool::Presplit {
        train: splits.train,
        validation: splits.validation,
        test: splits.test,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_are_normalised() {
        assert_eq!(
            normalise_lines(" A: hi\r\nB: yo\rC: ok \n"),
            "A: hi\nB: yo\nC: ok"
        );
    }

    #[test]
    fn empty_or_repeated_ids_get_row_ids() {
        let table = Table {
            rows: 3,
            columns: [
                ("id", vec!["7", "", "7"]),
                ("dialogue", vec!["a", "b", "c"]),
                ("summary", vec!["x", "y", "z"]),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
            .collect(),
        };
        let mut seen = HashSet::new();
        let ids: Vec<String> = rows_to_examples("test", &table, &mut seen)
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(ids, ["7", "test-row1", "test-row2"]);
    }
}
