//! samsum through the hf-hub cache layout and from local files, on
//! synthetic dialogues (no network, no real assets).

use loran_datasets::fixtures::{samsum as fx, write_hub_dataset};
use loran_datasets::hashing::{manifest_sha256, sha256_hex};
use loran_datasets::{load_task, Example, LoadedTask, PromptStyle, TaskKind, TaskOptions};
use std::collections::BTreeSet;
use std::path::Path;

/// Nothing listens on port 1, so a download attempt fails at once.
const NO_HUB: &str = "http://127.0.0.1:1";

fn opts(cache: &Path) -> TaskOptions {
    let mut o = TaskOptions::default();
    o.samsum.cache_dir = Some(cache.to_path_buf());
    o.samsum.endpoint = Some(NO_HUB.to_string());
    o
}

fn load(o: &TaskOptions) -> Result<LoadedTask, loran_datasets::DatasetError> {
    let store = loran_assets::Store::new("/nonexistent-loran-store");
    load_task("samsum", &store, o)
}

fn ids(split: &[Example]) -> BTreeSet<String> {
    split.iter().map(|e| e.id.clone()).collect()
}

fn id_range(first: usize, n: usize) -> BTreeSet<String> {
    (first..first + n)
        .map(|i| format!("synthetic-{i:04}"))
        .collect()
}

#[test]
fn hub_cache_gives_the_datasets_own_splits_fields_and_prompts() {
    let cache = tempfile::tempdir().unwrap();
    let snapshot = fx::write_hub_csv(cache.path(), (12, 4, 5)).unwrap();
    let task = load(&opts(cache.path())).unwrap();

    assert_eq!(task.name, "samsum");
    assert_eq!(task.kind, TaskKind::Summarization);
    assert_eq!(ids(&task.splits.train), id_range(1, 12));
    assert_eq!(ids(&task.splits.validation), id_range(13, 4));
    assert_eq!(ids(&task.splits.test), id_range(17, 5));

    // Quoted multi-line CSV fields survive, with commas and doubled quotes;
    // the CSV's \r\n line breaks become \n.
    let ex = task
        .splits
        .train
        .iter()
        .find(|e| e.id == "synthetic-0002")
        .unwrap();
    assert_eq!(
        ex.input,
        "Chloe: (synthetic dialogue 2) can you pick up the keys from \"Mo's\"?\nDev: sure, I'll pick up the keys from \"Mo's\".\nChloe: thanks!"
    );
    assert_eq!(ex.target, "Dev will pick up the keys from Mo's for Chloe.");
    let ex = task
        .splits
        .train
        .iter()
        .find(|e| e.id == "synthetic-0005")
        .unwrap();
    assert!(
        ex.input.contains("bring the cake, with candles?\n"),
        "{:?}",
        ex.input
    );

    let (prompt, target) = task.template.render(ex);
    assert!(prompt.contains("Summarize this dialogue"), "{prompt}");
    assert!(
        prompt.contains(&format!("Dialogue:\n{}", ex.input)),
        "{prompt}"
    );
    assert_eq!(target, ex.target);
    let plain = loran_datasets::loaders::samsum::template(&TaskOptions {
        prompt_style: PromptStyle::Plain,
        ..TaskOptions::default()
    });
    assert!(plain
        .render_prompt(&ex.input)
        .ends_with("thanks!\n\nSummary:"));

    // Provenance: the snapshot commit and the sha256 of each file by name.
    let commit = snapshot.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(
        task.source,
        format!("hf://datasets/knkarthick/samsum@main (commit {commit}): train.csv, validation.csv, test.csv")
    );
    let file_sha = |name: &str| sha256_hex(&std::fs::read(snapshot.join(name)).unwrap());
    let expected = manifest_sha256(
        &["train.csv", "validation.csv", "test.csv"].map(|n| (n.to_string(), file_sha(n))),
    );
    assert_eq!(task.data_sha256, expected);
    let steps: Vec<(&str, usize)> = task
        .filters
        .iter()
        .map(|f| (f.filter.as_str(), f.kept))
        .collect();
    assert_eq!(
        steps,
        [
            ("all rows", 21),
            ("dialogue is not empty", 21),
            ("summary is not empty", 21)
        ]
    );
}

#[test]
fn caps_take_a_seeded_subset_in_hash_order() {
    let cache = tempfile::tempdir().unwrap();
    fx::write_hub_csv(cache.path(), (30, 6, 6)).unwrap();
    let capped = |seed| {
        let mut o = opts(cache.path());
        o.split_seed = seed;
        o.max_train_examples = Some(5);
        o.max_test_examples = Some(2);
        load(&o).unwrap()
    };
    let a = capped(0);
    assert_eq!(
        (
            a.splits.train.len(),
            a.splits.validation.len(),
            a.splits.test.len()
        ),
        (5, 6, 2)
    );
    let units: Vec<f64> = a
        .splits
        .train
        .iter()
        .map(|e| loran_datasets::split_unit(&e.id, 0))
        .collect();
    assert!(units.windows(2).all(|w| w[0] <= w[1]), "{units:?}");
    assert_eq!(capped(0).splits.train, a.splits.train);
    assert_ne!(ids(&capped(1).splits.train), ids(&a.splits.train));
    assert!(ids(&a.splits.test).is_subset(&id_range(37, 6)));
}

