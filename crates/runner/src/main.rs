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
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Fetch the offline model and datasets into $LORAN_HOME (idempotent).
    Assets(commands::assets::AssetsArgs),
    /// Continue a prompt with a base model.
    Generate(commands::generate::GenerateArgs),
    /// Perplexity of a text under a base model.
    Perplexity(commands::perplexity::PerplexityArgs),
    /// Forward-pass throughput of a base model (tokens/s).
    BenchModel(commands::bench::BenchArgs),
    /// LoRA training throughput (ms/step, tokens/s).
    BenchTrain(commands::bench_train::BenchTrainArgs),
    /// LoRA and LoRAN training steps side by side (median ms/step and their ratio).
    BenchLoran(commands::bench_compare::BenchLoranArgs),
    /// Peak RSS of f32 LoRA against QLoRA training, each in its own process.
    BenchMemory(commands::bench_memory::BenchMemoryArgs),
    /// Our LoRA/LoRAN training step against PyTorch+PEFT, side by side, plus peak RSS.
    BenchPeft(commands::bench_peft::BenchPeftArgs),
    /// The bf16 frozen-weight matmul kernels: per-core peak and GFLOP/s on SmolLM2 shapes.
    BenchMatmul(commands::bench_matmul::BenchMatmulArgs),
    /// ROUGE throughput of loran_metrics against the rouge-score Python package.
    BenchRouge(commands::bench_rouge::BenchRougeArgs),
    /// Plan or run experiment grids.
    Grid(commands::grid::GridArgs),
    /// Re-render a grid's summary and figures without training.
    Report(commands::report::ReportArgs),
    /// Compare two results folders of one grid number by number (reruns, thread counts).
    CompareRuns(commands::compare_runs::CompareRunsArgs),
}

fn main() -> std::process::ExitCode {
    restore_sigpipe();
    loran_runner::alloc::keep_freed_memory();
    loran_runner::run::env::default_elementwise_threads();
    if let Err(e) = loran_runner::faults::configure_from_env() {
        eprintln!("error: {e}");
        return std::process::ExitCode::FAILURE;
    }
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The cause chain on one line; no backtrace, whatever RUST_BACKTRACE says.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Ends the process quietly when its output pipe closes (`loran grid plan … | head`), as
/// other command-line tools do: Rust ignores SIGPIPE, so `println!` would panic on EPIPE.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`; restores the default disposition of one signal.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Assets(args) => commands::assets::run(args),
        Command::Generate(args) => commands::generate::run(args),
        Command::Perplexity(args) => commands::perplexity::run(args),
        Command::BenchModel(args) => commands::bench::run(args),
        Command::BenchTrain(args) => commands::bench_train::run(args),
        Command::BenchLoran(args) => commands::bench_compare::run(args),
        Command::BenchMemory(args) => commands::bench_memory::run(args),
        Command::BenchPeft(args) => commands::bench_peft::run(args),
        Command::BenchMatmul(args) => commands::bench_matmul::run(args),
        Command::BenchRouge(args) => commands::bench_rouge::run(args),
        Command::Grid(args) => commands::grid::run(args),
        Command::Report(args) => commands::report::run(args),
        Command::CompareRuns(args) => commands::compare_runs::run(args),
    }
}
