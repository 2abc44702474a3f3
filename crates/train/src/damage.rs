//! Whether a finished run folder still holds what its `result.json` says it wrote.
//!
//! `result.json` is written last, so a run with it finished; but its `metrics.jsonl` or
//! `predictions.jsonl` can still be cut or deleted afterwards (by hand, a copy, a full
//! disk elsewhere). Such a run is *damaged*: the grid runs it again and the report leaves
//! it out, instead of one bad line blocking every report or a missing file silently
//! turning the deltas into "n/a".

use crate::record::{PredictionRecord, ResultHeader, RunResult, StepRecord, RESULT_SCHEMA};
use serde::de::DeserializeOwned;
use std::path::Path;

/// Per-step training records.
pub const METRICS_FILE: &str = "metrics.jsonl";
/// Per-example predictions.
pub const PREDICTIONS_FILE: &str = "predictions.jsonl";
/// The run's result, written last.
pub const RESULT_FILE: &str = "result.json";

/// What is wrong with a finished run's files, e.g. `metrics.jsonl line 7 does not parse`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file} {what}")]
pub struct Damage {
    /// The file's name inside the run folder.
    pub file: &'static str,
    /// What is wrong with it.
    pub what: String,
    /// Whether the files are broken or only outdated.
    pub cause: Cause,
}

/// Why a finished run is redone and left out of reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// A file is cut, missing or unreadable.
    Damaged,
    /// The files are intact but the metrics come from an older scorer ([`outdated`]).
    OlderScorer,
    /// `result.json` has an older layout than today's [`RESULT_SCHEMA`] ([`older_schema`]).
    OlderSchema,
}

impl Damage {
    fn new(file: &'static str, what: impl Into<String>) -> Self {
        Self { file, what: what.into(), cause: Cause::Damaged }
    }

    /// How messages put it: `is damaged`, `was scored by an older scorer`, or `was written
    /// with an older result schema`.
    pub fn state(&self) -> &'static str {
        match self.cause {
            Cause::Damaged => "is damaged",
            Cause::OlderScorer => "was scored by an older scorer",
            Cause::OlderSchema => "was written with an older result schema",
        }
    }
}

/// The step records of the run in `dir`: every line must parse and, when `result.json`
/// recorded how many it wrote, the count must match. A missing file is no steps.
pub fn read_steps(dir: &Path, result: &RunResult) -> Result<Vec<StepRecord>, Damage> {
    let steps = read_lines::<StepRecord>(dir, METRICS_FILE)?.unwrap_or_default();
    match result.step_records {
        Some(expected) if expected != steps.len() => {
            Err(Damage::new(METRICS_FILE, format!("holds {} step record(s) where result.json counts {expected}", steps.len())))
        }
        _ => Ok(steps),
    }
}

/// The predictions of the run in `dir`, `None` when it wrote none. Every line must parse;
/// when `result.json` recorded how many were written, the file must exist and hold them all.
pub fn read_predictions(dir: &Path, result: &RunResult) -> Result<Option<Vec<PredictionRecord>>, Damage> {
    let predictions = read_lines::<PredictionRecord>(dir, PREDICTIONS_FILE)?;
    match (result.prediction_records, &predictions) {
        (Some(_), None) => Err(Damage::new(PREDICTIONS_FILE, "is missing")),
        (Some(expected), Some(found)) if found.len() != expected => {
            Err(Damage::new(PREDICTIONS_FILE, format!("holds {} prediction(s) where result.json counts {expected}", found.len())))
        }
        _ => Ok(predictions),
    }
}

/// The first thing wrong with the finished run in `dir`, if anything is.
pub fn check(dir: &Path, result: &RunResult) -> Option<Damage> {
    outdated(result).or_else(|| read_steps(dir, result).err()).or_else(|| read_predictions(dir, result).err())
}

/// `result.json` when its metrics were made by an older version of the task kind's scorer
/// than today's (the kind is the one whose primary metric the run reports): its numbers
/// would not compare with a new run's, so it is redone and kept out of tables like damage.
pub fn outdated(result: &RunResult) -> Option<Damage> {
    let scorer = loran_metrics::scoring::SCORERS.iter().find(|s| result.metrics.contains_key(s.primary))?;
    let recorded = result.scorer_version.unwrap_or(1);
    (recorded < scorer.version).then(|| {
        Damage { cause: Cause::OlderScorer, ..Damage::new(RESULT_FILE, format!("holds metrics of {} scorer version {recorded}, older than today's {}", scorer.kind, scorer.version)) }
    })
}

