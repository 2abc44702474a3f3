//! `loran compare-runs A B`: two results folders of one grid, number by number.

use anyhow::Result;
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

/// Runs the command: prints every differing number and a summary (never fails on a difference).
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
    Ok(())
}
