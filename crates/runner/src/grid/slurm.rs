//! A grid as a Slurm job array: the batch scripts `loran grid submit --slurm` writes under
//! `results/<grid>/slurm/`, the `sbatch` lines that submit them, and the record of what
//! was submitted (`jobs.jsonl`), which `loran grid status` matches against `squeue`.
//!
//! Each submission's script lists its own cells (Slurm keeps a copy of the script as it
//! was submitted), so a resubmission never renumbers the tasks of an earlier one still
//! queued. `cells.txt` beside it maps the latest submission's array indices to run ids.

use loran_train::files::{append_line, create_dir, write_atomic, ResultsWriteError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The folder of a grid's Slurm files.
pub const SLURM_DIR: &str = "slurm";
/// The array job's script.
pub const ARRAY_SCRIPT: &str = "array.sbatch";
/// The tuning runs' array job's script (grids with `lr_sweep:`).
pub const TUNING_SCRIPT: &str = "tuning.sbatch";
/// Array index → tuning run id, as [`CELLS_FILE`].
pub const TUNING_CELLS_FILE: &str = "tuning-cells.txt";
/// The dependent report job's script.
pub const REPORT_SCRIPT: &str = "report.sbatch";
/// Array index → run id, one run id a line (line 1 is index 0).
pub const CELLS_FILE: &str = "cells.txt";
/// One JSON line per submission ([`Submission`]).
pub const JOBS_FILE: &str = "jobs.jsonl";

/// The resources and knobs every task asks for (`sbatch` options of the same names).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlurmOptions {
    /// `--partition`.
    pub partition: Option<String>,
    /// `--time` (a task's limit, e.g. `2:00:00`).
    pub time: Option<String>,
    /// `--cpus-per-task`; also each task's `RAYON_NUM_THREADS`.
    pub cpus_per_task: u32,
    /// `--mem` (per task, e.g. `8G`).
    pub mem: Option<String>,
    /// `--gres` (e.g. `gpu:1`).
    pub gres: Option<String>,
    /// At most this many tasks at once (the array's `%K`).
    pub array_parallelism: Option<u32>,
    /// `--account`.
    pub account: Option<String>,
    /// Further `sbatch` arguments, passed on its command line as given.
    pub sbatch_args: Vec<String>,
}

/// Where the scripts and the tasks find things; every path absolute, since a task starts
/// in another process, often on another machine sharing the filesystem.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The `loran` binary the tasks run.
    pub loran: PathBuf,
    /// The grid YAML.
    pub grid_file: PathBuf,
    /// The results root (`--results`).
    pub results_root: PathBuf,
    /// `$LORAN_HOME` with the fetched assets.
    pub loran_home: PathBuf,
    /// The folder the tasks start in (where `submit` ran).
    pub workdir: PathBuf,
}

/// One submission, as `jobs.jsonl` records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    /// The array job's id.
    pub array_job: String,
    /// The report job's id.
    pub report_job: String,
    /// The run id of each array index (for a sweep's cells by index, their run ids
    /// before the sweep).
    pub cells: Vec<String>,
    /// The tuning runs' array job, for a grid with `lr_sweep:` whose tuning was unfinished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuning_job: Option<String>,
    /// When it was submitted (RFC 3339).
    pub submitted_at: String,
}

/// `text` as one single-quoted shell word.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn directives(out: &mut String, opts: &SlurmOptions) {
    let mut line = |key: &str, value: &str| out.push_str(&format!("#SBATCH --{key}={value}\n"));
    for (key, value) in [("partition", &opts.partition), ("time", &opts.time), ("mem", &opts.mem), ("gres", &opts.gres), ("account", &opts.account)] {
        if let Some(value) = value {
            line(key, value);
        }
    }
}

/// What the tasks of an array run: `loran grid run-cell FILE <selector> <value of the task>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tasks {
    /// Cells by run id (`--cell`).
    Cells,
    /// Tuning runs of a sweep by run id (`--tuning --cell`).
    Tuning,
    /// A sweep's cells by index before the sweep (`--index`): their run ids depend on the
    /// rates the tuning runs will choose.
    Indices,
}

impl Tasks {
    fn selector(self) -> &'static str {
        match self {
            Self::Cells => "--cell",
            Self::Tuning => "--tuning --cell",
            Self::Indices => "--index",
        }
    }
}

