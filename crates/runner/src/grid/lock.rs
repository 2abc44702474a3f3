//! One `loran` process at a time in a grid's results folder.
//!
//! [`GridLock`] holds an exclusive advisory lock on `<grid dir>/.lock` (flock on unix)
//! for as long as it lives. The operating system drops the lock when the process ends,
//! however it ends, so a killed run never leaves a stale lock behind. A second process
//! is refused at once with a message naming the holder; it does not wait.

use loran_train::faults;
use loran_train::files::{create_dir, ResultsWriteError};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The lock file's name inside a grid folder.
pub const LOCK_FILE: &str = ".lock";

/// Why a grid folder could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock.
    #[error(
        "{} is in use by another loran process ({holder}); wait for it to finish, or pass `--results DIR` to write elsewhere",
        dir.display()
    )]
    Busy {
        /// The grid folder.
        dir: PathBuf,
        /// What the holder wrote into the lock file (pid, command, start time).
        holder: String,
    },
    /// The lock file could not be created or locked.
    #[error(transparent)]
    Write(#[from] ResultsWriteError),
}

/// An exclusive lock on a grid folder, released when dropped.
#[derive(Debug)]
pub struct GridLock {
    _file: File,
}

impl GridLock {
    /// Creates `grid_dir` if needed and locks it, or says who holds it.
    pub fn acquire(grid_dir: &Path) -> Result<Self, LockError> {
        create_dir(grid_dir)?;
        let path = grid_dir.join(LOCK_FILE);
        let write_error = |source| ResultsWriteError { path: path.clone(), source };
        faults::point("results-io").map_err(write_error)?;
        let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(write_error)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default().trim().to_string();
                let holder = if holder.is_empty() { "its pid is not recorded yet".to_string() } else { holder };
                return Err(LockError::Busy { dir: grid_dir.to_path_buf(), holder });
            }
            Err(TryLockError::Error(source)) => return Err(write_error(source).into()),
        }
        let command: Vec<String> = std::env::args().collect();
        let holder = format!("pid {}, `{}`, since {}", std::process::id(), command.join(" "), loran_train::env::now_rfc3339());
        file.set_len(0).and_then(|()| file.write_all(holder.as_bytes())).map_err(write_error)?;
        Ok(Self { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_naming_the_holder_and_freed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let grid = dir.path().join("grid");
        let first = GridLock::acquire(&grid).unwrap();
        let err = GridLock::acquire(&grid).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, LockError::Busy { .. }), "{msg}");
        assert!(msg.contains(&format!("pid {}", std::process::id())) && msg.contains("--results DIR"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
        drop(first);
        GridLock::acquire(&grid).expect("free again once the holder is dropped");
    }
}
