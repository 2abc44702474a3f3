//! Bad data files (empty, ragged, labels outside the verbalizer, fields of
//! the wrong type) give one-line errors naming the file, the record, the
//! field or option, and the fix. Local files only (no network).

use crate::common;

use common::assert_one_line;
use loran_datasets::fixtures::samsum as fx;
use loran_datasets::loaders::newsgroups20::LABELS;
use loran_datasets::{load_task, DatasetError, LoadedTask, TaskOptions};
use std::path::Path;

/// Loads `task` from the local folder `dir`, after `tweak` adjusts the options.
fn load_local(
    task: &str,
    dir: &Path,
    tweak: impl FnOnce(&mut TaskOptions),
) -> Result<LoadedTask, DatasetError> {
    let mut o = TaskOptions::default();
    o.samsum.path = Some(dir.to_path_buf());
    o.newsgroups20.path = Some(dir.to_path_buf());
    tweak(&mut o);
    load_task(
        task,
        &loran_assets::Store::new("/nonexistent-loran-store"),
        &o,
    )
}

/// A folder holding `files` (name, contents).
fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}


fn path_of(dir: &tempfile::TempDir, name: &str) -> String {
    dir.path().join(name).display().to_string()
}

fn samsum_rows(n: usize) -> String {
    fx::csv(&fx::dialogues(1, n))
}

#[test]
fn a_train_csv_with_only_a_header_names_the_file_and_the_option() {
    let dir = folder(&[("train.csv", "id,dialogue,summary\n")]);
    let err = load_local("samsum", dir.path(), |_| {}).unwrap_err();
    assert!(matches!(err, DatasetError::EmptyFile { .. }), "{err}");
    assert_one_line(
        &err,
        &[
            &path_of(&dir, "train.csv"),
            "no records",
            "train split",
            "`data.samsum.train_file`",
        ],
    );
}

#[test]
fn empty_json_lines_and_empty_json_arrays_name_the_file() {
    let dir = folder(&[("train.jsonl", ""), ("train.json", "[]")]);
    for name in ["train.jsonl", "train.json"] {
        let err =
            load_local("samsum", dir.path(), |o| o.samsum.train_file = name.into()).unwrap_err();
        assert_one_line(&err, &[&path_of(&dir, name), "no records"]);
    }
    // newsgroups20 used to say that `label_text` or `label` was missing.
    let err = load_local("newsgroups20", dir.path(), |_| {}).unwrap_err();
    assert!(matches!(err, DatasetError::EmptyFile { .. }), "{err}");
    assert_one_line(
        &err,
        &[
            &path_of(&dir, "train.jsonl"),
            "no records",
            "`data.newsgroups20.train_file`",
        ],
    );
}

#[test]
fn an_empty_test_file_is_an_error_not_an_empty_test_split() {
    let rows = samsum_rows(10);
    let dir = folder(&[("train.csv", &rows), ("test.csv", "id,dialogue,summary\n")]);
    let err = load_local("samsum", dir.path(), |_| {}).unwrap_err();
    assert_one_line(
        &err,
        &[
            &path_of(&dir, "test.csv"),
            "no records",
            "test split",
            "`data.samsum.test_file`",
            "null to carve the split from train",
        ],
    );
    // Without the file, the test split is carved from train as documented.
    std::fs::remove_file(dir.path().join("test.csv")).unwrap();
    let task = load_local("samsum", dir.path(), |_| {}).unwrap();
    assert_eq!(task.splits.len(), 10);
    assert!(!task.splits.test.is_empty());
}

#[test]
fn a_ragged_csv_is_one_line() {
    let dir = folder(&[(
        "train.csv",
        "id,dialogue,summary\n1,a,b\n2,a,b,extra,fields\n",
    )]);
    let err = load_local("samsum", dir.path(), |_| {}).unwrap_err();
    assert!(matches!(err, DatasetError::DataFile { .. }), "{err}");
    assert_one_line(&err, &[&path_of(&dir, "train.csv"), "fix the file"]);
}

