//! `loran perplexity`: how surprised the model is by a text.

use loran_runner::cli::{AdapterArgs, ModelArgs};
use anyhow::{anyhow, Result};
use clap::Args;
use loran_model::generate::perplexity;
use loran_model::tokenizer::encode;

/// Arguments of `loran perplexity`.
#[derive(Debug, Args)]
pub struct PerplexityArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    adapter: AdapterArgs,
    /// The text to score (tokenized as is, no BOS added).
    #[arg(long)]
    text: String,
}

/// Runs the command.
pub fn run(args: PerplexityArgs) -> Result<()> {
    let loaded = args.adapter.load(&args.model)?;
    let ids = encode(&loaded.tokenizer, &args.text).map_err(|e| anyhow!("tokenizing the text: {e}"))?;
    let p = perplexity(&loaded.model, &ids)?;
    println!("tokens: {} (predicted: {})", ids.len(), p.nll_per_token.len());
    println!("mean NLL: {:.6} nats", p.mean_nll);
    println!("perplexity: {:.4}", p.ppl);
    Ok(())
}
