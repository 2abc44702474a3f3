//! Which code revisions a grid's finished runs came from.
//!
//! A finished cell is skipped on a rerun whatever code it ran with (its key is the
//! config hash), so after a code change a grid can mix numbers from two revisions: a
//! change to dropout masks, say, moves every trained cell. Each `result.json` records
//! `git` (the commit hash, with `-dirty` for uncommitted changes: `run::env::git_revision`); the
//! report names the revisions when there is more than one.

use super::LoadedRun;
use loran_train::record::RunStatus;
use std::collections::BTreeMap;

/// The `git` revision of every finished (`ok` or `diverged`) run with how many runs
/// have it, most runs first (ties by revision).
pub fn code_revisions(runs: &[LoadedRun]) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for run in runs.iter().filter(|r| r.result.status != RunStatus::Failed) {
        *counts.entry(run.result.git.as_str()).or_default() += 1;
    }
    let mut revisions: Vec<(String, usize)> = counts.into_iter().map(|(rev, n)| (rev.to_owned(), n)).collect();
    revisions.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    revisions
}

/// A one-line warning when the runs come from more than one revision, else `None`.
pub fn mixed_revisions_note(revisions: &[(String, usize)]) -> Option<String> {
    if revisions.len() < 2 {
        return None;
    }
    let listed: Vec<String> = revisions.iter().map(|(rev, n)| format!("{} ({n} run{})", short(rev), if *n == 1 { "" } else { "s" })).collect();
    Some(format!(
        "the runs come from {} code revisions: {}; a code change can move every number, so rerun the older cells \
         before comparing them (delete their folders under runs/ and run the grid again; `--force` reruns every cell)",
        revisions.len(),
        listed.join(", ")
    ))
}

/// A commit hash cut to 7 characters, keeping a `-dirty` suffix.
fn short(revision: &str) -> String {
    let (hash, dirty) = match revision.strip_suffix("-dirty") {
        Some(hash) => (hash, "-dirty"),
        None => (revision, ""),
    };
    let is_hash = hash.len() > 7 && hash.chars().all(|c| c.is_ascii_hexdigit());
    if is_hash { format!("{}{dirty}", &hash[..7]) } else { revision.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::result;
    use std::path::PathBuf;

    fn run(seed: u64, git: &str, status: RunStatus) -> LoadedRun {
        let mut r = result("lora", "news", seed, &[("rougeL", 0.1)]);
        r.git = git.into();
        r.status = status;
        LoadedRun { dir: PathBuf::from(format!("runs/{seed}")), result: r, steps: Vec::new(), predictions: None, config: None }
    }

    #[test]
    fn one_revision_gives_no_note_and_failed_runs_do_not_count() {
        let runs = [run(0, "aaa", RunStatus::Ok), run(1, "aaa", RunStatus::Diverged), run(2, "bbb", RunStatus::Failed)];
        assert_eq!(code_revisions(&runs), vec![("aaa".to_owned(), 2)]);
        assert_eq!(mixed_revisions_note(&code_revisions(&runs)), None);
    }

    #[test]
    fn two_revisions_are_named_most_runs_first_with_short_hashes() {
        let new = "97ddd4fd9f8d8e56edcdbbd9409bbd8341e5989c";
        let old = "edf354c6e3988e9771b27a7f17e574e7d6103862-dirty";
        let runs = [run(0, old, RunStatus::Ok), run(1, new, RunStatus::Ok), run(2, new, RunStatus::Ok)];
        let revisions = code_revisions(&runs);
        assert_eq!(revisions, vec![(new.to_owned(), 2), (old.to_owned(), 1)]);
        let note = mixed_revisions_note(&revisions).unwrap();
        assert!(note.starts_with("the runs come from 2 code revisions: 97ddd4f (2 runs), edf354c-dirty (1 run); "), "{note}");
        assert!(!note.contains('\n'));
    }

    #[test]
    fn render_warns_and_notes_the_table_when_a_grid_mixes_revisions() {
        use crate::test_support::{steps, write_run};
        let grid = tempfile::tempdir().unwrap();
        for (seed, git) in [(0, "aaa"), (1, "aaa"), (2, "bbb")] {
            let mut r = result("lora", "news", seed, &[("rougeL", 0.1 + seed as f64 / 100.0)]);
            r.git = git.into();
            write_run(grid.path(), &r, &steps());
        }
        let rendered = crate::render(grid.path()).unwrap();
        let warning = rendered.mixed_revisions.expect("3 runs from 2 revisions");
        assert!(warning.contains("2 code revisions: aaa (2 runs), bbb (1 run)"), "{warning}");
        let table = std::fs::read_to_string(grid.path().join("table.md")).unwrap();
        assert!(table.contains(&format!("- {warning}")), "{table}");
    }

    #[test]
    fn a_revision_that_is_not_a_hash_is_kept_whole() {
        assert_eq!(short("unknown"), "unknown");
        assert_eq!(short("abc123-dirty"), "abc123-dirty");
    }
}
