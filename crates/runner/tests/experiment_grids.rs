//! Every shipped grid (`experiments/<profile>/*.yaml`; `experiments/common/` holds the
//! files they `include:`) expands to the run ids and config hashes recorded in
//! `experiment_run_ids.txt`. Resuming and cross-grid reuse find finished cells by config
//! hash, so an edit to a grid, to a file it includes, or to a config default that moves
//! a hash orphans finished runs: this test makes that visible. When the move is intended,
//! rewrite the file with `LORAN_BLESS=1 cargo test -p loran-runner --test integration experiment_grids::`.

use loran_runner::grid::{expand, read_grid};
use std::path::{Path, PathBuf};

/// The folder of included files, which are not grids themselves.
const INCLUDED: &str = "common";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `experiments/<profile>/*.yaml`, relative to the repository root, sorted.
fn grid_files() -> Vec<PathBuf> {
    let root = repo_root();
    let mut files = Vec::new();
    for profile in std::fs::read_dir(root.join("experiments")).unwrap() {
        let profile = profile.unwrap().path();
        if !profile.is_dir() || profile.file_name().is_some_and(|n| n == INCLUDED) {
            continue;
        }
        for f in std::fs::read_dir(&profile).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "yaml") {
                files.push(f.strip_prefix(&root).unwrap().to_path_buf());
            }
        }
    }
    files.sort();
    files
}

/// One line per run: `<grid file> <run id> <config hash>`.
fn listing() -> String {
    let root = repo_root();
    let mut out = String::new();
    for file in grid_files() {
        let grid = read_grid(&root.join(&file)).unwrap_or_else(|e| panic!("{e:#}"));
        for cell in expand(&grid).unwrap_or_else(|e| panic!("{e:#}")) {
            out.push_str(&format!("{} {} {}\n", file.display(), cell.run_id, cell.config_hash));
        }
    }
    out
}

#[test]
fn shipped_grids_keep_their_run_ids_and_hashes() {
    let expected_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/experiment_run_ids.txt");
    let actual = listing();
    assert!(actual.lines().count() >= 200, "only {} runs in experiments/", actual.lines().count());
    if std::env::var_os("LORAN_BLESS").is_some() {
        std::fs::write(&expected_path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap();
    let missing: Vec<&str> = expected.lines().filter(|l| !actual.lines().any(|a| a == *l)).collect();
    let new: Vec<&str> = actual.lines().filter(|l| !expected.lines().any(|e| e == *l)).collect();
    assert!(
        missing.is_empty() && new.is_empty() && actual == expected,
        "the shipped grids' runs changed (finished runs would no longer be found); if intended, rerun with LORAN_BLESS=1\n\
         gone ({}):\n{}\nnew ({}):\n{}",
        missing.len(),
        missing.join("\n"),
        new.len(),
        new.join("\n")
    );
}
