//! Tiny and emptied splits: options that empty a split are errors naming the
//! `data.*` key; a split of one example loads with a warning; fewer training
//! examples than the batch size give whole-set batches.

use crate::common;

use common::assert_one_line;
use loran_datasets::fixtures::samsum as fx;
use loran_datasets::{
    load_task, BatchIter, DatasetError, LoadedTask, TaskOptions, TokenizedExample,
};
use std::path::Path;

fn load_samsum(
    dir: &Path,
    tweak: impl FnOnce(&mut TaskOptions),
) -> Result<LoadedTask, DatasetError> {
    let mut o = TaskOptions::default();
    o.samsum.path = Some(dir.to_path_buf());
    tweak(&mut o);
    load_task(
        "samsum",
        &loran_assets::Store::new("/nonexistent-loran-store"),
        &o,
    )
}

/// A folder with a `train.csv` of `n` synthetic dialogues.
fn train_csv(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("train.csv"), fx::csv(&fx::dialogues(1, n))).unwrap();
    dir
}


#[test]
fn caps_of_zero_name_the_data_key() {
    let dir = train_csv(20);
    let err = load_samsum(dir.path(), |o| o.max_train_examples = Some(0)).unwrap_err();
    assert_one_line(&err, &["`data.max_train_examples` is 0", "leave it unset"]);
    // A test cap of 0 used to load an empty test split, which fails only after training.
    let err = load_samsum(dir.path(), |o| o.max_test_examples = Some(0)).unwrap_err();
    assert!(matches!(err, DatasetError::Options(_)), "{err}");
    assert_one_line(
        &err,
        &[
            "`data.max_test_examples` is 0",
            "leave it unset",
            "eval.max_examples",
        ],
    );
    let err = load_samsum(dir.path(), |o| {
        o.validation_fraction = 0.5;
        o.test_fraction = 0.5;
    })
    .unwrap_err();
    assert_one_line(
        &err,
        &["`data.validation_fraction` 0.5", "`data.test_fraction` 0.5"],
    );
}

#[test]
fn a_train_split_emptied_by_the_split_names_the_fractions_and_the_file() {
    // Two dialogues that both hash into validation or test with these fractions.
    let dir = train_csv(2);
    let err = load_samsum(dir.path(), |o| {
        o.validation_fraction = 0.5;
        o.test_fraction = 0.49;
        o.split_seed = 1;
    })
    .unwrap_err();
    assert!(matches!(err, DatasetError::EmptySplit { .. }), "{err}");
    assert_one_line(
        &err,
        &[
            "task `samsum`",
            &format!("{} [train.csv]", dir.path().display()),
            "the train split is empty",
            "2 examples",
            "`data.validation_fraction` 0.5",
            "`data.test_fraction` 0.49",
            "add data",
        ],
    );
}

#[test]
fn filters_that_remove_every_example_name_the_filter() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("train.csv"),
        "id,dialogue,summary\n1,,s\n2,  ,t\n",
    )
    .unwrap();
    let err = load_samsum(dir.path(), |_| {}).unwrap_err();
    assert!(matches!(err, DatasetError::EmptyDataset { .. }), "{err}");
    assert_one_line(
        &err,
        &["task `samsum`", "train.csv", "`dialogue is not empty`"],
    );
}

/// One training example is allowed (a smoke test can want it) but warned
/// about; so is a test split of zero or one example.
#[test]
fn a_one_example_split_loads_with_a_warning() {
    let dir = train_csv(1);
    let task = load_samsum(dir.path(), |o| {
        o.validation_fraction = 0.0;
        o.test_fraction = 0.0;
    })
    .unwrap();
    assert_eq!(task.splits.train.len(), 1);
    let warnings = task.split_warnings();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].contains("the train split has 1 example"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].contains("the test split is empty")
            && warnings[1].contains("data.test_fraction"),
        "{warnings:?}"
    );
    assert!(warnings
        .iter()
        .all(|w| !w.contains('\n') && w.starts_with("task `samsum`")));

    let task = load_samsum(train_csv(40).path(), |_| {}).unwrap();
    assert!(
        task.split_warnings().is_empty(),
        "{:?}",
        task.split_warnings()
    );
}

fn tokenized(n: u32) -> Vec<TokenizedExample> {
    (0..n)
        .map(|i| TokenizedExample {
            input_ids: vec![100 + i, 7, 2],
            loss_mask: vec![0, 1, 1],
            prompt_len: 1,
        })
        .collect()
}

#[test]
fn fewer_training_examples_than_the_batch_size_give_whole_set_batches() {
    let mut batches = BatchIter::new(tokenized(3), 8, 0, 5);
    assert_eq!(batches.batches_per_epoch(), 1);
    let mut orders = Vec::new();
    for epoch in 1..=6 {
        let b = batches.next().unwrap();
        assert_eq!(batches.epoch(), epoch, "every batch is a new epoch");
        assert_eq!(
            (b.batch_size, b.seq_len),
            (3, 3),
            "no padding rows, no repeats"
        );
        let mut rows = b.example_indices.clone();
        orders.push(rows.clone());
        rows.sort();
        assert_eq!(rows, [0, 1, 2]);
    }
    assert!(
        orders.windows(2).any(|w| w[0] != w[1]),
        "reshuffled each epoch: {orders:?}"
    );
    // A single example is a batch of one, every step.
    let mut one = BatchIter::new(tokenized(1), 4, 0, 0);
    assert!((0..3).all(|_| one.next().unwrap().example_indices == [0]));
}
