//! Nothing the build or the tests read lies outside the repository: a fresh clone with
//! nothing beside it must pass `just test`. This scans the sources for relative paths
//! that climb above the repository root, and for the old reference folder beside it.

use std::path::{Component, Path, PathBuf};

/// The repository root (this crate sits at `crates/runner`).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// How many directories below the repository root `dir` is.
fn depth(dir: &Path) -> usize {
    dir.components().filter(|c| matches!(c, Component::Normal(_))).count()
}

/// The folder a relative path on this line is resolved from: the file's own folder for
/// `#[path]` and `include_*!`, the crate root for everything else in a crate (cargo runs
/// build scripts and tests there, and `CARGO_MANIFEST_DIR` names it), the repository
/// root elsewhere (the justfile, `.ci/run` and `bench/` run from it).
fn base_dir(file: &Path, line: &str) -> PathBuf {
    let dir = file.parent().unwrap_or(Path::new("")).to_path_buf();
    if ["#[path", "include_str!", "include_bytes!", "include!("].iter().any(|k| line.contains(k)) {
        return dir;
    }
    let mut parts = file.components();
    match (parts.next(), parts.next()) {
        (Some(Component::Normal(c)), Some(Component::Normal(name))) if c == "crates" => Path::new("crates").join(name),
        _ => PathBuf::new(),
    }
}

/// Every problem on one line of `file` (a path relative to the repository root).
fn problems_in_line(file: &Path, line_no: usize, line: &str) -> Vec<String> {
    let mut found = Vec::new();
    let old_folder = ["shared", "/reference"].concat();
    if line.contains(&old_folder) {
        found.push(format!("{}:{line_no}: names `{old_folder}`; the vectors live in tests/reference", file.display()));
    }
    let base = depth(&base_dir(file, line));
    let bytes = line.as_bytes();
    let mut i = 0;
    while let Some(at) = line[i..].find("../") {
        let start = i + at;
        let mut climbs = 0;
        let mut j = start;
        while line[j..].starts_with("../") {
            climbs += 1;
            j += 3;
        }
        if line[j..].starts_with("..") && !line[j..].starts_with("...") {
            climbs += 1;
        }
        let starts_run = start == 0 || bytes[start - 1] != b'.';
        if starts_run && climbs > base {
            found.push(format!(
                "{}:{line_no}: `{}` climbs {climbs} folder(s) from a folder {base} below the repository root",
                file.display(),
                line[start..].split(['"', '\'', ' ', ')']).next().unwrap_or("")
            ));
        }
        i = j.max(start + 1);
    }
    found
}

fn scanned(rel: &Path) -> bool {
    let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let ext = rel.extension().and_then(|e| e.to_str()).unwrap_or("");
    let top = rel.components().next().and_then(|c| c.as_os_str().to_str()).unwrap_or("");
    match top {
        "crates" => matches!(ext, "rs" | "toml"),
        "bench" => matches!(ext, "py" | "sh"),
        _ => matches!(name, "justfile" | "Cargo.toml" | "run"),
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let rel = path.strip_prefix(root).unwrap().to_path_buf();
        let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if !matches!(name, "target" | ".git" | "results" | "notebooks" | "__pycache__") {
                walk(root, &path, out);
            }
        } else if scanned(&rel) {
            out.push(rel);
        }
    }
}

#[test]
fn no_source_reads_outside_the_repository() {
    let root = repo_root();
    let mut files = Vec::new();
    walk(&root, &root, &mut files);
    let this_file = Path::new("crates/runner/tests/repo_paths.rs");
    assert!(files.iter().any(|f| f == this_file), "the scan must reach crates/: {files:?}");
    assert!(files.iter().any(|f| f == Path::new(".ci/run")) && files.iter().any(|f| f == Path::new("justfile")));
    let mut problems = Vec::new();
    for file in files.iter().filter(|f| f.as_path() != this_file) {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        for (n, line) in text.lines().enumerate() {
            problems.extend(problems_in_line(file, n + 1, line));
        }
    }
    assert!(problems.is_empty(), "{} path(s) leave the repository:\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn the_scan_flags_climbs_and_passes_paths_that_stay_inside() {
    let test = Path::new("crates/adapters/tests/lora_reference.rs");
    // This file is left out of the scan, so it may spell the bad paths out.
    assert_eq!(problems_in_line(test, 3, "join(\"../../../elsewhere/x\")").len(), 1);
    // Built, not spelled out, so that no source line of the repository holds the climb itself.
    let both = format!("concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/{}/shared/reference\")", ["..", "..", ".."].join("/"));
    assert_eq!(problems_in_line(test, 3, &both).len(), 2, "the climb and the old folder's name");
    assert!(problems_in_line(test, 3, "join(\"../../tests/reference\")").is_empty());
    assert_eq!(problems_in_line(test, 3, "join(\"../../..\")").len(), 1, "a bare `..` at the end counts");
    // `#[path]` resolves from the file's folder, two below the crate root here.
    let nested = Path::new("crates/runner/tests/sub/x.rs");
    assert!(problems_in_line(nested, 1, "#[path = \"../../../../bench/x.rs\"]").is_empty());
    assert_eq!(problems_in_line(nested, 1, "#[path = \"../../../../../x.rs\"]").len(), 1);
    // At the top level any climb leaves.
    assert_eq!(problems_in_line(Path::new("justfile"), 1, "cat ../notes.txt").len(), 1);
    assert!(problems_in_line(Path::new("justfile"), 1, "echo ... and more").is_empty());
}
