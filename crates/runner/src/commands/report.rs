//! `loran report DIR`: re-render a grid's summary, tables and figures from its run folders.

use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

/// Arguments of `loran report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A grid folder, e.g. `results/quick-table-main`.
    dir: PathBuf,
}

/// Runs the command.
pub fn run(args: ReportArgs) -> Result<()> {
    if !args.dir.join("runs").is_dir() {
        anyhow::bail!("{}: no `runs/` folder, so this is not a grid's results folder; pass one such as `results/quick-table-main`", args.dir.display());
    }
    let _lock = loran_runner::grid::lock::GridLock::acquire(&args.dir)?;
    let rendered = loran_runner::report::render(&args.dir)?;
    println!(
        "{}: {} ok, {} failed, {} diverged, {} unfinished (skipped)",
        args.dir.display(),
        rendered.ok,
        rendered.failed,
        rendered.diverged,
        rendered.unfinished
    );
    if let Some(warning) = &rendered.mixed_revisions {
        println!("  warning: {warning}");
    }
    for path in std::iter::once(&rendered.summary_csv).chain(&rendered.tables).chain(&rendered.figures) {
        println!("  wrote {}", path.display());
    }
    Ok(())
}
