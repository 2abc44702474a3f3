//! `results/<grid>/summary.csv`: one row per finished run, built as a polars `DataFrame`.
//!
//! Column order is fixed: the identifying columns, then one column per metric name seen in any
//! run (sorted by name, empty where a run lacks it), then the run facts. Floats are written
//! with [`FLOAT_PRECISION`] decimals in positional notation, so renders are byte-identical.
//! A non-finite float (a diverged run's `final_loss`) is written as polars spells it (`NaN`,
//! `inf`).

use super::load::LoadedRun;
use anyhow::{Context, Result};
use polars::prelude::{Column, CsvWriter, DataFrame, SerWriter};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// File name of the per-run table inside the grid folder.
pub const SUMMARY_FILE: &str = "summary.csv";
/// Decimals written for every float column.
pub const FLOAT_PRECISION: usize = 6;

/// Columns before the metric columns: the run, its method label, then its identity fields
/// (`result.json`'s `identity`: registry method, quantization, activation name, rank, α,
/// learning rate; `activation` and `r` empty where the run has none), its seed and status.
pub const LEADING_COLUMNS: [&str; 12] = ["run_id", "group", "task", "method", "adapter_method", "quant", "activation", "r", "alpha", "lr", "seed", "status"];
/// Columns after the metric columns.
pub const TRAILING_COLUMNS: [&str; 12] = [
    "primary_metric",
    "steps",
    "final_loss",
    "trainable_params",
    "train_s",
    "eval_s",
    "total_s",
    "peak_rss_mb",
    "threads",
    "git",
    "data_sha256",
    "error",
];

/// Metric names found in any run, sorted.
pub fn metric_names(runs: &[LoadedRun]) -> Vec<String> {
    let names: BTreeSet<&str> = runs
        .iter()
        .flat_map(|r| r.result.metrics.keys().map(String::as_str))
        .collect();
    names.into_iter().map(str::to_owned).collect()
}

/// The full header of `summary.csv` for these runs.
pub fn summary_columns(runs: &[LoadedRun]) -> Vec<String> {
    LEADING_COLUMNS
        .iter()
        .map(|c| c.to_string())
        .chain(metric_names(runs))
        .chain(TRAILING_COLUMNS.iter().map(|c| c.to_string()))
        .collect()
}

/// Builds the summary table, one row per run in the given order.
pub fn summary_frame(runs: &[LoadedRun]) -> Result<DataFrame> {
    let text = |name: &str, f: &dyn Fn(&LoadedRun) -> String| {
        Column::new(name.into(), runs.iter().map(f).collect::<Vec<String>>())
    };
    let int = |name: &str, f: &dyn Fn(&LoadedRun) -> u64| {
        Column::new(name.into(), runs.iter().map(f).collect::<Vec<u64>>())
    };
    let float = |name: &str, f: &dyn Fn(&LoadedRun) -> f64| {
        Column::new(name.into(), runs.iter().map(f).collect::<Vec<f64>>())
    };

    let mut columns = vec![
        text("run_id", &|r| r.result.run_id.clone()),
        text("group", &|r| r.result.group.clone()),
        text("task", &|r| r.result.task.clone()),
        text("method", &|r| r.result.method.clone()),
        text("adapter_method", &|r| r.result.identity.method.clone()),
        text("quant", &|r| r.result.identity.quantization.name().to_owned()),
        Column::new("activation".into(), runs.iter().map(|r| r.result.identity.activation_name()).collect::<Vec<Option<&str>>>()),
        Column::new("r".into(), runs.iter().map(|r| r.result.identity.rank().map(|r| r as u64)).collect::<Vec<Option<u64>>>()),
        float("alpha", &|r| r.result.identity.alpha),
        float("lr", &|r| r.result.identity.lr),
        int("seed", &|r| r.result.seed),
        text("status", &|r| status_label(r).to_owned()),
    ];
    for name in metric_names(runs) {
        let values: Vec<Option<f64>> = runs
            .iter()
            .map(|r| r.result.metrics.get(&name).copied())
            .collect();
        columns.push(Column::new(name.as_str().into(), values));
    }
    columns.extend([
        text("primary_metric", &|r| r.result.primary_metric.clone()),
        int("steps", &|r| r.result.train.steps as u64),
        float("final_loss", &|r| r.result.train.final_loss),
        int("trainable_params", &|r| r.result.train.trainable_params),
        float("train_s", &|r| r.result.timings.train_s),
        float("eval_s", &|r| r.result.timings.eval_s),
        float("total_s", &|r| r.result.timings.total_s),
        float("peak_rss_mb", &|r| r.result.peak_rss_mb),
        int("threads", &|r| r.result.threads as u64),
        text("git", &|r| r.result.git.clone()),
        text("data_sha256", &|r| r.result.data_sha256.clone()),
    ]);
    let errors: Vec<Option<&str>> = runs.iter().map(|r| r.result.error.as_deref()).collect();
    columns.push(Column::new("error".into(), errors));

    DataFrame::new(runs.len(), columns)
        .context("cannot build the summary table (does a metric share a name with a column?)")
}