/// The array job's script for `grid`: task `i` runs `values[i]` (see [`Tasks`]), its log
/// in `slurm_dir` as `<array job>_<index>.log`.
pub fn array_script(grid: &str, tasks: Tasks, values: &[String], slurm_dir: &Path, paths: &Paths, opts: &SlurmOptions) -> String {
    let throttle = opts.array_parallelism.map(|k| format!("%{k}")).unwrap_or_default();
    let (name, what) = match tasks {
        Tasks::Tuning => (format!("{grid}-tuning"), "tuning run"),
        _ => (grid.to_string(), "unfinished cell"),
    };
    let mut s = format!(
        "#!/bin/bash\n# Written by `loran grid submit --slurm` for grid {grid}: one array task per {what}.\n\
         #SBATCH --job-name=loran-{name}\n#SBATCH --array=0-{}{throttle}\n#SBATCH --output={}/%A_%a.log\n#SBATCH --cpus-per-task={}\n",
        values.len().saturating_sub(1),
        slurm_dir.display(),
        opts.cpus_per_task
    );
    directives(&mut s, opts);
    let quoted: Vec<String> = values.iter().map(|c| shell_quote(c)).collect();
    s.push_str(&format!(
        "set -euo pipefail\ncells=({})\nexport RAYON_NUM_THREADS={}\nexport LORAN_HOME={}\ncd {}\n\
         # exec: Slurm's SIGTERM (scancel, time limit) reaches loran, which stops cleanly.\n\
         exec {} grid run-cell {} {} \"${{cells[$SLURM_ARRAY_TASK_ID]}}\" --results {}\n",
        quoted.join(" "),
        opts.cpus_per_task,
        shell_quote(&paths.loran_home.display().to_string()),
        shell_quote(&paths.workdir.display().to_string()),
        shell_quote(&paths.loran.display().to_string()),
        shell_quote(&paths.grid_file.display().to_string()),
        tasks.selector(),
        shell_quote(&paths.results_root.display().to_string()),
    ));
    s
}

/// The report job's script: renders `grid_dir`'s summary and tables once the array ends.
pub fn report_script(grid: &str, grid_dir: &Path, slurm_dir: &Path, paths: &Paths, opts: &SlurmOptions) -> String {
    let mut s = format!(
        "#!/bin/bash\n# Written by `loran grid submit --slurm`: the report of grid {grid}, after its array job.\n\
         #SBATCH --job-name=loran-{grid}-report\n#SBATCH --output={}/report-%j.log\n#SBATCH --cpus-per-task=1\n",
        slurm_dir.display()
    );
    let opts = SlurmOptions { gres: None, mem: None, ..opts.clone() };
    directives(&mut s, &opts);
    s.push_str(&format!(
        "set -euo pipefail\nexport LORAN_HOME={}\ncd {}\nexec {} report {}\n",
        shell_quote(&paths.loran_home.display().to_string()),
        shell_quote(&paths.workdir.display().to_string()),
        shell_quote(&paths.loran.display().to_string()),
        shell_quote(&grid_dir.display().to_string()),
    ));
    s
}

/// The `sbatch` arguments that submit the array script `script`, after job `after` ends
/// when given.
pub fn array_command(script: &Path, after: Option<&str>, opts: &SlurmOptions) -> Vec<String> {
    let mut args = vec!["--parsable".to_string()];
    args.extend(after.map(|job| format!("--dependency=afterany:{job}")));
    args.extend(opts.sbatch_args.iter().cloned());
    args.push(script.display().to_string());
    args
}

/// The `sbatch` arguments that submit the report job after array job `array_job`.
pub fn report_command(slurm_dir: &Path, array_job: &str) -> Vec<String> {
    vec!["--parsable".into(), format!("--dependency=afterany:{array_job}"), slurm_dir.join(REPORT_SCRIPT).display().to_string()]
}

/// The job id in `sbatch --parsable`'s output (`123`, or `123;cluster`).
pub fn parse_job_id(stdout: &str) -> Option<String> {
    let id = stdout.trim().split(';').next()?.trim();
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_digit())).then(|| id.to_string())
}

/// Writes `script` as `slurm_dir/name` and its index map `values` as `slurm_dir/map`.
pub fn write_script(slurm_dir: &Path, name: &str, script: &str, map: Option<(&str, &[String])>) -> Result<PathBuf, ResultsWriteError> {
    create_dir(slurm_dir)?;
    let path = slurm_dir.join(name);
    write_atomic(&path, script.as_bytes())?;
    if let Some((map, values)) = map {
        let mut text = values.join("\n");
        text.push('\n');
        write_atomic(&slurm_dir.join(map), text.as_bytes())?;
    }
    Ok(path)
}

/// Appends `submission` to `slurm_dir/jobs.jsonl`.
pub fn record(slurm_dir: &Path, submission: &Submission) -> Result<(), ResultsWriteError> {
    append_line(&slurm_dir.join(JOBS_FILE), &serde_json::to_string(submission).expect("a submission serializes"))
}