/// Why a `result.json` text is not a run result of today's schema ([`parse_result`]).
#[derive(Debug)]
pub enum ResultError {
    /// Written with an older schema (1: before the run's identity was recorded as fields):
    /// the fields every schema has, and the [`Cause::OlderSchema`] damage that says so.
    Older {
        /// The file's schema, status and config hash.
        header: ResultHeader,
        /// What to tell the user.
        damage: Damage,
    },
    /// Written by a newer build than this one, whose layout it does not know.
    Newer(u32),
    /// Not a `result.json` of any schema (cut or edited): what serde says.
    Invalid(serde_json::Error),
}

/// Parses the text of a `result.json`. A run of an older schema no longer parses as a
/// [`RunResult`] (schema 2 added `identity`); it is recognised by its schema number and
/// comes back as [`ResultError::Older`], so the grid redoes it and reports leave it out
/// with a warning saying so, rather than calling it damaged or refusing the whole grid.
pub fn parse_result(text: &str) -> Result<RunResult, ResultError> {
    match serde_json::from_str::<ResultHeader>(text) {
        Ok(header) if header.schema < RESULT_SCHEMA => {
            let damage = older_schema(header.schema);
            Err(ResultError::Older { header, damage })
        }
        Ok(header) if header.schema > RESULT_SCHEMA => Err(ResultError::Newer(header.schema)),
        _ => serde_json::from_str(text).map_err(ResultError::Invalid),
    }
}

/// The damage of a run whose `result.json` has the older `schema`.
pub fn older_schema(schema: u32) -> Damage {
    let what = format!("has result schema {schema}, older than today's {RESULT_SCHEMA}, which records the run's method, quantization, activation and rank as fields");
    Damage { cause: Cause::OlderSchema, ..Damage::new(RESULT_FILE, what) }
}