/// Writes `<grid_dir>/summary.csv` (through a temporary file, then a rename) and returns its path.
pub fn write_summary_csv(grid_dir: &Path, runs: &[LoadedRun]) -> Result<PathBuf> {
    let mut df = summary_frame(runs)?;
    let mut bytes = Vec::new();
    CsvWriter::new(&mut bytes)
        .include_header(true)
        .with_float_precision(Some(FLOAT_PRECISION))
        .with_float_scientific(Some(false))
        .finish(&mut df)
        .context("cannot serialise the summary table as CSV")?;
    let path = grid_dir.join(SUMMARY_FILE);
    super::output::write_atomic(&path, &bytes)?;
    Ok(path)
}

fn status_label(run: &LoadedRun) -> &'static str {
    use loran_train::record::RunStatus;
    match run.result.status {
        RunStatus::Ok => "ok",
        RunStatus::Failed => "failed",
        RunStatus::Diverged => "diverged",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::load_runs;
    use crate::test_support::{identity, result, steps, with_identity, write_run};
    use loran_train::record::RunStatus;

    #[test]
    fn frame_columns_follow_the_documented_order() {
        let grid = tempfile::tempdir().unwrap();
        write_run(
            grid.path(),
            &result("a", "t", 0, &[("rougeL", 0.3), ("rouge1", 0.4)]),
            &[],
        );
        write_run(grid.path(), &result("b", "t", 0, &[("accuracy", 0.9)]), &[]);
        let runs = load_runs(grid.path()).unwrap();
        let df = summary_frame(&runs).unwrap();
        let names: Vec<String> = df
            .get_column_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(names, summary_columns(&runs));
        assert_eq!(metric_names(&runs), ["accuracy", "rouge1", "rougeL"]);
        assert_eq!(df.height(), 2);
    }

    #[test]
    fn csv_text_is_exact() {
        let grid = tempfile::tempdir().unwrap();
        write_run(
            grid.path(),
            &result("lora-x", "x", 3, &[("accuracy", 0.875)]),
            &steps(),
        );
        let loran = identity("loran", loran_train::identity::QuantMode::Nf4, "sinter");
        let mut failed = with_identity(result("loran-x", "x", 1, &[]), loran);
        failed.status = RunStatus::Failed;
        failed.error = Some("out of memory, at step 2".into());
        failed.train.final_loss = f64::NAN;
        write_run(grid.path(), &failed, &[]);
        let runs = load_runs(grid.path()).unwrap();
        let path = write_summary_csv(grid.path(), &runs).unwrap();
        assert_eq!(path, grid.path().join(SUMMARY_FILE));
        let text = std::fs::read_to_string(path).unwrap();
        let expected = "\
run_id,group,task,method,adapter_method,quant,activation,r,alpha,lr,seed,status,accuracy,primary_metric,steps,final_loss,trainable_params,train_s,eval_s,total_s,peak_rss_mb,threads,git,data_sha256,error
lora-x-s3-0000abcd,lora-x,x,lora,lora,none,,64,16.000000,0.000200,3,ok,0.875000,accuracy,4,1.250000,4096,10.000000,2.000000,12.500000,512.000000,2,abc123,d474,
loran-x-s1-0000abcd,loran-x,x,loran-sinter+nf4,loran,nf4,sinter,64,16.000000,0.000200,1,failed,,accuracy,4,NaN,4096,10.000000,2.000000,12.500000,512.000000,2,abc123,d474,\"out of memory, at step 2\"
";
        assert_eq!(text, expected);
    }

    #[test]
    fn no_runs_still_writes_the_fixed_header() {
        let grid = tempfile::tempdir().unwrap();
        let path = write_summary_csv(grid.path(), &[]).unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        let header: Vec<&str> = LEADING_COLUMNS
            .iter()
            .chain(TRAILING_COLUMNS.iter())
            .copied()
            .collect();
        assert_eq!(text, header.join(",") + "\n");
    }
}