#[test]
fn a_label_outside_the_verbalizer_names_record_label_and_the_valid_labels() {
    let train = "{\"text\": \"about orbits\", \"label_text\": \"sci.space\"}\n\
                 {\"text\": \"about rockets\", \"label_text\": \"sci.spaceflight\"}\n";
    let dir = folder(&[("train.jsonl", train)]);
    let err = load_local("newsgroups20", dir.path(), |_| {}).unwrap_err();
    assert_one_line(
        &err,
        &[
            &path_of(&dir, "train.jsonl"),
            "record 2",
            "\"sci.spaceflight\"",
            &LABELS.join(", "),
            "fix the file",
        ],
    );
    // An integer label outside 0..19 names the valid range the same way.
    let dir = folder(&[("train.jsonl", "{\"text\": \"a\", \"label\": 20}\n")]);
    let err = load_local("newsgroups20", dir.path(), |_| {}).unwrap_err();
    assert_one_line(&err, &["record 1", "`label` 20", "0..19"]);
}

#[test]
fn a_text_field_of_the_wrong_type_names_file_record_and_field() {
    let mut rows: Vec<String> = fx::jsonl(&fx::dialogues(1, 4))
        .lines()
        .map(String::from)
        .collect();
    rows[2] = "{\"id\": \"x\", \"dialogue\": \"A: hi\", \"summary\": 5}".into();
    let dir = folder(&[("train.jsonl", &(rows.join("\n") + "\n"))]);
    let err = load_local("samsum", dir.path(), |o| {
        o.samsum.train_file = "train.jsonl".into()
    })
    .unwrap_err();
    assert!(matches!(err, DatasetError::FieldType { .. }), "{err}");
    assert_one_line(
        &err,
        &[
            &path_of(&dir, "train.jsonl"),
            "record 3",
            "field `summary` is a number",
            "a string",
            "fix the record",
        ],
    );
    let dir = folder(&[(
        "train.json",
        "[{\"id\": 1, \"dialogue\": [\"A: hi\"], \"summary\": \"s\"}]",
    )]);
    let err = load_local("samsum", dir.path(), |o| {
        o.samsum.train_file = "train.json".into()
    })
    .unwrap_err();
    assert_one_line(&err, &["record 1", "field `dialogue` is an array"]);
    // newsgroups20: the post text and the label name must be strings.
    for (record, field, found) in [
        ("{\"text\": 5, \"label\": 3}", "text", "a number"),
        (
            "{\"text\": \"a\", \"label_text\": 14}",
            "label_text",
            "a number",
        ),
        ("{\"text\": true, \"label\": 3}", "text", "a boolean"),
        ("{\"text\": \"a\", \"label\": [3]}", "label", "an array"),
    ] {
        let dir = folder(&[(
            "train.jsonl",
            &format!("{{\"text\": \"ok\", \"label\": 1}}\n{record}\n"),
        )]);
        let err = load_local("newsgroups20", dir.path(), |_| {}).unwrap_err();
        assert_one_line(
            &err,
            &[
                &path_of(&dir, "train.jsonl"),
                "record 2",
                &format!("field `{field}` is {found}"),
            ],
        );
    }
}

/// Documented behaviour: null (like an empty CSV cell) is a missing value,
/// which the task's own filters drop and count; ids and integer labels may be
/// JSON numbers.
#[test]
fn null_text_is_a_missing_value_that_the_filters_drop_and_count() {
    let mut rows: Vec<String> = fx::jsonl(&fx::dialogues(1, 12))
        .lines()
        .map(String::from)
        .collect();
    rows[4] = "{\"id\": 5, \"dialogue\": \"A: hi\", \"summary\": null}".into();
    rows[7] = "{\"id\": 8, \"dialogue\": null, \"summary\": \"s\"}".into();
    let dir = folder(&[("train.jsonl", &(rows.join("\n") + "\n"))]);
    let task = load_local("samsum", dir.path(), |o| {
        o.samsum.train_file = "train.jsonl".into();
        o.validation_fraction = 0.0;
        o.test_fraction = 0.0;
    })
    .unwrap();
    let kept: Vec<(&str, usize)> = task
        .filters
        .iter()
        .map(|f| (f.filter.as_str(), f.kept))
        .collect();
    assert_eq!(
        kept,
        [
            ("all rows", 12),
            ("dialogue is not empty", 11),
            ("summary is not empty", 10)
        ]
    );
    assert_eq!(task.splits.train.len(), 10);
}