/// Every submission recorded in `slurm_dir` (lines that do not parse are skipped).
pub fn submissions(slurm_dir: &Path) -> Vec<Submission> {
    let text = std::fs::read_to_string(slurm_dir.join(JOBS_FILE)).unwrap_or_default();
    text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> Paths {
        Paths {
            loran: "/opt/loran".into(),
            grid_file: "/w/g.yaml".into(),
            results_root: "/w/results".into(),
            loran_home: "/w/home".into(),
            workdir: "/w".into(),
        }
    }

    #[test]
    fn the_array_script_runs_one_cell_per_index_with_the_asked_resources() {
        let opts = SlurmOptions { cpus_per_task: 4, array_parallelism: Some(2), partition: Some("cpu".into()), time: Some("1:00:00".into()), ..SlurmOptions::default() };
        let cells = vec!["a-s0".to_string(), "it's".to_string(), "c".to_string()];
        let s = array_script("g", Tasks::Cells, &cells, Path::new("/w/results/g/slurm"), &paths(), &opts);
        for line in [
            "#SBATCH --array=0-2%2",
            "#SBATCH --output=/w/results/g/slurm/%A_%a.log",
            "#SBATCH --cpus-per-task=4",
            "#SBATCH --partition=cpu",
            "#SBATCH --time=1:00:00",
            "cells=('a-s0' 'it'\\''s' 'c')",
            "export RAYON_NUM_THREADS=4",
            "exec '/opt/loran' grid run-cell '/w/g.yaml' --cell \"${cells[$SLURM_ARRAY_TASK_ID]}\" --results '/w/results'",
        ] {
            assert!(s.lines().any(|l| l == line), "no line `{line}` in:\n{s}");
        }
        assert!(!s.contains("--mem") && !s.contains("--account"), "{s}");
        let unthrottled = array_script("g", Tasks::Tuning, &cells, Path::new("/s"), &paths(), &SlurmOptions { cpus_per_task: 1, ..SlurmOptions::default() });
        assert!(unthrottled.lines().any(|l| l == "#SBATCH --array=0-2"), "{unthrottled}");
        assert!(unthrottled.contains("#SBATCH --job-name=loran-g-tuning\n") && unthrottled.contains(" --tuning --cell \"${cells[$SLURM_ARRAY_TASK_ID]}\" "), "{unthrottled}");
        let by_index = array_script("g", Tasks::Indices, &["0".into(), "2".into()], Path::new("/s"), &paths(), &opts);
        assert!(by_index.contains("cells=('0' '2')\n") && by_index.contains(" --index \"${cells[$SLURM_ARRAY_TASK_ID]}\" "), "{by_index}");
    }

    #[test]
    fn the_report_job_follows_the_array_whatever_its_tasks_ended_with() {
        let opts = SlurmOptions { cpus_per_task: 4, gres: Some("gpu:1".into()), account: Some("lab".into()), sbatch_args: vec!["--qos=low".into()], ..SlurmOptions::default() };
        let s = report_script("g", Path::new("/w/results/g"), Path::new("/w/results/g/slurm"), &paths(), &opts);
        assert!(s.contains("#SBATCH --account=lab\n") && !s.contains("gres") && s.ends_with("exec '/opt/loran' report '/w/results/g'\n"), "{s}");
        assert_eq!(report_command(Path::new("/s"), "41"), ["--parsable", "--dependency=afterany:41", "/s/report.sbatch"]);
        assert_eq!(array_command(Path::new("/s/array.sbatch"), None, &opts), ["--parsable", "--qos=low", "/s/array.sbatch"]);
        assert_eq!(array_command(Path::new("/s/array.sbatch"), Some("9"), &opts), ["--parsable", "--dependency=afterany:9", "--qos=low", "/s/array.sbatch"]);
    }

    #[test]
    fn job_ids_are_read_from_parsable_output_and_submissions_round_trip() {
        assert_eq!(parse_job_id("123\n").as_deref(), Some("123"));
        assert_eq!(parse_job_id("77;cluster\n").as_deref(), Some("77"));
        assert_eq!(parse_job_id("sbatch: error: x"), None);
        assert_eq!(parse_job_id(""), None);
        let dir = tempfile::tempdir().unwrap();
        let one = Submission { array_job: "5".into(), report_job: "6".into(), cells: vec!["a".into()], submitted_at: "t".into(), tuning_job: None };
        record(dir.path(), &one).unwrap();
        record(dir.path(), &Submission { array_job: "7".into(), ..one.clone() }).unwrap();
        let got = submissions(dir.path());
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].clone(), got[1].array_job.as_str()), (one, "7"));
    }
}
