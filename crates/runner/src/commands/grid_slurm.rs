//! `loran grid submit FILE... --slurm` (a Slurm job array of the unfinished cells, then a
//! dependent report job) and `loran grid status FILE...` (each cell's state).

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use loran_runner::grid::owner::{self, check_all};
use loran_runner::grid::runner::{locked, preflight};
use loran_runner::grid::slurm::{self, Paths, SlurmOptions, Submission, Tasks, SLURM_DIR};
use loran_runner::grid::status::{queued_cells, squeue, statuses, CellStatus};
use loran_runner::grid::submit_plan::plan;
use loran_runner::grid::{expand, read_grid, sweep, Cell, GridFile};
use loran_train::resources::Resources;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Arguments of `loran grid submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// Grid YAML files; one array job (and one report job) each.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Submit to Slurm (the one scheduler supported).
    #[arg(long)]
    slurm: bool,
    /// Where `<grid>/` folders go (on a filesystem the compute nodes share).
    #[arg(long, default_value = "results")]
    results: PathBuf,
    /// Slurm partition.
    #[arg(long)]
    partition: Option<String>,
    /// Time limit of each task (`2:00:00`); a task stopped by it is redone on resubmission.
    #[arg(long)]
    time: Option<String>,
    /// CPUs per task, also each task's RAYON_NUM_THREADS.
    #[arg(long, default_value_t = 2)]
    cpus_per_task: u32,
    /// Memory per task (`8G`).
    #[arg(long)]
    mem: Option<String>,
    /// Generic resources per task (`gpu:1`).
    #[arg(long)]
    gres: Option<String>,
    /// At most K tasks at once (`--array=0-N%K`).
    #[arg(long, value_name = "K")]
    array_parallelism: Option<u32>,
    /// Slurm account to charge.
    #[arg(long)]
    account: Option<String>,
    /// A further sbatch argument for the array job, as given (repeatable): `--sbatch-arg=--qos=low`.
    #[arg(long = "sbatch-arg", allow_hyphen_values = true)]
    sbatch_args: Vec<String>,
    /// Write the scripts and print the sbatch lines without submitting.
    #[arg(long)]
    dry_run: bool,
}

/// Arguments of `loran grid status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Grid YAML files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Where `<grid>/` folders are.
    #[arg(long, default_value = "results")]
    results: PathBuf,
}

/// Runs `loran grid submit`.
pub fn submit(args: SubmitArgs) -> Result<()> {
    if !args.slurm {
        bail!("`loran grid submit` needs a scheduler: pass --slurm (the one supported)");
    }
    if args.cpus_per_task == 0 || args.array_parallelism == Some(0) {
        bail!("--cpus-per-task and --array-parallelism must be at least 1");
    }
    let grids = args.files.iter().map(|f| read_grid(f)).collect::<Result<Vec<_>>>()?;
    check_all(&grids, &args.results)?;
    if !args.dry_run && Command::new("sbatch").arg("--version").output().is_err() {
        bail!("no `sbatch` on PATH: run `loran grid submit` on a Slurm login node, or pass --dry-run to write the scripts only");
    }
    let opts = SlurmOptions {
        partition: args.partition.clone(),
        time: args.time.clone(),
        cpus_per_task: args.cpus_per_task,
        mem: args.mem.clone(),
        gres: args.gres.clone(),
        array_parallelism: args.array_parallelism,
        account: args.account.clone(),
        sbatch_args: args.sbatch_args.clone(),
    };
    let store = loran_assets::Store::from_env();
    let home = std::path::absolute(store.root())?;
    let results_root = std::path::absolute(&args.results)?;
    let mut resources = Resources::new(store);
    let queue = squeue().unwrap_or_default();
    for grid in &grids {
        submit_grid(grid, &results_root, &home, &opts, args.dry_run, &queue, &mut resources)?;
    }
    Ok(())
}

