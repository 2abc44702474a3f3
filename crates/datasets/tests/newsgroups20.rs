//! newsgroups20 through the hf-hub cache (SetFit's JSON lines) and from
//! sklearn's `20news-bydate-*` folders, on synthetic posts (no network).

use loran_datasets::fixtures::{newsgroups as fx, write_hub_dataset};
use loran_datasets::loaders::newsgroups20::LABELS;
use loran_datasets::{load_task, Example, LoadedTask, TaskKind, TaskOptions};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Nothing listens on port 1, so a download attempt fails at once.
const NO_HUB: &str = "http://127.0.0.1:1";
const GROUPS: [&str; 4] = [
    "comp.graphics",
    "rec.autos",
    "sci.space",
    "talk.politics.guns",
];

fn hub_opts(cache: &Path) -> TaskOptions {
    let mut o = TaskOptions::default();
    o.newsgroups20.cache_dir = Some(cache.to_path_buf());
    o.newsgroups20.endpoint = Some(NO_HUB.to_string());
    o
}

fn folder_opts(root: &Path) -> TaskOptions {
    let mut o = hub_opts(root);
    o.newsgroups20.path = Some(root.to_path_buf());
    o
}

fn load(o: &TaskOptions) -> Result<LoadedTask, loran_datasets::DatasetError> {
    load_task(
        "newsgroups20",
        &loran_assets::Store::new("/nonexistent-loran-store"),
        o,
    )
}

fn ids(split: &[Example]) -> BTreeSet<String> {
    split.iter().map(|e| e.id.clone()).collect()
}

fn all(task: &LoadedTask) -> Vec<&Example> {
    task.splits
        .named()
        .into_iter()
        .flat_map(|(_, s)| s.iter())
        .collect()
}

fn twenty_labels() -> TaskKind {
    TaskKind::Classification {
        labels: LABELS.iter().map(|l| l.to_string()).collect(),
    }
}

#[test]
fn setfit_files_in_the_hub_cache_give_train_test_and_a_carved_validation() {
    let cache = tempfile::tempdir().unwrap();
    let snapshot = fx::write_setfit_hub(cache.path(), 40, 12, &GROUPS).unwrap();
    let mut o = hub_opts(cache.path());
    o.validation_fraction = 0.25;
    let task = load(&o).unwrap();
    assert_eq!(task.kind, twenty_labels());
    assert_eq!(task.splits.test.len(), 12);
    assert!(task.splits.test.iter().all(|e| e.id.starts_with("test-")));
    assert_eq!(task.splits.train.len() + task.splits.validation.len(), 40);
    assert!(!task.splits.validation.is_empty());
    assert!(task
        .splits
        .validation
        .iter()
        .all(|e| e.id.starts_with("train-")));
    for ex in all(&task) {
        let row: usize = ex.id.rsplit('-').next().unwrap().parse().unwrap();
        assert_eq!(ex.target, GROUPS[row % GROUPS.len()], "{ex:?}");
        assert!(
            ex.input.starts_with(&format!("(synthetic post {row})")),
            "{ex:?}"
        );
    }
    let commit = snapshot.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(
        task.source,
        format!(
            "hf://datasets/SetFit/20_newsgroups@main (commit {commit}): train.jsonl, test.jsonl"
        )
    );

    let prompt = task.template.render_prompt(&task.splits.test[0].input);
    assert!(prompt.contains("Which newsgroup"), "{prompt}");
    assert!(prompt.contains(&LABELS.join(", ")), "{prompt}");
    assert!(prompt.contains("Post:\n(synthetic post"), "{prompt}");
}

