//! `loran-bench`: speed and memory of our training against PyTorch+PEFT, the matmul
//! kernels, the model's forward pass and ROUGE. Every figure is printed, never asserted;
//! each names the CPU it ran on. Kept out of `loran` so the experiment command stays small.

mod loran;
mod matmul;
mod memory;
mod model;
mod peft;
mod peft_check;
mod rouge;
mod train;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Benchmarks of loran-lab on this CPU (figures printed, never asserted).
#[derive(Debug, Parser)]
#[command(name = "loran-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    errors: loran_runner::cli::ErrorArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Forward-pass throughput of a base model (tokens/s).
    Model(model::BenchArgs),
    /// LoRA training throughput (ms/step, tokens/s).
    Train(train::BenchTrainArgs),
    /// LoRA and LoRAN training steps side by side (median ms/step and their ratio).
    Loran(loran::BenchLoranArgs),
    /// Peak RSS of f32 LoRA against QLoRA training, each in its own process.
    Memory(memory::BenchMemoryArgs),
    /// Our LoRA/LoRAN training step against PyTorch+PEFT, side by side, plus peak RSS.
    Peft(peft::BenchPeftArgs),
    /// PEFT interop, our side: the tiny model, our PEFT-layout LoRA, its logits and merge.
    PeftExport(peft_check::ExportArgs),
    /// PEFT interop, our side: logits of a PEFT-written adapter against PEFT's own.
    PeftLogits(peft_check::LogitsArgs),
    /// The bf16 frozen-weight matmul kernels: per-core peak and GFLOP/s on SmolLM2 shapes.
    Matmul(matmul::BenchMatmulArgs),
    /// ROUGE throughput of loran_metrics against the rouge-score Python package.
    Rouge(rouge::BenchRougeArgs),
}

fn main() -> std::process::ExitCode {
    loran_runner::cli::prepare_process();
    let Cli { command, errors } = Cli::parse();
    loran_runner::cli::exit_code(run(command), &errors)
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Model(args) => model::run(args),
        Command::Train(args) => train::run(args),
        Command::Loran(args) => loran::run(args),
        Command::Memory(args) => memory::run(args),
        Command::Peft(args) => peft::run(args),
        Command::PeftExport(args) => peft_check::export(args),
        Command::PeftLogits(args) => peft_check::peft_logits(args),
        Command::Matmul(args) => matmul::run(args),
        Command::Rouge(args) => rouge::run(args),
    }
}
