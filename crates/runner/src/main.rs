//! `loran`: the loran-lab command line.

mod commands;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// LoRA / LoRAN experiments on CPU.
#[derive(Debug, Parser)]
#[command(name = "loran", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    errors: loran_runner::cli::ErrorArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Fetch the offline model and datasets into $LORAN_HOME (idempotent).
    Assets(commands::assets::AssetsArgs),
    /// Continue a prompt with a base model, or with a saved adapter on it (--adapter).
    Generate(commands::generate::GenerateArgs),
    /// Perplexity of a text under a base model, or with a saved adapter on it (--adapter).
    Perplexity(commands::perplexity::PerplexityArgs),
    /// Plan or run experiment grids.
    Grid(commands::grid::GridArgs),
    /// Re-render a grid's summary and figures without training.
    Report(commands::report::ReportArgs),
    /// Compare two results folders of one grid number by number (reruns, thread counts).
    CompareRuns(commands::compare_runs::CompareRunsArgs),
    /// Spectra of trained adapters: the dense update s·f(B·A) against s·B·A, per module.
    Analyze(commands::analyze::AnalyzeArgs),
    /// Score a saved adapter on a task's test split, as its run did (same metrics, same predictions).
    Eval(commands::eval::EvalArgs),
    /// Fold a trained adapter into its base model and write a plain HF model folder.
    Merge(commands::merge::MergeArgs),
}

fn main() -> std::process::ExitCode {
    loran_runner::cli::prepare_process();
    if let Err(e) = loran_train::faults::configure_from_env() {
        eprintln!("error: {}", loran_io::one_line(&e));
        return std::process::ExitCode::FAILURE;
    }
    let Cli { command, errors } = Cli::parse();
    loran_runner::cli::exit_code(run(command), &errors)
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Assets(args) => commands::assets::run(args),
        Command::Generate(args) => commands::generate::run(args),
        Command::Perplexity(args) => commands::perplexity::run(args),
        Command::Grid(args) => commands::grid::run(args),
        Command::Report(args) => commands::report::run(args),
        Command::CompareRuns(args) => commands::compare_runs::run(args),
        Command::Analyze(args) => commands::analyze::run(args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Merge(args) => commands::merge::run(args),
    }
}