fn submit_grid(
    grid: &GridFile,
    results_root: &Path,
    home: &Path,
    opts: &SlurmOptions,
    dry_run: bool,
    queue: &std::collections::BTreeMap<String, String>,
    resources: &mut Resources,
) -> Result<()> {
    let name = &grid.spec.name;
    let dir = results_root.join(name);
    let slurm_dir = dir.join(SLURM_DIR);
    let plan = plan(grid, &dir, &queued_cells(&slurm::submissions(&slurm_dir), queue))?;
    if let Some(why) = &plan.nothing {
        println!("{name}: nothing to submit: {why} ({})", counts(&plan.states));
        return Ok(());
    }
    // Once, here: compute nodes are often offline, so every asset must already be on disk.
    let check: Vec<&Cell> = plan.tuning.iter().chain(&plan.cells).collect();
    preflight(grid, &check, resources)
        .map_err(|e| anyhow!("{e}; compute nodes are often offline, so fetch the assets before submitting (`loran assets`, into {})", home.display()))?;
    let mut report = grid.spec.report.clone();
    locked(&dir, || {
        owner::check_owner(grid, &dir)?;
        if let (Some(selection), Some(lr_sweep)) = (&plan.selection, &grid.spec.lr_sweep) {
            sweep::write_selection(&dir, selection)?;
            report.notes.extend(sweep::notes(lr_sweep, &grid.spec.seeds, &expand(grid)?, selection));
        }
        owner::record(grid, &plan.manifest, &dir)?;
        loran_report::settings::write_report_settings(&dir, &report)
    })?;
    let paths = Paths {
        loran: loran_binary()?,
        grid_file: std::fs::canonicalize(&grid.path)?,
        results_root: results_root.to_path_buf(),
        loran_home: home.to_path_buf(),
        workdir: std::env::current_dir()?,
    };
    let tuning_ids: Vec<String> = plan.tuning.iter().map(|c| c.run_id.clone()).collect();
    let tuning_script = match tuning_ids.is_empty() {
        true => None,
        false => {
            let script = slurm::array_script(name, Tasks::Tuning, &tuning_ids, &slurm_dir, &paths, opts);
            Some(slurm::write_script(&slurm_dir, slurm::TUNING_SCRIPT, &script, Some((slurm::TUNING_CELLS_FILE, &tuning_ids)))?)
        }
    };
    let run_ids: Vec<String> = plan.cells.iter().map(|c| c.run_id.clone()).collect();
    let array = slurm::array_script(name, plan.tasks, &plan.values, &slurm_dir, &paths, opts);
    let array_path = slurm::write_script(&slurm_dir, slurm::ARRAY_SCRIPT, &array, Some((slurm::CELLS_FILE, &run_ids)))?;
    slurm::write_script(&slurm_dir, slurm::REPORT_SCRIPT, &slurm::report_script(name, &dir, &slurm_dir, &paths, opts), None)?;
    let tuning_note = match tuning_ids.len() {
        0 => String::new(),
        n => format!(", after {n} tuning run(s)"),
    };
    if dry_run {
        println!("{name}: {} cell(s) to run{tuning_note} ({}); wrote {} (dry run, nothing submitted):", plan.values.len(), counts(&plan.states), array_path.display());
        if let Some(script) = &tuning_script {
            println!("  sbatch {}", quoted(&slurm::array_command(script, None, opts)));
        }
        let after = tuning_script.as_ref().map(|_| "TUNING_JOB_ID");
        println!("  sbatch {}", quoted(&slurm::array_command(&array_path, after, opts)));
        println!("  sbatch {}", quoted(&slurm::report_command(&slurm_dir, "ARRAY_JOB_ID")));
        return Ok(());
    }
    let now = loran_train::env::now_rfc3339();
    let tuning_job = match &tuning_script {
        Some(script) => {
            let job = sbatch(&slurm::array_command(script, None, opts))?;
            let cells = tuning_ids.clone();
            slurm::record(&slurm_dir, &Submission { array_job: job.clone(), report_job: String::new(), cells, submitted_at: now.clone(), tuning_job: None })?;
            Some(job)
        }
        None => None,
    };
    let array_job = sbatch(&slurm::array_command(&array_path, tuning_job.as_deref(), opts))?;
    let report_job = sbatch(&slurm::report_command(&slurm_dir, &array_job))?;
    slurm::record(&slurm_dir, &Submission { array_job: array_job.clone(), report_job: report_job.clone(), cells: run_ids, submitted_at: now, tuning_job: tuning_job.clone() })?;
    let throttle = opts.array_parallelism.map(|k| format!(", at most {k} at once")).unwrap_or_default();
    let tuning = tuning_job.map(|job| format!("tuning array job {job} ({} run(s)), then ", tuning_ids.len())).unwrap_or_default();
    println!("{name}: submitted {tuning}array job {array_job} ({} cell(s){throttle}) and report job {report_job}; logs in {}", plan.values.len(), slurm_dir.display());
    Ok(())
}

