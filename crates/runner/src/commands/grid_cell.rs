//! `loran grid run-cell FILE --index I | --cell RUN_ID`: one cell, its status as the exit code.

use anyhow::{bail, Result};
use clap::Args;
use loran_runner::cli::ExitWith;
use loran_runner::grid::one_cell::{run_one, CellPick, CellRun};
use loran_runner::grid::{read_grid, GridOptions};
use loran_train::record::RunStatus;
use loran_train::resources::Resources;
use std::path::PathBuf;

/// Arguments of `loran grid run-cell`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("which").required(true).args(["index", "cell"]))]
pub struct RunCellArgs {
    /// The grid YAML file.
    file: PathBuf,
    /// The cell's place in `loran grid plan FILE`'s list, from 0.
    #[arg(long)]
    index: Option<usize>,
    /// The cell's run id, as `loran grid plan FILE` lists it.
    #[arg(long)]
    cell: Option<String>,
    /// Pick among the tuning runs of a grid with `lr_sweep:` (`loran grid plan` lists them
    /// first), not its cells.
    #[arg(long)]
    tuning: bool,
    /// Where `<grid>/` folders go.
    #[arg(long, default_value = "results")]
    results: PathBuf,
    /// Re-run the cell even if it finished.
    #[arg(long)]
    force: bool,
}

/// Runs the command.
pub fn run(args: RunCellArgs) -> Result<()> {
    let grid = read_grid(&args.file)?;
    let which = match (args.index, args.cell) {
        (Some(i), _) => CellPick::Index(i),
        (None, Some(name)) => CellPick::Name(name),
        (None, None) => unreachable!("clap requires --index or --cell"),
    };
    let opts = GridOptions { results_root: args.results, force: args.force, only: None };
    let mut resources = Resources::new(loran_assets::Store::from_env());
    let mut progress = super::grid_progress::for_stderr();
    let result = match run_one(&grid, &which, args.tuning, &opts, &mut resources, progress.as_mut())? {
        CellRun::Busy(holder) => bail!("{}: this cell is being run by another process ({holder}); nothing to do here", grid.path.display()),
        CellRun::Finished(r) => {
            eprintln!("{} finished earlier ({}), skipped", r.run_id, status_word(r.status));
            r
        }
        CellRun::Copied(r) | CellRun::Ran(r) => r,
    };
    let summary: Vec<String> = result.metrics.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
    match result.status {
        RunStatus::Ok => {
            eprintln!("{}: ok: {}", result.run_id, summary.join(", "));
            Ok(())
        }
        RunStatus::Diverged => Err(ExitWith { code: 3, message: format!("{} diverged: {}", result.run_id, result.error.unwrap_or_default()) }.into()),
        RunStatus::Failed => bail!("{} failed: {} (recorded in its result.json)", result.run_id, result.error.unwrap_or_default()),
    }
}

fn status_word(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Ok => "ok",
        RunStatus::Diverged => "diverged",
        RunStatus::Failed => "failed",
    }
}
