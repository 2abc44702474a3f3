//! `loran report DIR`: re-render a grid's summary, tables and figures from its run folders.

use anyhow::Result;
use clap::Args;
use loran_runner::grid::lock::{GridLock, LOCK_FILE};
use std::path::PathBuf;

/// Arguments of `loran report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A grid folder, e.g. `results/quick-table-main`.
    dir: PathBuf,
}

/// Runs the command.
pub fn run(args: ReportArgs) -> Result<()> {
    let not_a_grid = || anyhow::anyhow!("{}: no `runs/` folder, so this is not a grid's results folder; pass one such as `results/quick-table-main`", args.dir.display());
    // A grid that is starting holds its lock before it makes `runs/`: "in use" is the
    // true answer then, so the lock is tried first wherever a lock file exists.
    if !args.dir.join("runs").is_dir() && !args.dir.join(LOCK_FILE).is_file() {
        return Err(not_a_grid());
    }
    let _lock = GridLock::acquire(&args.dir)?;
    if !args.dir.join("runs").is_dir() {
        return Err(not_a_grid());
    }
    let rendered = loran_report::render(&args.dir)?;
    let left_out = match (rendered.stale, rendered.damaged) {
        (0, 0) => String::new(),
        (stale, damaged) => format!("; {stale} stale and {damaged} damaged left out"),
    };
    println!(
        "{}: {} ok, {} failed, {} diverged, {} unfinished (skipped){left_out}",
        args.dir.display(),
        rendered.ok,
        rendered.failed,
        rendered.diverged,
        rendered.unfinished
    );
    for warning in rendered.mixed_revisions.iter().chain(&rendered.warnings) {
        println!("  warning: {warning}");
    }
    for path in std::iter::once(&rendered.summary_csv).chain(&rendered.tables).chain(&rendered.figures) {
        println!("  wrote {}", path.display());
    }
    Ok(())
}