/// Parses `dir/file` as JSON lines (blank lines are skipped); `None` when it is absent.
fn read_lines<T: DeserializeOwned>(dir: &Path, file: &'static str) -> Result<Option<Vec<T>>, Damage> {
    let text = match std::fs::read_to_string(dir.join(file)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => return Err(Damage::new(file, "is not UTF-8 text")),
        Err(e) => return Err(Damage::new(file, format!("cannot be read ({})", loran_io::one_line(&e.to_string())))),
    };
    let mut records = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let record = serde_json::from_str(line).map_err(|_| Damage::new(file, format!("line {} does not parse", index + 1)))?;
        records.push(record);
    }
    Ok(Some(records))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{RunStatus, Timings, TrainSummary, RESULT_SCHEMA};

    fn result(step_records: Option<usize>, prediction_records: Option<usize>) -> RunResult {
        RunResult {
            schema: RESULT_SCHEMA,
            status: RunStatus::Ok,
            grid: "g".into(),
            run_id: "r".into(),
            group: "r".into(),
            config_hash: "h".into(),
            seed: 0,
            task: "t".into(),
            method: "lora".into(),
            identity: crate::config::RunConfig::default().identity(),
            labels: Default::default(),
            metrics: Default::default(),
            primary_metric: "accuracy".into(),
            train: TrainSummary::default(),
            timings: Timings::default(),
            peak_rss_mb: 0.0,
            threads: 1,
            versions: Default::default(),
            git: "x".into(),
            data_sha256: "d".into(),
            error: None,
            finished_at: String::new(),
            warnings: Vec::new(),
            reused_from: None,
            step_records,
            prediction_records,
            scorer_version: None,
            task_labels: None,
            adapter_bytes: None,
        }
    }

    const STEP: &str = r#"{"step":1,"loss":2.0,"lr":0.01,"grad_norm":1.0,"tokens":4,"elapsed_s":0.1}"#;
    const PREDICTION: &str = r#"{"id":"a","target":"x","prediction":"x","score":1.0}"#;

    fn run(metrics: Option<String>, predictions: Option<String>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        if let Some(text) = metrics {
            std::fs::write(dir.path().join(METRICS_FILE), text).unwrap();
        }
        if let Some(text) = predictions {
            std::fs::write(dir.path().join(PREDICTIONS_FILE), text).unwrap();
        }
        dir
    }

    #[test]
    fn an_intact_run_reads_back_whole() {
        let dir = run(Some(format!("{STEP}\n{STEP}\n")), Some(format!("{PREDICTION}\n")));
        let r = result(Some(2), Some(1));
        assert_eq!(check(dir.path(), &r), None);
        assert_eq!(read_steps(dir.path(), &r).unwrap().len(), 2);
        assert_eq!(read_predictions(dir.path(), &r).unwrap().unwrap().len(), 1);
    }

    #[test]
    fn a_cut_line_is_named_by_file_and_line() {
        let dir = run(Some(format!("{STEP}\n{STEP}\n{}", &STEP[..20])), None);
        let damage = check(dir.path(), &result(None, None)).unwrap();
        assert_eq!(damage.to_string(), "metrics.jsonl line 3 does not parse");
    }

    #[test]
    fn a_file_cut_at_a_line_end_is_caught_by_the_recorded_count() {
        let dir = run(Some(format!("{STEP}\n")), Some(format!("{PREDICTION}\n")));
        let damage = check(dir.path(), &result(Some(2), Some(1))).unwrap();
        assert_eq!(damage.to_string(), "metrics.jsonl holds 1 step record(s) where result.json counts 2");
        let damage = check(dir.path(), &result(Some(1), Some(3))).unwrap();
        assert_eq!(damage.to_string(), "predictions.jsonl holds 1 prediction(s) where result.json counts 3");
    }

    #[test]
    fn missing_predictions_are_damage_only_when_the_run_recorded_writing_them() {
        let dir = run(Some(format!("{STEP}\n")), None);
        assert_eq!(check(dir.path(), &result(Some(1), Some(4))).unwrap().to_string(), "predictions.jsonl is missing");
        assert_eq!(check(dir.path(), &result(Some(1), None)), None, "a run that wrote none");
        assert_eq!(check(dir.path(), &result(None, None)), None, "a run recorded before the counts existed");
        let no_steps = run(None, None);
        assert_eq!(check(no_steps.path(), &result(Some(0), None)), None, "a run without training steps");
    }

    #[test]
    fn runs_scored_by_an_older_scorer_are_outdated() {
        let summarization = loran_metrics::scorer("summarization").unwrap().version;
        assert!(summarization >= 2, "ROUGE-Lsum's sentence split bumped it");
        let mut r = result(None, None);
        r.metrics.insert("rougeL".into(), 0.3);
        // No version recorded: version 1, from before sentence splitting.
        assert_eq!(outdated(&r).unwrap().state(), "was scored by an older scorer");
        let e = outdated(&r).unwrap().to_string();
        assert_eq!(e, format!("result.json holds metrics of summarization scorer version 1, older than today's {summarization}"));
        r.scorer_version = Some(summarization);
        assert!(outdated(&r).is_none());
        // Classification is at 2 (macro-F1 over the task's labels); a run without metrics
        // (diverged) has no scorer.
        let mut c = result(None, None);
        c.metrics.insert("accuracy".into(), 0.5);
        assert!(outdated(&c).is_some(), "a version-1 classification run");
        c.scorer_version = Some(loran_metrics::scorer("classification").unwrap().version);
        assert!(outdated(&c).is_none() && outdated(&result(None, None)).is_none());
        let dir = run(None, None);
        assert!(check(dir.path(), &r).is_none());
        r.scorer_version = None;
        assert!(check(dir.path(), &r).is_some());
    }

    #[test]
    fn a_result_of_schema_1_is_recognised_as_older_not_as_unparseable() {
        let current = result(Some(0), None);
        let text = serde_json::to_string_pretty(&current).unwrap();
        assert_eq!(parse_result(&text).unwrap(), current);
        // Schema 1 had no `identity`: as such a file reads, it must not parse as today's.
        let mut old: serde_json::Value = serde_json::from_str(&text).unwrap();
        old["schema"] = 1.into();
        old.as_object_mut().unwrap().remove("identity");
        let Err(ResultError::Older { header, damage }) = parse_result(&old.to_string()) else { panic!("schema 1 is older") };
        assert_eq!((header.schema, header.config_hash.as_str(), header.status), (1, "h", RunStatus::Ok));
        assert_eq!(damage.state(), "was written with an older result schema");
        assert!(damage.to_string().starts_with("result.json has result schema 1, older than today's 2"), "{damage}");
        old["schema"] = (RESULT_SCHEMA + 1).into();
        assert!(matches!(parse_result(&old.to_string()), Err(ResultError::Newer(3))));
        assert!(matches!(parse_result(&text[..text.len() / 2]), Err(ResultError::Invalid(_))));
    }
}
