//! Many `loran` processes in one grid's results folder, one per cell.
//!
//! Two kinds of exclusive advisory lock (flock on unix), each dropped by the operating
//! system when its holder ends, however it ends, so a killed run never leaves a stale
//! lock behind:
//! - [`CellLock`] on `runs/.<run id>.lock`, held while one process runs that cell. The
//!   lock sits beside the run folder, not in it, because a run empties and recreates its
//!   folder when it starts. Several processes (Slurm array tasks on a shared filesystem)
//!   run different cells of one grid; a busy cell is left to its holder.
//! - [`GridLock`] on `<grid dir>/.lock`, for the grid-wide steps (manifest, report
//!   settings, `summary.csv` and tables, `grid clean`), held only for their duration.
//!   A run waits for it ([`GridLock::wait`]); `loran report` and copying another grid's
//!   run try it and are refused at once naming the holder ([`GridLock::acquire`]).

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
        match try_lock(&grid_dir.join(LOCK_FILE))? {
            Ok(file) => Ok(Self { _file: file }),
            Err(holder) => Err(LockError::Busy { dir: grid_dir.to_path_buf(), holder }),
        }
    }

    /// Creates `grid_dir` if needed and locks it, waiting while another process holds
    /// it: every holder keeps it only for a grid-wide step of a few seconds.
    pub fn wait(grid_dir: &Path) -> Result<Self, LockError> {
        create_dir(grid_dir)?;
        let path = grid_dir.join(LOCK_FILE);
        let write_error = |source| ResultsWriteError { path: path.clone(), source };
        let mut file = open(&path)?;
        file.lock().map_err(write_error)?;
        write_holder(&mut file, &path)?;
        Ok(Self { _file: file })
    }
}

/// An exclusive lock on one cell of a grid, released when dropped.
#[derive(Debug)]
pub struct CellLock {
    _file: File,
}

impl CellLock {
    /// The lock file of cell `run_id` in `grid_dir`.
    pub fn path(grid_dir: &Path, run_id: &str) -> PathBuf {
        grid_dir.join("runs").join(format!(".{run_id}.lock"))
    }

    /// Locks cell `run_id` of `grid_dir` (creating `runs/` if needed), or returns what
    /// its holder wrote (pid, command, start time) when another process runs it.
    pub fn try_acquire(grid_dir: &Path, run_id: &str) -> Result<Result<Self, String>, LockError> {
        create_dir(&grid_dir.join("runs"))?;
        Ok(try_lock(&Self::path(grid_dir, run_id))?.map(|file| Self { _file: file }))
    }

    /// Whether another process holds cell `run_id`'s lock now (the lock is taken and
    /// dropped at once when free). A cell never locked is not held.
    pub fn is_held(grid_dir: &Path, run_id: &str) -> bool {
        let path = Self::path(grid_dir, run_id);
        let Ok(file) = OpenOptions::new().read(true).write(true).open(&path) else { return false };
        matches!(file.try_lock(), Err(TryLockError::WouldBlock))
    }
}

fn open(path: &Path) -> Result<File, ResultsWriteError> {
    let write_error = |source| ResultsWriteError { path: path.to_path_buf(), source };
    faults::point("results-io").map_err(write_error)?;
    OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path).map_err(write_error)
}

/// The locked file, or the holder's own words when another process holds it.
fn try_lock(path: &Path) -> Result<Result<File, String>, ResultsWriteError> {
    let mut file = open(path)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(path).unwrap_or_default().trim().to_string();
            return Ok(Err(if holder.is_empty() { "its pid is not recorded yet".to_string() } else { holder }));
        }
        Err(TryLockError::Error(source)) => return Err(ResultsWriteError { path: path.to_path_buf(), source }),
    }
    write_holder(&mut file, path)?;
    Ok(Ok(file))
}

/// Writes who holds the lock into its file, for the message of a refused process.
fn write_holder(file: &mut File, path: &Path) -> Result<(), ResultsWriteError> {
    let command: Vec<String> = std::env::args().collect();
    let host = std::env::var("SLURMD_NODENAME").map(|n| format!(" on {n}")).unwrap_or_default();
    let holder = format!("pid {}{host}, `{}`, since {}", std::process::id(), command.join(" "), loran_train::env::now_rfc3339());
    file.set_len(0).and_then(|()| file.write_all(holder.as_bytes())).map_err(|source| ResultsWriteError { path: path.to_path_buf(), source })
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

    #[test]
    fn a_cell_is_held_by_one_holder_at_a_time_and_other_cells_stay_free() {
        let dir = tempfile::tempdir().unwrap();
        let grid = dir.path().join("grid");
        assert!(!CellLock::is_held(&grid, "a"));
        let a = CellLock::try_acquire(&grid, "a").unwrap().expect("free");
        assert!(CellLock::is_held(&grid, "a") && !CellLock::is_held(&grid, "b"));
        let holder = CellLock::try_acquire(&grid, "a").unwrap().expect_err("held");
        assert!(holder.starts_with(&format!("pid {}", std::process::id())), "{holder}");
        let _b = CellLock::try_acquire(&grid, "b").unwrap().expect("another cell is free");
        // The grid-wide lock is independent of the cells' locks.
        drop(GridLock::wait(&grid).unwrap());
        drop(a);
        assert!(!CellLock::is_held(&grid, "a"));
        CellLock::try_acquire(&grid, "a").unwrap().expect("free again once dropped");
    }
}
