//! The manifest as `Store::file` sees it: extraction records it, reads check it.

use super::*;
use crate::catalog::{Asset, Client};
use crate::store::{Outcome, Store};
use crate::testutil::{fake_pip, fixture_asset};
use std::time::{Duration, UNIX_EPOCH};

/// sha256 of `hello`, the content of the fixture's `pkg/data.txt`.
const HELLO_SHA: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

/// A store under `dir` with the fixture package fetched and extracted.
fn fetched(dir: &Path) -> (Store, Asset) {
    let (asset, source) = fixture_asset(dir, "fixture-1.0-py3-none-any.whl");
    let store = Store::new(dir.join("home")).with_client_command(Client::Pip, fake_pip(dir, &source));
    assert_eq!(store.ensure(&asset).unwrap(), Outcome::Fetched);
    (store, asset)
}

/// Overwrites `path` with `bytes` and sets its modification time to `modified`.
fn rewrite(path: &Path, bytes: &[u8], modified: SystemTime) {
    fs::write(path, bytes).unwrap();
    fs::File::options().write(true).open(path).unwrap().set_modified(modified).unwrap();
}

/// A modification time surely different from the extraction's.
fn long_ago() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_000_000_000)
}

#[test]
fn extraction_records_every_file_next_to_the_unchanged_marker() {
    let dir = tempfile::tempdir().unwrap();
    let (store, asset) = fetched(dir.path());
    let pkg = store.package_dir(&asset);
    assert_eq!(fs::read_to_string(pkg.join(".loran-complete")).unwrap(), asset.sha256);
    let manifest = Manifest::read(&pkg, asset.key).unwrap().expect("a manifest");
    let listed: Vec<(&str, u64)> = manifest.entries.iter().map(|(p, e)| (p.as_str(), e.size)).collect();
    assert_eq!(listed, vec![("pkg/data.txt", 5), ("pkg/sub/b.txt", 1)]);
    assert_eq!(manifest.entries["pkg/data.txt"].sha256, HELLO_SHA);
    let text = fs::read_to_string(pkg.join(MANIFEST_FILE)).unwrap();
    assert_eq!(text.lines().next(), Some("loran-manifest 1"));
    assert!(text.contains(&format!("{HELLO_SHA} 5 pkg/data.txt\n")), "{text}");
}

#[test]
fn untouched_package_passes() {
    let dir = tempfile::tempdir().unwrap();
    let (store, asset) = fetched(dir.path());
    for relative in ["pkg/data.txt", "pkg/data.txt", "pkg/sub/b.txt", "pkg", "pkg/sub/", "."] {
        let path = store.file(&asset, relative).unwrap_or_else(|e| panic!("{relative}: {e}"));
        assert!(path.exists());
    }
}

#[test]
fn truncated_file_is_reported_by_size() {
    let dir = tempfile::tempdir().unwrap();
    let (store, asset) = fetched(dir.path());
    let data = store.package_dir(&asset).join("pkg/data.txt");
    fs::write(&data, "hel").unwrap();
    match store.file(&asset, "pkg/data.txt").unwrap_err() {
        AssetError::FileChanged { key, path, mismatch, .. } => {
            assert_eq!((key.as_str(), path), ("fixture", data));
            assert_eq!(mismatch, Mismatch::Size { expected: 5, actual: 3 });
        }
        other => panic!("expected FileChanged, got {other}"),
    }
}

#[test]
fn same_size_changed_byte_is_reported_by_sha256_even_after_a_good_read() {
    let dir = tempfile::tempdir().unwrap();
    let (store, asset) = fetched(dir.path());
    store.file(&asset, "pkg/data.txt").unwrap();
    let data = store.package_dir(&asset).join("pkg/data.txt");
    rewrite(&data, b"hellO", long_ago());
    match store.file(&asset, "pkg/data.txt").unwrap_err() {
        AssetError::FileChanged { path, mismatch: Mismatch::Sha256 { expected, actual }, .. } => {
            assert_eq!(path, data);
            assert_eq!(expected, HELLO_SHA);
            assert_eq!(actual, sha256_file(&data).unwrap());
        }
        other => panic!("expected a sha256 FileChanged, got {other}"),
    }
}

#[test]
fn sha256_is_hashed_once_per_unchanged_file() {
    let dir = tempfile::tempdir().unwrap();
    let (store, asset) = fetched(dir.path());
    let data = store.package_dir(&asset).join("pkg/data.txt");
    rewrite(&data, b"hello", long_ago());
    store.file(&asset, "pkg/data.txt").unwrap();
    // Same size, same modification time: the memo answers, the file is not read again.
    rewrite(&data, b"jello", long_ago());
    store.file(&asset, "pkg/data.txt").expect("memoized");
    // A new modification time makes it hash again.
    rewrite(&data, b"jello", long_ago() + Duration::from_secs(1));
    assert!(matches!(store.file(&asset, "pkg/data.txt"), Err(AssetError::FileChanged { .. })));
}

