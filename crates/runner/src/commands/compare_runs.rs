//! `loran compare-runs A B`: two results folders of one grid, number by number.

use anyhow::{bail, Result};
use clap::Args;
use loran_report::compare::compare_grid_dirs;
use std::path::PathBuf;

/// Arguments of `loran compare-runs`.
#[derive(Debug, Args)]
pub struct CompareRunsArgs {
    /// A grid folder, e.g. `/tmp/a/quick-table-main`.
    a: PathBuf,
    /// The same grid run elsewhere (another seed of the machine, thread count, commit).
    b: PathBuf,
}

/// Runs the command: prints every differing number, every run found in one folder only and
/// a summary, then fails (exit code 1) when a number differs, a run is missing on either
/// side, or nothing was compared, so a script can rely on the exit code.
pub fn run(args: CompareRunsArgs) -> Result<()> {
    let cmp = compare_grid_dirs(&args.a, &args.b)?;
    let runs: std::collections::BTreeSet<&str> = cmp.numbers.iter().map(|n| n.run_id.as_str()).collect();
    println!(
        "{} (threads {:?}) against {} (threads {:?}): {} runs in both, {} numbers",
        args.a.display(),
        cmp.threads.0,
        args.b.display(),
        cmp.threads.1,
        runs.len(),
        cmp.numbers.len()
    );
    for id in cmp.unmatched.0.iter().chain(&cmp.unmatched.1) {
        println!("  {id}: finished in one folder only");
    }
    let differing: Vec<_> = cmp.differing().collect();
    for n in &differing {
        println!("  {}  {:<20}  {:>14.8e}  {:>14.8e}  |diff| {:.3e}", n.run_id, n.name, n.a, n.b, n.abs_diff());
    }
    let max = differing.iter().map(|n| n.abs_diff()).fold(0.0f64, f64::max);
    println!("{} of {} numbers bit-identical; largest |diff| {max:.3e}", cmp.numbers.len() - differing.len(), cmp.numbers.len());
    if let Some(mismatch) = cmp.mismatch() {
        let next = if cmp.numbers.is_empty() {
            "give two results folders of one grid, e.g. results/quick-table-main"
        } else if !cmp.unmatched.0.is_empty() || !cmp.unmatched.1.is_empty() {
            "finish both (`loran grid run` resumes a grid) and compare again; the runs are listed above"
        } else {
            "the runs are not bit-identical; the numbers are listed above"
        };
        bail!("{} against {}: {mismatch}; {next}", args.a.display(), args.b.display());
    }
    Ok(())
}
