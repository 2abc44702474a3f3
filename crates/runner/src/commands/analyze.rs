//! `loran analyze RUN_DIR...`: does the trained update use more than r directions?
//!
//! Loads each run's saved `adapter/` onto its base model (named by the run's
//! `config.resolved.yaml`) and measures, per adapted module, the dense update the method
//! merges (`s·f(B·A)` for LoRAN) against the plain `s·B·A`
//! ([`loran_adapters::spectrum`]). Prints a table per run and writes `analysis.csv` (one
//! row per run × module) and `spectrum.{svg,png}` into the runs' grid folder or `--out`.

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use loran_adapters::spectrum::{set_spectra, ModuleSpectrum, RankMeasures};
use loran_report::figures::{canvas::save_figure, spectrum};
use loran_train::dir::{read_config, RunDir, ADAPTER_DIR};
use loran_train::resources::Resources;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// File name of the table written next to the figure.
pub const CSV_FILE: &str = "analysis.csv";

/// Arguments of `loran analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Run folders (`results/<grid>/runs/<id>`), or grid folders for all their runs.
    #[arg(required = true)]
    runs: Vec<PathBuf>,
    /// Folder for `analysis.csv` and `spectrum.{svg,png}` (default: the runs' grid folder).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// One analyzed run.
struct Analyzed {
    run_id: String,
    /// The run's group in its grid (its configuration without the seed), else its id.
    group: String,
    method: String,
    modules: Vec<ModuleSpectrum>,
}

/// Runs the command: every run that has an adapter is analyzed; the others are listed
/// with the reason. Fails when none could be.
pub fn run(args: AnalyzeArgs) -> Result<()> {
    let dirs = run_dirs(&args.runs)?;
    if dirs.is_empty() {
        bail!("no run folders under {}", args.runs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "));
    }
    let out = match &args.out {
        Some(out) => out.clone(),
        None => grid_folder(&dirs)?,
    };
    let mut resources = Resources::new(loran_assets::Store::from_env());
    let mut done = Vec::new();
    for dir in &dirs {
        match analyze(dir, &mut resources) {
            Ok(run) => {
                print!("{}", table(&run));
                done.push(run);
            }
            Err(e) => println!("{}: skipped: {}\n", dir.display(), loran_io::chain_line(&*e)),
        }
    }
    if done.is_empty() {
        bail!("no run could be analyzed (see above); runs save `adapter/` since `train.save_adapter` exists: rerun older ones");
    }
    loran_io::write_atomic(&out.join(CSV_FILE), csv(&done).as_bytes()).with_context(|| format!("writing {}", out.join(CSV_FILE).display()))?;
    // Labelled by group, so the seeds of one configuration share a colour and a legend line.
    let runs: Vec<(String, Vec<ModuleSpectrum>)> = done.into_iter().map(|r| (format!("{} ({})", r.group, r.method), r.modules)).collect();
    let fig = spectrum::SpectrumFigure::new("update spectra: s·f(B·A) against s·B·A, per module", runs);
    let written = save_figure(&fig, &out, spectrum::STEM)?;
    println!("wrote {} and {}", out.join(CSV_FILE).display(), written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "));
    Ok(())
}

/// The run folders named: a grid folder (one with `runs/`) stands for all of its runs.
fn run_dirs(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for path in paths {
        let runs = path.join("runs");
        if runs.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(&runs)?.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect();
            found.sort();
            dirs.extend(found);
        } else if path.is_dir() {
            dirs.push(path.clone());
        } else {
            bail!("{}: no such folder; pass run folders such as results/<grid>/runs/<id>", path.display());
        }
    }
    Ok(dirs)
}

/// The grid folder (`<grid>/runs/<id>` → `<grid>`) all `dirs` share.
fn grid_folder(dirs: &[PathBuf]) -> Result<PathBuf> {
    let grid = |d: &PathBuf| -> Option<PathBuf> {
        let parent = d.parent()?;
        (parent.file_name()? == "runs").then(|| parent.parent().map(Path::to_path_buf)).flatten()
    };
    let first = dirs.first().and_then(grid).ok_or_else(|| anyhow!("{}: not under a grid's `runs/` folder; pass `--out DIR`", dirs[0].display()))?;
    if let Some(other) = dirs.iter().find(|d| grid(d).as_ref() != Some(&first)) {
        bail!("{} is not a run of {}: the runs come from several grids; pass `--out DIR`", other.display(), first.display());
    }
    Ok(first)
}

fn analyze(dir: &Path, resources: &mut Resources) -> Result<Analyzed> {
    let adapter = dir.join(ADAPTER_DIR);
    if !adapter.is_dir() {
        bail!("no `{ADAPTER_DIR}/` (a zero-shot, untrained or diverged run, `train.save_adapter: false`, or a run recorded before adapters were saved)");
    }
    let cfg = read_config(dir)?;
    let loaded = resources.model(&cfg.model, cfg.quant)?;
    let mut model = loaded.model.clone();
    let set = loran_adapters::folder::load(&adapter, &mut model, cfg.seed)?;
    let modules = set_spectra(&set, &model)?;
    let run_id = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let group = RunDir::at(dir).read_result().map_or_else(|| run_id.clone(), |r| r.group);
    Ok(Analyzed { run_id, group, method: cfg.method_label(), modules })
}

/// The run's table: per module, both updates' effective and stable rank, numerical rank
/// and energy outside the top r.
fn table(run: &Analyzed) -> String {
    let width = run.modules.iter().map(|m| m.module.len()).max().unwrap_or(6).max(6);
    let mut t = format!("{} ({})\n", run.run_id, run.method);
    let _ = writeln!(t, "  {:<width$}  {:>4}  {:>17}  {:>17}  {:>11}  {:>21}", "module", "r", "eff. rank lin → f", "stable lin → f", "num. lin → f", "energy > r lin → f");
    for m in &run.modules {
        let (l, n) = (&m.linear, &m.nonlinear);
        let _ = writeln!(
            t,
            "  {:<width$}  {:>4}  {:>7.3} → {:>7.3}  {:>7.3} → {:>7.3}  {:>4} → {:>4}  {:>9.2e} → {:>9.2e}",
            m.module, m.r, l.effective_rank, n.effective_rank, l.stable_rank, n.stable_rank, l.numerical_rank, n.numerical_rank, l.energy_outside_r, n.energy_outside_r
        );
    }
    t.push('\n');
    t
}

/// Columns of `analysis.csv`: the run, the module and its shape, then each measure of
/// `s·B·A` (`linear_*`) and of the merged update (`nonlinear_*`).
pub const CSV_HEADER: &str = "run_id,method,module,out_features,in_features,r,\
linear_numerical_rank,linear_effective_rank,linear_stable_rank,linear_energy_outside_r,\
nonlinear_numerical_rank,nonlinear_effective_rank,nonlinear_stable_rank,nonlinear_energy_outside_r";

fn csv(runs: &[Analyzed]) -> String {
    // Shortest round-trip text; the energy share spans many decades, so in exponent form.
    let measures = |m: &RankMeasures| format!("{},{},{},{:e}", m.numerical_rank, m.effective_rank, m.stable_rank, m.energy_outside_r);
    let mut text = format!("{CSV_HEADER}\n");
    for run in runs {
        for m in &run.modules {
            let _ = writeln!(
                text,
                "{},{},{},{},{},{},{},{}",
                field(&run.run_id),
                field(&run.method),
                field(&m.module),
                m.out_features,
                m.in_features,
                m.r,
                measures(&m.linear),
                measures(&m.nonlinear)
            );
        }
    }
    text
}

/// A CSV field, quoted when it holds a comma, quote or newline (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