#[test]
fn empty_posts_are_dropped_and_labels_are_checked() {
    let cache = tempfile::tempdir().unwrap();
    let train = "{\"text\": \"about orbits\", \"label\": 14, \"label_text\": \"sci.space\"}\n\
                 {\"text\": \"  \", \"label\": 7, \"label_text\": \"rec.autos\"}\n\
                 {\"text\": \"about engines\", \"label\": 7}\n";
    let test = "{\"text\": \"about cars\", \"label\": 3, \"label_text\": \"rec.autos\"}\n";
    let snapshot = write_hub_dataset(
        cache.path(),
        fx::REPO,
        "main",
        &[
            ("train.jsonl", train.as_bytes()),
            ("test.jsonl", test.as_bytes()),
        ],
    )
    .unwrap();
    let err = load(&hub_opts(cache.path())).unwrap_err().to_string();
    assert!(
        err.contains(&snapshot.join("test.jsonl").display().to_string()),
        "{err}"
    );
    assert!(
        err.contains(
            "record 1: `label_text` rec.autos disagrees with `label` (comp.sys.ibm.pc.hardware)"
        ),
        "{err}"
    );

    let mut o = hub_opts(cache.path());
    o.newsgroups20.test_file = None;
    o.validation_fraction = 0.0;
    o.test_fraction = 0.0;
    let task = load(&o).unwrap();
    let targets: BTreeMap<String, String> = all(&task)
        .iter()
        .map(|e| (e.id.clone(), e.target.clone()))
        .collect();
    let expected: BTreeMap<String, String> =
        [("train-00000", "sci.space"), ("train-00002", "rec.autos")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
    assert_eq!(targets, expected);
    let steps: Vec<(&str, usize)> = task
        .filters
        .iter()
        .map(|f| (f.filter.as_str(), f.kept))
        .collect();
    assert_eq!(steps, [("all posts", 3), ("text is not empty", 2)]);
}

#[test]
fn sklearn_folders_give_labels_from_folders_without_headers() {
    let root = tempfile::tempdir().unwrap();
    fx::write_bydate(root.path(), &["rec.autos", "sci.space"], 10, 5).unwrap();
    let task = load(&folder_opts(root.path())).unwrap();
    assert_eq!(task.kind, twenty_labels());
    assert_eq!(task.splits.test.len(), 10);
    assert_eq!(task.splits.train.len() + task.splits.validation.len(), 20);
    for ex in all(&task) {
        let group = ex.id.split('/').nth(1).unwrap();
        assert_eq!(ex.target, group);
        for header in [
            "From:",
            "Subject:",
            "Organization:",
            "Newsgroups:",
            "Lines:",
            "synthetic.example",
        ] {
            assert!(!ex.input.contains(header), "{header} leaked into {ex:?}");
        }
        assert!(ex.input.starts_with("(synthetic post "), "{ex:?}");
    }
    assert!(task
        .splits
        .test
        .iter()
        .all(|e| e.id.starts_with("20news-bydate-test/")));
    let first = all(&task)
        .into_iter()
        .find(|e| e.id == "20news-bydate-train/rec.autos/50001")
        .unwrap();
    assert!(
        first.input.ends_with("Café talk."),
        "latin-1 decoding: {first:?}"
    );
    assert_eq!(
        task.source,
        format!(
            "{} (20news-bydate-train, 20news-bydate-test)",
            root.path().display()
        )
    );

    let mut keep = folder_opts(root.path());
    keep.newsgroups20.strip_headers = false;
    let raw = load(&keep).unwrap();
    assert!(all(&raw)
        .iter()
        .all(|e| e.input.starts_with("From: poster")));
}

#[test]
fn splits_are_seeded_and_deterministic_and_label_order_is_fixed() {
    let root = tempfile::tempdir().unwrap();
    fx::write_bydate(root.path(), &GROUPS, 15, 3).unwrap();
    let with_seed = |seed| {
        let mut o = folder_opts(root.path());
        o.split_seed = seed;
        o.validation_fraction = 0.2;
        load(&o).unwrap()
    };
    let (a, again, other) = (with_seed(7), with_seed(7), with_seed(8));
    assert_eq!(a.splits, again.splits);
    assert_eq!(a.kind, twenty_labels());
    assert_eq!(other.kind, a.kind);
    assert!(!a.splits.validation.is_empty());
    assert_ne!(ids(&a.splits.validation), ids(&other.splits.validation));
    assert_eq!(
        ids(&a.splits.test),
        ids(&other.splits.test),
        "the test split is the dataset's own"
    );
    let pool = |t: &LoadedTask| &ids(&t.splits.train) | &ids(&t.splits.validation);
    assert_eq!(pool(&a), pool(&other));
    assert_eq!(a.data_sha256, other.data_sha256);
}

#[test]
fn data_hash_covers_every_post_and_unknown_groups_are_errors() {
    let root = tempfile::tempdir().unwrap();
    fx::write_bydate(root.path(), &["rec.autos"], 2, 1).unwrap();
    let before = load(&folder_opts(root.path())).unwrap().data_sha256;
    std::fs::write(
        root.path().join("20news-bydate-test/rec.autos/50003"),
        fx::raw_post("rec.autos", 9),
    )
    .unwrap();
    let after = load(&folder_opts(root.path())).unwrap().data_sha256;
    assert_ne!(before, after);

    std::fs::create_dir_all(root.path().join("20news-bydate-train/rec.cooking")).unwrap();
    std::fs::write(
        root.path().join("20news-bydate-train/rec.cooking/1"),
        fx::raw_post("rec.cooking", 1),
    )
    .unwrap();
    let err = load(&folder_opts(root.path())).unwrap_err().to_string();
    assert!(
        err.contains("`rec.cooking` is not one of the 20 newsgroups")
            && err.contains("data.newsgroups20.path"),
        "{err}"
    );
}

#[test]
fn a_missing_hub_file_offline_names_repo_file_and_cache() {
    let cache = tempfile::tempdir().unwrap();
    let err = load(&hub_opts(cache.path())).unwrap_err().to_string();
    assert!(
        err.contains("`train.jsonl` of hub dataset `SetFit/20_newsgroups`"),
        "{err}"
    );
    assert!(
        err.contains(
            &cache
                .path()
                .join("datasets--SetFit--20_newsgroups")
                .display()
                .to_string()
        ),
        "{err}"
    );
    assert!(err.contains("`data.newsgroups20.path`"), "{err}");
}