#[test]
fn folder_request_checks_the_files_beneath_it() {
    let dir = tempfile::tempdir().unwrap();
    let (store, asset) = fetched(dir.path());
    let b = store.package_dir(&asset).join("pkg/sub/b.txt");
    fs::write(&b, "").unwrap();
    for relative in ["pkg/sub", "pkg/sub/", "pkg", "."] {
        match store.file(&asset, relative) {
            Err(AssetError::FileChanged { path, .. }) => assert_eq!(path, b, "{relative}"),
            other => panic!("{relative}: expected FileChanged, got {other:?}"),
        }
    }
    store.file(&asset, "pkg/data.txt").unwrap();
}

#[test]
fn listed_file_that_is_gone_is_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let (store, asset) = fetched(dir.path());
    let b = store.package_dir(&asset).join("pkg/sub/b.txt");
    fs::remove_file(&b).unwrap();
    match store.file(&asset, "pkg").unwrap_err() {
        AssetError::MissingFile { key, path } => assert_eq!((key.as_str(), path), ("fixture", b)),
        other => panic!("expected MissingFile, got {other}"),
    }
    assert!(matches!(store.file(&asset, "pkg/sub/b.txt"), Err(AssetError::MissingFile { .. })));
}

#[test]
fn old_marker_without_manifest_still_works_unverified() {
    let dir = tempfile::tempdir().unwrap();
    let (store, asset) = fetched(dir.path());
    let pkg = store.package_dir(&asset);
    fs::remove_file(pkg.join(MANIFEST_FILE)).unwrap();
    fs::write(pkg.join("pkg/data.txt"), "hel").unwrap();
    assert!(store.is_ready(&asset));
    assert_eq!(store.ensure(&asset).unwrap(), Outcome::AlreadyPresent);
    assert_eq!(fs::read_to_string(store.file(&asset, "pkg/data.txt").unwrap()).unwrap(), "hel");
    store.file(&asset, "pkg").unwrap();
}

#[test]
fn mismatch_error_is_one_line_with_path_key_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let (store, asset) = fetched(dir.path());
    let pkg = store.package_dir(&asset);
    let data = pkg.join("pkg/data.txt");
    fs::write(&data, "hel").unwrap();
    let size = store.file(&asset, "pkg/data.txt").unwrap_err().to_string();
    assert!(size.contains("size 3 bytes does not match the 5 bytes"), "{size}");
    rewrite(&data, b"HELLO", long_ago());
    let sha = store.file(&asset, "pkg/data.txt").unwrap_err().to_string();
    assert!(sha.contains("does not match the 2cf24dba5fb0…"), "{sha}");
    for msg in [size, sha] {
        assert_eq!(msg.lines().count(), 1, "{msg}");
        assert!(msg.starts_with(&data.display().to_string()), "{msg}");
        assert!(msg.contains("asset `fixture`"), "{msg}");
        assert!(msg.contains(&format!("delete {}", pkg.display())), "{msg}");
        assert!(msg.contains("just assets"), "{msg}");
    }
}

#[test]
fn mark_complete_records_the_files_present_then() {
    let dir = tempfile::tempdir().unwrap();
    let (asset, _) = fixture_asset(dir.path(), "fixture-1.0-py3-none-any.whl");
    let store = Store::new(dir.path().join("home"));
    let pkg = store.package_dir(&asset);
    fs::create_dir_all(pkg.join("model")).unwrap();
    fs::write(pkg.join("model/weights.bin"), [7u8; 64]).unwrap();
    assert_eq!(store.mark_complete(&asset).unwrap(), pkg);
    // Marking again must not list the marker or the manifest themselves.
    store.mark_complete(&asset).unwrap();
    let manifest = Manifest::read(&pkg, asset.key).unwrap().expect("a manifest");
    assert_eq!(manifest.entries.keys().collect::<Vec<_>>(), vec!["model/weights.bin"]);
    store.file(&asset, "model/weights.bin").unwrap();
    // A file added later is not listed, so it is returned unverified.
    fs::write(pkg.join("model/extra.txt"), "x").unwrap();
    store.file(&asset, "model/extra.txt").unwrap();
    fs::write(pkg.join("model/weights.bin"), [7u8; 63]).unwrap();
    assert!(matches!(store.file(&asset, "model"), Err(AssetError::FileChanged { .. })));
}

#[test]
fn odd_paths_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let mut manifest = Manifest::default();
    for path in ["a b/c d.txt", "back\\slash", "new\nline", "cr\rret", "ünï/cødé"] {
        manifest.entries.insert(path.to_string(), Entry { size: 3, sha256: HELLO_SHA.to_string() });
    }
    manifest.write(dir.path()).unwrap();
    assert_eq!(Manifest::read(dir.path(), "k").unwrap(), Some(manifest));
}

#[test]
fn damaged_manifest_is_a_clear_error_and_a_newer_format_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let (store, asset) = fetched(dir.path());
    let pkg = store.package_dir(&asset);
    fs::write(pkg.join(MANIFEST_FILE), "loran-manifest 1\nnot a line\n").unwrap();
    let msg = store.file(&asset, "pkg/data.txt").unwrap_err().to_string();
    assert!(msg.contains(".loran-manifest") && msg.contains("line 2"), "{msg}");
    assert!(msg.contains("`fixture`") && msg.contains("just assets"), "{msg}");
    fs::write(pkg.join(MANIFEST_FILE), "loran-manifest 2\nwhatever\n").unwrap();
    store.file(&asset, "pkg/data.txt").unwrap();
}
