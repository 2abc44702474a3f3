//! Replacing a file so that a reader, or a rerun after a crash, finds the old file or the
//! new one, never half of one.

use crate::faults;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The temporary sibling [`write_atomic`] goes through: `.<name>.tmp`. Hidden, and in the
/// same folder, so the rename stays on one file system, where it is atomic.
pub fn temporary_sibling(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}

/// Writes `bytes` to `path`: into [`temporary_sibling`], synced to disk, then renamed over
/// `path`. A crash at any moment leaves the old file (or none) and at worst a stray
/// temporary; a failed step removes the temporary and keeps the old file.
///
/// Fault points (see [`faults`]), `<file>` being `path`'s file name: `results-io` and
/// `write:<file>` before the temporary is created, `write-half:<file>` with half of the
/// bytes written, `rename:<file>` when the temporary is complete.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temporary_sibling(path);
    let file = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let written = (|| {
        faults::file_point("write", path)?;
        let mut f = File::create(&tmp)?;
        let (first, rest) = bytes.split_at(bytes.len() / 2);
        f.write_all(first)?;
        faults::point(&format!("write-half:{file}"))?;
        f.write_all(rest)?;
        f.sync_all()?;
        faults::point(&format!("rename:{file}"))?;
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn a_write_replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("result.json");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        assert_eq!(names(dir.path()), ["result.json"]);
        assert_eq!(temporary_sibling(&path), dir.path().join(".result.json.tmp"));
    }

    /// Each point, configured to fail with ENOSPC, fails the write, keeps the old file and
    /// removes the temporary. (Fault points are process-wide: each test uses its own names.)
    #[test]
    fn a_fault_at_any_point_keeps_the_old_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("io-unit-a.json");
        write_atomic(&path, b"kept").unwrap();
        for point in ["write:io-unit-a.json", "write-half:io-unit-a.json", "rename:io-unit-a.json"] {
            fail::cfg(point, "return(28)").unwrap();
            let err = write_atomic(&path, b"lost").unwrap_err();
            fail::remove(point);
            assert_eq!(err.raw_os_error(), Some(28), "{point}: {err}");
            assert_eq!(fs::read(&path).unwrap(), b"kept", "{point}");
            assert_eq!(names(dir.path()), ["io-unit-a.json"], "{point}");
        }
    }

    #[test]
    fn a_first_write_that_fails_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("io-unit-b.json");
        fail::cfg("rename:io-unit-b.json", "return(30)").unwrap();
        let err = write_atomic(&path, b"lost").unwrap_err();
        fail::remove("rename:io-unit-b.json");
        assert_eq!(err.raw_os_error(), Some(30));
        assert!(names(dir.path()).is_empty());
    }

    #[test]
    fn a_missing_folder_is_an_error_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_atomic(&dir.path().join("absent/x.json"), b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(names(dir.path()).is_empty());
    }
}
