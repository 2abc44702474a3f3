//! Evaluation: greedy generation with a KV cache on the test split, then task metrics.

use crate::config::EvalConfig;
use crate::record::PredictionRecord;
use anyhow::{anyhow, Result};
use loran_datasets::{tokenize_prompt, LoadedTask, TokenLimits};
use loran_metrics::{ScoreInput, ScoreOptions};
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
    /// The metric to show first: the task kind's scorer's primary (`rougeL`, `accuracy`).
    pub primary_metric: String,
    /// One record per scored example, in test order.
    pub predictions: Vec<PredictionRecord>,
    /// The version of the scorer that scored them.
    pub scorer_version: u32,
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
    // The task kind's scorer (by name: loran-metrics knows nothing of TaskKind) scores the
    // answers: metric values, per-example scores and, for classification, parsed labels.
    let scorer = loran_metrics::scorer(task.kind.name())?;
    let references: Vec<&str> = examples.iter().map(|e| e.target.as_str()).collect();
    let answers: Vec<&str> = generated.iter().map(String::as_str).collect();
    let input = ScoreInput { references: &references, predictions: &answers, labels: task.kind.labels(), options: ScoreOptions { rouge_stemmer: cfg.rouge_stemmer } };
    let scored = (scorer.score)(&input)?;
    let (metrics, scores, labels) = (scored.metrics, scored.per_example, scored.labels);
    let primary_metric = scorer.primary.to_string();
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
    Ok(EvalOutcome { metrics, primary_metric, predictions, scorer_version: scorer.version })
}

#[cfg(test)]
mod tests {
    use loran_datasets::{fixtures::synthetic_store, load_task, TaskOptions, TASKS};

    /// The seam between the two crates: every offline task's kind names a registered scorer.
    #[test]
    fn every_offline_task_kind_has_a_scorer() {
        let dir = tempfile::tempdir().unwrap();
        let store = synthetic_store(dir.path(), 40, 40).unwrap();
        for info in TASKS.iter().filter(|t| t.asset.is_some()) {
            let task = load_task(info.name, &store, &TaskOptions::default()).unwrap();
            let scorer = loran_metrics::scorer(task.kind.name()).unwrap_or_else(|e| panic!("{}: {e}", info.name));
            assert_eq!(scorer.kind, task.kind.name());
        }
    }
}
