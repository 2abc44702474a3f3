//! The property every grid input must keep: parsing (`parse_grid`, or `read_grid` for
//! bytes that are not UTF-8) and then `expand` never panic and finish quickly; every
//! error renders as one line starting with the file's path (or with an included file's,
//! naming the grid as `(included from <path>`); every successful grid
//! gives cells with unique run ids whose configs serialize, read back equal, and hash
//! the same when the grid is expanded again.

use loran_runner::grid::expand::config_hash;
use loran_runner::grid::spec::parse_grid;
use loran_runner::grid::{expand, read_grid, Cell, GridFile};
use loran_train::config::RunConfig;
use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::Once;
use std::time::{Duration, Instant};

/// The path errors must start with when the text is parsed in memory.
pub const TEXT_PATH: &str = "fuzz/case.yaml";

/// Longest parsing and expanding one input may take (what `loran grid plan` waits for).
pub fn time_limit() -> Duration {
    if cfg!(debug_assertions) { Duration::from_secs(20) } else { Duration::from_secs(2) }
}

/// How a case ended when it kept the property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Parsed and expanded into this many cells.
    Ok(usize),
    /// Rejected while parsing or checking the file.
    ParseErr,
    /// Parsed, then rejected by `expand`.
    ExpandErr,
}

thread_local! {
    /// Set while a case runs: its panics are recorded here instead of printed.
    static CAUGHT: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
}

/// Installs (once) a panic hook that records the location and message of a panic
/// inside [`check`] and leaves every other panic to the default hook.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let recorded = CAUGHT.with(|c| match c.borrow_mut().as_mut() {
                Some(slot) => {
                    *slot = Some(info.to_string());
                    true
                }
                None => false,
            });
            if !recorded {
                default(info);
            }
        }));
    });
}

/// Runs one input through the property, parsed as if it were the file `path` (so that
/// its `include:` paths resolve beside it): the outcome, or what went wrong (with the input).
pub fn check(bytes: &[u8], path: &Path) -> Result<Outcome, String> {
    install_hook();
    CAUGHT.with(|c| *c.borrow_mut() = Some(None));
    let mut elapsed = Duration::ZERO;
    let result = panic::catch_unwind(AssertUnwindSafe(|| run(bytes, path, &mut elapsed)));
    let panicked = CAUGHT.with(|c| c.borrow_mut().take().flatten());
    let verdict = match result {
        Ok(Ok(outcome)) if elapsed > time_limit() => Err(format!("slow: {elapsed:.2?} to parse and expand (limit {:?}), outcome {outcome:?}", time_limit())),
        Ok(verdict) => verdict,
        Err(_) => Err(format!("PANIC {}", panicked.unwrap_or_else(|| "(no message)".into()))),
    };
    verdict.map_err(|why| format!("{why}\n--- input ({} bytes) ---\n{}\n--- end ---", bytes.len(), show(bytes)))
}

/// The input as text, shortened in the middle when long.
fn show(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.chars().count() <= 4000 {
        return text.into_owned();
    }
    let head: String = text.chars().take(2000).collect();
    let tail: String = text.chars().rev().take(1000).collect::<Vec<_>>().into_iter().rev().collect();
    format!("{head}\n[... {} bytes ...]\n{tail}", bytes.len())
}

/// Parses (from memory as `at`, or through a file for bytes that are not UTF-8) and
/// expands, adding the time both took to `elapsed`.
fn run(bytes: &[u8], at: &Path, elapsed: &mut Duration) -> Result<Outcome, String> {
    let start = Instant::now();
    let (grid, path) = match std::str::from_utf8(bytes) {
        Ok(text) => (parse_grid(at, text), at.display().to_string()),
        Err(_) => {
            let dir = tempfile::tempdir().map_err(|e| format!("test setup: {e}"))?;
            let path = dir.path().join("case.yaml");
            std::fs::write(&path, bytes).map_err(|e| format!("test setup: {e}"))?;
            (read_grid(&path), path.display().to_string())
        }
    };
    let grid = match grid {
        Ok(grid) => grid,
        Err(e) => {
            *elapsed = start.elapsed();
            return check_error_line(&path, &format!("{e:#}")).map(|_| Outcome::ParseErr);
        }
    };
    let cells = expand(&grid);
    *elapsed = start.elapsed();
    match cells {
        Ok(cells) => check_cells(&grid, &cells).map(|_| Outcome::Ok(cells.len())),
        Err(e) => check_error_line(&path, &format!("{e:#}")).map(|_| Outcome::ExpandErr),
    }
}

/// An error message must be one line that starts with `path:`, or with an included
/// file's `file:` and names the grid as `(included from <path>`.
fn check_error_line(path: &str, message: &str) -> Result<(), String> {
    if message.contains(['\n', '\r']) {
        return Err(format!("error spans several lines:\n{message}"));
    }
    let included = message.contains(&format!("(included from {path}")) && message.split_once(':').is_some_and(|(file, _)| !file.is_empty());
    if !message.strip_prefix(path).is_some_and(|rest| rest.starts_with(':')) && !included {
        return Err(format!("error does not start with `{path}:`: {message}"));
    }
    Ok(())
}

/// Cells whose config is written out and read back (all of a grid up to this many;
/// they are combinations of the same few values, and it keeps debug runs quick).
const ROUND_TRIPS: usize = 256;

/// The checks on a grid that expanded.
fn check_cells(grid: &GridFile, cells: &[Cell]) -> Result<(), String> {
    if cells.is_empty() {
        return Err("expand succeeded with no cells".into());
    }
    let mut ids = std::collections::HashSet::new();
    for cell in cells {
        if !ids.insert(cell.run_id.as_str()) {
            return Err(format!("two cells share the run id `{}`", cell.run_id));
        }
        if config_hash(&cell.config) != cell.config_hash || !cell.run_id.contains(&cell.config_hash[..8]) {
            return Err(format!("cell `{}`: hash {} is not its config's", cell.run_id, cell.config_hash));
        }
        let _ = cell.config.adapter.warnings();
        let _ = cell.config.method_label();
    }
    for cell in cells.iter().take(ROUND_TRIPS) {
        let yaml = serde_saphyr::to_string(&cell.config).map_err(|e| format!("cell `{}`: config does not serialize: {e}", cell.run_id))?;
        match serde_saphyr::from_str::<RunConfig>(&yaml) {
            Ok(back) if back == cell.config => {}
            Ok(back) => return Err(format!("cell `{}`: config reads back different:\n{yaml}\n{back:?}", cell.run_id)),
            Err(e) => return Err(format!("cell `{}`: resolved config does not read back: {e}\n{yaml}", cell.run_id)),
        }
    }
    let again = expand(grid).map_err(|e| format!("second expand failed: {e:#}"))?;
    let ids = |c: &[Cell]| c.iter().map(|c| (c.run_id.clone(), c.config_hash.clone())).collect::<Vec<_>>();
    if ids(&again) != ids(cells) {
        return Err("a second expand gives other run ids or hashes".into());
    }
    Ok(())
}
