//! `loran generate`: continue a prompt, greedily or by sampling.

use loran_runner::cli::{AdapterArgs, ModelArgs};
use anyhow::{anyhow, Result};
use clap::Args;
use loran_model::chat::{chatml, Role};
use loran_model::generate::{generate, Decoding, GenerateOptions};
use loran_model::tokenizer::encode;

/// Arguments of `loran generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    adapter: AdapterArgs,
    /// The prompt (a user message with --chat, raw text otherwise).
    #[arg(long)]
    prompt: String,
    /// Wrap the prompt in the ChatML template and open the assistant turn.
    #[arg(long)]
    chat: bool,
    /// Optional system message (with --chat).
    #[arg(long)]
    system: Option<String>,
    /// Most new tokens.
    #[arg(long, default_value_t = 64)]
    max_new_tokens: usize,
    /// Sampling temperature; 0 means greedy.
    #[arg(long, default_value_t = 0.0)]
    temperature: f64,
    /// Nucleus mass for sampling.
    #[arg(long)]
    top_p: Option<f64>,
    /// Sampling seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Runs the command.
pub fn run(args: GenerateArgs) -> Result<()> {
    let loaded = args.adapter.load(&args.model)?;
    let text = if args.chat {
        let mut messages = Vec::new();
        if let Some(system) = &args.system {
            messages.push((Role::System, system.as_str()));
        }
        messages.push((Role::User, args.prompt.as_str()));
        chatml(&messages, true)
    } else {
        args.prompt.clone()
    };
    let ids = encode(&loaded.tokenizer, &text).map_err(|e| anyhow!("tokenizing the prompt: {e}"))?;
    let decoding = if args.temperature > 0.0 {
        Decoding::Sample { temperature: args.temperature, top_p: args.top_p, seed: args.seed }
    } else {
        Decoding::Greedy
    };
    let opts = GenerateOptions {
        max_new_tokens: args.max_new_tokens,
        decoding,
        stop_tokens: loaded.model.config().eos_token_ids.clone(),
    };
    let start = std::time::Instant::now();
    let out = generate(&loaded.model, &ids, &opts)?;
    let secs = start.elapsed().as_secs_f64();
    let answer = loaded.tokenizer.decode(&out.tokens, true).map_err(|e| anyhow!("decoding: {e}"))?;
    println!("{answer}");
    eprintln!(
        "{} prompt tokens, {} new tokens in {secs:.2}s ({:.1} tok/s), {}",
        ids.len(),
        out.tokens.len(),
        out.tokens.len() as f64 / secs,
        if out.stopped { "stopped at eos" } else { "hit max_new_tokens" }
    );
    Ok(())
}
