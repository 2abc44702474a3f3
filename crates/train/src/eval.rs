//! Evaluation: greedy generation with a KV cache on the test split, then task metrics.

use crate::config::EvalConfig;
use crate::record::PredictionRecord;
use anyhow::{anyhow, Result};
use loran_datasets::{parse_label, tokenize_prompt, LoadedTask, TaskKind, TokenLimits};
use loran_metrics::{classify, corpus_rouge, RougeVariant};
use crate::prefix::PromptPrefixes;
use loran_model::generate::{generate_batch, generate_batch_from, Decoding, GenerateOptions};
use loran_model::Llama;
use std::collections::BTreeMap;
use tokenizers::Tokenizer;

/// Test metrics and per-example predictions.
#[derive(Debug, Clone)]
pub struct EvalOutcome {
    /// Metric name → value on a 0–1 scale.
    pub metrics: BTreeMap<String, f64>,
    /// The metric to show first (`rougeL` or `accuracy`).
    pub primary_metric: String,
    /// One record per scored example, in test order.
    pub predictions: Vec<PredictionRecord>,
}

/// Generates an answer for up to `cfg.max_examples` test examples and scores them.
///
/// `prefixes`, when given, holds (or receives) the prompts' states below the lowest
/// adapted block, shared with other cells. `on_example(done, total)` reports progress.
pub fn evaluate(
    model: &Llama,
    tokenizer: &Tokenizer,
    task: &LoadedTask,
    cfg: &EvalConfig,
    limits: &TokenLimits,
    prefixes: Option<&PromptPrefixes>,
    on_example: &mut dyn FnMut(usize, usize),
) -> Result<EvalOutcome> {
    let examples: Vec<_> = task.splits.test.iter().take(cfg.max_examples).collect();
    if examples.is_empty() {
        return Err(anyhow!("task `{}` has an empty test split; raise `data.test_fraction`, or give the data a test file", task.name));
    }
    let opts = GenerateOptions {
        max_new_tokens: cfg.max_new_tokens,
        decoding: Decoding::Greedy,
        stop_tokens: model.config().eos_token_ids.clone(),
    };
    let prompts = examples
        .iter()
        .map(|ex| tokenize_prompt(tokenizer, &task.template, ex, limits))
        .collect::<Result<Vec<_>, _>>()?;
    // Similar lengths share a batch, so little is padded; answers go back to test order.
    let mut order: Vec<usize> = (0..prompts.len()).collect();
    order.sort_by_key(|&i| prompts[i].len());
    let mut generated = vec![String::new(); prompts.len()];
    let mut done = 0;
    for (index, chunk) in order.chunks(cfg.batch_size.max(1)).enumerate() {
        let batch: Vec<Vec<u32>> = chunk.iter().map(|&i| prompts[i].clone()).collect();
        let outs = match prefixes {
            Some(p) => generate_batch_from(model, &batch, &opts, Some(p.batch(index, model, &batch)?.as_ref()))?,
            None => generate_batch(model, &batch, &opts)?,
        };
        for (&i, out) in chunk.iter().zip(outs) {
            let text = tokenizer.decode(&out.tokens, true).map_err(|e| anyhow!("decoding an answer: {e}"))?;
            generated[i] = text.trim().to_string();
        }
        done += chunk.len();
        on_example(done, prompts.len());
        crate::faults::point("eval-generate")?;
    }
    let mut metrics = BTreeMap::new();
    // Per example: every metric's score, and the parsed label of a classification answer.
    let (primary_metric, scores, labels): (String, Vec<BTreeMap<String, f64>>, Vec<Option<String>>) = match &task.kind {
        TaskKind::Summarization => {
            let pairs: Vec<(&str, &str)> = examples.iter().zip(&generated).map(|(e, g)| (e.target.as_str(), g.as_str())).collect();
            let (corpus, per_example) = corpus_rouge(&pairs, cfg.rouge_stemmer)?;
            metrics.insert("rouge1".into(), corpus.rouge1);
            metrics.insert("rouge2".into(), corpus.rouge2);
            metrics.insert("rougeL".into(), corpus.rouge_l);
            metrics.insert("rougeLsum".into(), corpus.rouge_lsum);
            let variants = [("rouge1", RougeVariant::Rouge1), ("rouge2", RougeVariant::Rouge2), ("rougeL", RougeVariant::RougeL), ("rougeLsum", RougeVariant::RougeLsum)];
            let scores = per_example.iter().map(|s| variants.iter().map(|(name, v)| (name.to_string(), s.get(*v).fmeasure)).collect()).collect();
            ("rougeL".to_string(), scores, vec![None; examples.len()])
        }
        TaskKind::Classification { labels } => {
            let gold: Vec<&str> = examples.iter().map(|e| e.target.as_str()).collect();
            let parsed: Vec<Option<String>> = generated.iter().map(|g| parse_label(g, labels)).collect();
            let report = classify(&gold, &parsed)?;
            metrics.insert("accuracy".into(), report.accuracy);
            metrics.insert("macro_f1".into(), report.macro_f1);
            metrics.insert("unparseable".into(), report.unparseable as f64 / report.n as f64);
            let scores = gold.iter().zip(&parsed).map(|(g, p)| BTreeMap::from([("accuracy".to_string(), f64::from(p.as_deref() == Some(*g)))])).collect();
            ("accuracy".to_string(), scores, parsed)
        }
    };
    let predictions = examples
        .iter()
        .zip(generated)
        .zip(scores.into_iter().zip(labels))
        .map(|((ex, prediction), (scores, label))| PredictionRecord {
            id: ex.id.clone(),
            target: ex.target.clone(),
            prediction,
            score: scores.get(&primary_metric).copied().unwrap_or(f64::NAN),
            scores,
            label,
            loss_sum: None,
            loss_tokens: None,
        })
        .collect();
    Ok(EvalOutcome { metrics, primary_metric, predictions })
}