/// This `loran` binary's path, for the tasks. Linux names a binary replaced since it
/// started (a rebuild) `PATH (deleted)`; the tasks then run the new binary at PATH.
fn loran_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the loran binary for the tasks")?;
    let text = exe.to_string_lossy();
    Ok(match text.strip_suffix(" (deleted)") {
        Some(path) if Path::new(path).is_file() => PathBuf::from(path),
        _ => exe,
    })
}

/// Runs `sbatch ARGS` and returns the job id it printed.
fn sbatch(args: &[String]) -> Result<String> {
    let out = Command::new("sbatch").args(args).output().context("running sbatch")?;
    let stderr = loran_io::one_line(&String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        bail!("`sbatch {}` failed: {stderr}", quoted(args));
    }
    slurm::parse_job_id(&String::from_utf8_lossy(&out.stdout)).ok_or_else(|| anyhow!("`sbatch {}` printed no job id ({stderr})", quoted(args)))
}

fn quoted(args: &[String]) -> String {
    let plain = |a: &String| !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_=./:%,+@".contains(c));
    args.iter().map(|a| if plain(a) { a.clone() } else { slurm::shell_quote(a) }).collect::<Vec<_>>().join(" ")
}

/// `3 done, 1 running, 0 failed, 0 diverged, 2 pending`.
fn counts(states: &[CellStatus]) -> String {
    let n = |word: &str| states.iter().filter(|s| s.word() == word).count();
    format!("{} done, {} running, {} failed, {} diverged, {} pending", n("done"), n("running"), n("failed"), n("diverged"), n("pending"))
}

/// Runs `loran grid status`.
pub fn status(args: StatusArgs) -> Result<()> {
    let grids = args.files.iter().map(|f| read_grid(f)).collect::<Result<Vec<_>>>()?;
    let queue = squeue();
    for grid in &grids {
        let dir = args.results.join(&grid.spec.name);
        let slurm_dir = dir.join(SLURM_DIR);
        let submissions = slurm::submissions(&slurm_dir);
        let queued = queue.as_ref().map(|q| queued_cells(&submissions, q)).unwrap_or_default();
        let all = expand(grid)?;
        // A sweep's cells at the rates its finished tuning runs choose; the others wait.
        let (cells, tuning_line) = match &grid.spec.lr_sweep {
            None => (all, None),
            Some(lr_sweep) => {
                let (tuning, selection) = sweep::selection_now(lr_sweep, &grid.spec.seeds, &all, &dir);
                let tuning_states = statuses(&dir.join(sweep::TUNING_DIR), &tuning, &queued);
                let finals = sweep::apply(&all, &selection);
                let waiting = all.len() - finals.len();
                (finals, Some(format!("  tuning runs: {}; {waiting} cell(s) wait for their learning rate", counts(&tuning_states))))
            }
        };
        let states = statuses(&dir, &cells, &queued);
        println!("{} ({}): {}", grid.spec.name, grid.path.display(), counts(&states));
        if let Some(line) = tuning_line {
            println!("{line}");
        }
        if let Some(last) = submissions.last() {
            println!("  last submission: array job {} ({} cells), report job {}, at {}; logs in {}", last.array_job, last.cells.len(), last.report_job, last.submitted_at, slurm_dir.display());
            if queue.is_none() {
                println!("  (no squeue here: cells waiting in the queue show as pending)");
            }
        }
        for (cell, state) in cells.iter().zip(&states) {
            println!("  {:<9} {}{}", state.word(), cell.run_id, match state {
                CellStatus::Running(by) => format!("  ({by})"),
                CellStatus::Queued(task) => format!("  (queued as job {task})"),
                _ => String::new(),
            });
        }
    }
    Ok(())
}
