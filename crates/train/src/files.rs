//! Every write to the results folder: atomic replacements, appended lines, folders.
//!
//! A failure here (disk full, read-only file system, no permission) is a
//! [`ResultsWriteError`], which stops a grid: the next cells could not be recorded
//! either, and the finished ones are already safe on disk.

use crate::faults;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A write to the results folder failed; the message names the file and the fix.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}; {}", path.display(), fix(source))]
pub struct ResultsWriteError {
    /// The file or folder being written.
    pub path: PathBuf,
    /// What the operating system said.
    pub source: io::Error,
}

impl ResultsWriteError {
    fn at(path: &Path) -> impl FnOnce(io::Error) -> Self + '_ {
        move |source| Self { path: path.to_path_buf(), source }
    }
}

/// What to do about an I/O error, by its kind.
fn fix(e: &io::Error) -> String {
    let advice = match e.raw_os_error() {
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => "the disk is full: free space or pass `--results DIR` on another disk",
        Some(libc::EROFS) | Some(libc::EACCES) | Some(libc::EPERM) => "make the folder writable or pass `--results DIR` elsewhere",
        _ => "check the folder",
    };
    format!("{advice}, then run again (finished cells are kept)")
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Writes `bytes` to `path` through a temporary file and a rename
/// ([`loran_io::write_atomic`], with its fault points), so readers (and a rerun after a
/// crash) never see half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ResultsWriteError> {
    loran_io::write_atomic(path, bytes).map_err(ResultsWriteError::at(path))
}

/// Appends `line` and a newline to `path` (created when missing).
pub fn append_line(path: &Path, line: &str) -> Result<(), ResultsWriteError> {
    (|| {
        faults::file_point("append", path)?;
        let mut f = OpenOptions::new().create(true).append(true).open(path)?;
        let text = format!("{line}\n");
        let (first, rest) = text.as_bytes().split_at(text.len() / 2);
        f.write_all(first)?;
        faults::point(&format!("append-half:{}", file_name(path)))?;
        f.write_all(rest)
    })()
    .map_err(ResultsWriteError::at(path))
}

/// Copies the file `from` (read anywhere) to `to` in the results folder.
pub fn copy_file(from: &Path, to: &Path) -> Result<(), ResultsWriteError> {
    faults::file_point("copy", to).and_then(|()| fs::copy(from, to)).map(drop).map_err(ResultsWriteError::at(to))
}

/// Creates `dir` and its parents.
pub fn create_dir(dir: &Path) -> Result<(), ResultsWriteError> {
    faults::point("results-io").and_then(|()| fs::create_dir_all(dir)).map_err(ResultsWriteError::at(dir))
}

/// Removes `dir` and everything in it, then creates it empty.
pub fn recreate_dir(dir: &Path) -> Result<(), ResultsWriteError> {
    faults::point("results-io").map_err(ResultsWriteError::at(dir))?;
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(ResultsWriteError::at(dir))?;
    }
    create_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_atomic_write_replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("result.json");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("result.json")]);
    }

    #[test]
    fn appended_lines_accumulate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        append_line(&path, "{\"step\":1}").unwrap();
        append_line(&path, "{\"step\":2}").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "{\"step\":1}\n{\"step\":2}\n");
    }

    #[test]
    fn a_failed_write_names_the_file_and_the_fix_and_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("faults-unit-a.json");
        write_atomic(&path, b"kept").unwrap();
        fail::cfg("write-half:faults-unit-a.json", "return(28)").unwrap();
        let err = write_atomic(&path, b"lost").unwrap_err();
        fail::remove("write-half:faults-unit-a.json");
        let msg = err.to_string();
        assert!(msg.starts_with(&format!("cannot write {}: No space left on device", path.display())), "{msg}");
        assert!(msg.contains("the disk is full") && msg.contains("--results DIR") && !msg.contains('\n'), "{msg}");
        assert_eq!(fs::read(&path).unwrap(), b"kept");
        assert!(!loran_io::temporary_sibling(&path).exists(), "the temporary file is removed");
    }

    #[test]
    fn a_read_only_folder_says_make_it_writable() {
        let err = ResultsWriteError { path: "results/x".into(), source: io::Error::from_raw_os_error(libc::EROFS) };
        let msg = err.to_string();
        assert!(msg.contains("Read-only file system") && msg.contains("make the folder writable"), "{msg}");
    }
}