#[test]
fn json_lines_and_json_arrays_load_the_same_examples_as_csv() {
    let cache = tempfile::tempdir().unwrap();
    fx::write_hub_csv(cache.path(), (8, 3, 3)).unwrap();
    let from_csv = load(&opts(cache.path())).unwrap();

    let local = tempfile::tempdir().unwrap();
    let [train, validation, test] = fx::splits((8, 3, 3));
    std::fs::write(local.path().join("train.jsonl"), fx::jsonl(&train)).unwrap();
    std::fs::write(
        local.path().join("validation.json"),
        fx::json_array(&validation),
    )
    .unwrap();
    std::fs::write(local.path().join("test.jsonl"), fx::jsonl(&test)).unwrap();
    let mut o = opts(cache.path());
    o.samsum.path = Some(local.path().to_path_buf());
    o.samsum.train_file = "train.jsonl".into();
    o.samsum.validation_file = Some("validation.json".into());
    o.samsum.test_file = Some("test.jsonl".into());
    let from_json = load(&o).unwrap();
    assert_eq!(from_json.splits, from_csv.splits);
    assert_eq!(
        from_json.source,
        format!(
            "{}: train.jsonl, validation.json, test.jsonl",
            local.path().display()
        )
    );
    assert_ne!(from_json.data_sha256, from_csv.data_sha256);
}

#[cfg(feature = "parquet")]
#[test]
fn parquet_loads_the_same_examples_as_csv() {
    use polars::prelude::{df, ParquetWriter};
    let cache = tempfile::tempdir().unwrap();
    fx::write_hub_csv(cache.path(), (8, 3, 3)).unwrap();
    let from_csv = load(&opts(cache.path())).unwrap();
    let local = tempfile::tempdir().unwrap();
    for (name, rows) in ["train", "validation", "test"]
        .iter()
        .zip(fx::splits((8, 3, 3)))
    {
        let column =
            |f: fn(&fx::DialogueRow) -> &String| rows.iter().map(f).cloned().collect::<Vec<_>>();
        let mut frame = df!(
            "id" => column(|r| &r.id),
            "dialogue" => column(|r| &r.dialogue),
            "summary" => column(|r| &r.summary),
        )
        .unwrap();
        let file = std::fs::File::create(local.path().join(format!("{name}.parquet"))).unwrap();
        ParquetWriter::new(file).finish(&mut frame).unwrap();
    }
    let mut o = opts(cache.path());
    o.samsum.path = Some(local.path().to_path_buf());
    o.samsum.train_file = "train.parquet".into();
    o.samsum.validation_file = Some("validation.parquet".into());
    o.samsum.test_file = Some("test.parquet".into());
    assert_eq!(load(&o).unwrap().splits, from_csv.splits);
}

#[test]
fn a_local_folder_without_a_validation_file_carves_it_from_train() {
    let local = tempfile::tempdir().unwrap();
    let [train, _, test] = fx::splits((40, 0, 3));
    std::fs::write(local.path().join("train.csv"), fx::csv(&train)).unwrap();
    std::fs::write(local.path().join("test.csv"), fx::csv(&test)).unwrap();
    let mut o = opts(local.path());
    o.samsum.path = Some(local.path().to_path_buf());
    o.validation_fraction = 0.25;
    let task = load(&o).unwrap();
    assert_eq!(ids(&task.splits.test), id_range(41, 3));
    assert!(!task.splits.validation.is_empty());
    assert_eq!(task.splits.train.len() + task.splits.validation.len(), 40);
    assert!(ids(&task.splits.validation).is_subset(&id_range(1, 40)));
}

#[test]
fn a_file_missing_offline_names_repo_file_cache_and_fixes() {
    let cache = tempfile::tempdir().unwrap();
    let err = load(&opts(cache.path())).unwrap_err().to_string();
    eprintln!("offline miss: {err}");
    let folder = cache.path().join("datasets--knkarthick--samsum");
    for needle in [
        "task `samsum`: `train.csv` of hub dataset `knkarthick/samsum` (revision `main`) is not in the hub cache",
        &format!("(looked in {})", folder.display()),
        "run once with network access",
        "HF_HOME",
        "`data.samsum.cache_dir`",
        "`data.samsum.path`",
    ] {
        assert!(err.contains(needle), "{needle:?} not in: {err}");
    }
}

#[test]
fn a_missing_column_names_the_file_and_the_columns_it_has() {
    let cache = tempfile::tempdir().unwrap();
    let no_summary = "id,dialogue\nsynthetic-0001,\"A: hi\nB: hello\"\n";
    let snapshot = write_hub_dataset(
        cache.path(),
        fx::REPO,
        "main",
        &[
            ("train.csv", no_summary.as_bytes()),
            ("validation.csv", no_summary.as_bytes()),
            ("test.csv", no_summary.as_bytes()),
        ],
    )
    .unwrap();
    let err = load(&opts(cache.path())).unwrap_err().to_string();
    eprintln!("missing column: {err}");
    let file = snapshot.join("train.csv");
    assert!(
        err.starts_with(&format!(
            "{}: field `summary` is missing (it has: id, dialogue)",
            file.display()
        )),
        "{err}"
    );
    assert!(
        err.contains("`id`, `dialogue`, `summary`") && err.contains("data.samsum.path"),
        "{err}"
    );
}
