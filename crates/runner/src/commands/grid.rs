//! `loran grid plan|check|run|run-cell|submit|status|clean FILE...`: list, check, run or
//! submit the cells of experiment grids, show where they stand, or move stale runs away.

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use loran_report::manifest::STALE_DIR;
use loran_runner::grid::clean::clean;
use loran_runner::grid::owner::{check_all, check_names};
use loran_runner::grid::runner::preflight;
use loran_runner::grid::select::{no_match, select};
use loran_runner::grid::{expand, read_grid, run_grid, GridFile, GridOptions};
use loran_train::resources::Resources;
use std::path::{Path, PathBuf};

/// Arguments of `loran grid`.
#[derive(Debug, Args)]
pub struct GridArgs {
    #[command(subcommand)]
    action: GridAction,
}

#[derive(Debug, Subcommand)]
enum GridAction {
    /// List the cells of grid files without running them.
    Plan {
        /// Grid YAML files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Load every model and task the grids' cells need and check their lengths, without
    /// training (seconds; the same checks `run` makes before its first cell).
    Check {
        /// Grid YAML files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run grid files; finished cells are skipped, failures recorded.
    Run {
        /// Grid YAML files, run in order.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Where `<grid>/` folders go.
        #[arg(long, default_value = "results")]
        results: PathBuf,
        /// Re-run finished cells.
        #[arg(long)]
        force: bool,
        /// Only cells whose run id contains this text (an error when it matches none).
        #[arg(long)]
        only: Option<String>,
    },
    /// Run one cell of a grid file and exit with its status: 0 ok (or finished earlier),
    /// 3 diverged, 1 failed or another process runs it (one Slurm array task each).
    RunCell(super::grid_cell::RunCellArgs),
    /// Submit grid files' unfinished cells as a Slurm job array, then a report job after it.
    Submit(super::grid_slurm::SubmitArgs),
    /// Each cell's state: done, running, failed, diverged or pending (with the Slurm queue).
    Status(super::grid_slurm::StatusArgs),
    /// Move the runs that match no cell of the grid files (left from earlier versions of
    /// the grids, and left out of their tables) to `<grid>/stale/`, then re-render.
    Clean {
        /// Grid YAML files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Where `<grid>/` folders are.
        #[arg(long, default_value = "results")]
        results: PathBuf,
    },
}

/// Runs the command.
pub fn run(args: GridArgs) -> Result<()> {
    match args.action {
        GridAction::Plan { files } => {
            let grids = files.iter().map(|f| read_grid(f)).collect::<Result<Vec<_>>>()?;
            check_names(&grids, Path::new("results"))?;
            for grid in grids {
                let cells = expand(&grid)?;
                if let Some(lr_sweep) = &grid.spec.lr_sweep {
                    let tuning = loran_runner::grid::sweep::tuning_cells(lr_sweep, &grid.spec.seeds, &cells);
                    println!("{} ({}): first {} tuning runs, scored on the validation split only (in tuning/):", grid.spec.name, grid.path.display(), tuning.len());
                    for c in tuning {
                        println!("  {}  lr={}", c.run_id, c.config.train.lr);
                    }
                }
                let rates = if grid.spec.lr_sweep.is_some() { ", each row at the rate its tuning runs choose" } else { "" };
                println!("{} ({}): {} runs{rates}", grid.spec.name, grid.path.display(), cells.len());
                for c in cells {
                    let labels: Vec<String> = c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    println!("  {}  {}", c.run_id, labels.join(" "));
                    for warning in c.config.adapter.warnings() {
                        println!("      warning: {warning}");
                    }
                }
            }
            Ok(())
        }
        GridAction::Check { files } => {
            let mut resources = Resources::new(loran_assets::Store::from_env());
            let grids = files.iter().map(|f| read_grid(f)).collect::<Result<Vec<_>>>()?;
            check_names(&grids, Path::new("results"))?;
            for grid in grids {
                let cells = expand(&grid)?;
                let warnings = preflight(&grid, &cells.iter().collect::<Vec<_>>(), &mut resources)?;
                println!("{} ({}): {} cells ready", grid.spec.name, grid.path.display(), cells.len());
                for w in warnings {
                    println!("  warning: {w}");
                }
            }
            Ok(())
        }
        GridAction::Run { files, results, force, only } => {
            let grids = files.iter().map(|f| read_grid(f)).collect::<Result<Vec<_>>>()?;
            check_all(&grids, &results)?;
            let selected = check_only(&grids, only.as_deref())?;
            let opts = GridOptions { results_root: results, force, only };
            let mut resources = Resources::new(loran_assets::Store::from_env());
            let mut failures = Vec::new();
            let mut progress = super::grid_progress::for_stderr();
            for (grid, selected) in grids.iter().zip(selected) {
                if !selected {
                    progress.line(&format!("== grid {} ({}): no cell matches --only, skipped", grid.spec.name, grid.path.display()));
                    continue;
                }
                progress.line(&format!("== grid {} ({})", grid.spec.name, grid.path.display()));
                let outcome = run_grid(grid, &opts, &mut resources, progress.as_mut())?;
                let dir = opts.results_root.join(&grid.spec.name);
                let elsewhere = match outcome.elsewhere.len() {
                    0 => String::new(),
                    n => format!(", {n} left to other processes running them"),
                };
                eprintln!(
                    "== {}: {} ok, {} skipped, {} diverged, {} failed{elsewhere}; report in {}",
                    grid.spec.name,
                    outcome.ok.len(),
                    outcome.skipped.len(),
                    outcome.diverged.len(),
                    outcome.failed.len(),
                    dir.display()
                );
                for warning in outcome.report.mixed_revisions.iter().chain(&outcome.report.warnings) {
                    eprintln!("   warning: {warning}");
                }
                failures.extend(outcome.failed.into_iter().map(|(id, e)| format!("{} (cell {id}): {e}", grid.path.display())));
            }
            if !failures.is_empty() {
                // The list first, one failure a line: the error itself is one line, like every other.
                eprintln!("{} run(s) failed:\n  {}", failures.len(), failures.join("\n  "));
                bail!("{} run(s) failed (listed above; their errors are in their result.json)", failures.len());
            }
            Ok(())
        }
        GridAction::RunCell(args) => super::grid_cell::run(args),
        GridAction::Submit(args) => super::grid_slurm::submit(args),
        GridAction::Status(args) => super::grid_slurm::status(args),
        GridAction::Clean { files, results } => {
            let grids = files.iter().map(|f| read_grid(f)).collect::<Result<Vec<_>>>()?;
            check_all(&grids, &results)?;
            for grid in &grids {
                let dir = results.join(&grid.spec.name);
                let cleaned = clean(grid, &results)?;
                match cleaned.moved.as_slice() {
                    [] => println!("{}: no stale runs in {}", grid.spec.name, dir.display()),
                    moved => {
                        println!("{}: moved {} stale run(s) to {}", grid.spec.name, moved.len(), dir.join(STALE_DIR).display());
                        for path in moved {
                            println!("  {}", path.display());
                        }
                    }
                }
                for warning in cleaned.report.iter().flat_map(|r| r.mixed_revisions.iter().chain(&r.warnings)) {
                    println!("  warning: {warning}");
                }
            }
            Ok(())
        }
    }
}

/// Which grids `--only` selects cells of; an error when it selects none in any of them
/// (checked before anything runs).
fn check_only(grids: &[GridFile], only: Option<&str>) -> Result<Vec<bool>> {
    let cells = grids.iter().map(expand).collect::<Result<Vec<_>>>()?;
    let selected: Vec<bool> = cells.iter().map(|c| !select(c, only).is_empty()).collect();
    match only {
        Some(text) if !selected.contains(&true) => {
            let files: Vec<&std::path::Path> = grids.iter().map(|g| g.path.as_path()).collect();
            let all: Vec<&loran_runner::grid::Cell> = cells.iter().flatten().collect();
            bail!(no_match(text, &files, &all))
        }
        _ => Ok(selected),
    }
}
