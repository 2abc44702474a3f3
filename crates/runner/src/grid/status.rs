//! Where each cell of a grid stands (`loran grid status`), read from its results folder,
//! its cells' locks and, where `squeue` exists, the Slurm queue; a resubmission takes
//! the cells still to run ([`CellStatus::to_run`]).

use crate::grid::lock::CellLock;
use crate::grid::runner::{cell_state, CellState};
use crate::grid::slurm::Submission;
use crate::grid::Cell;
use loran_train::dir::RunDir;
use loran_train::record::RunStatus;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// One cell's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CellStatus {
    /// Finished `ok`, intact, with the cell's config.
    Done,
    /// Finished as `diverged` (a result, not redone).
    Diverged,
    /// A process holds the cell's lock (what it wrote), or Slurm runs its task (`job 12_3`).
    Running(String),
    /// Waiting in the Slurm queue as this array task (`12_3`).
    Queued(String),
    /// Its last run failed; a run or resubmission redoes it.
    Failed,
    /// Not run yet, interrupted, damaged or run with another config.
    Pending,
}

impl CellStatus {
    /// Whether a run or submission should take this cell (nothing finished, running or queued).
    pub fn to_run(&self) -> bool {
        matches!(self, Self::Failed | Self::Pending)
    }

    /// The one-word name (`done`, `running`, `failed`, `diverged`, `pending`).
    pub fn word(&self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Diverged => "diverged",
            Self::Running(_) => "running",
            Self::Failed => "failed",
            Self::Queued(_) | Self::Pending => "pending",
        }
    }
}

impl fmt::Display for CellStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Running(by) => write!(f, "running ({by})"),
            Self::Queued(task) => write!(f, "pending (queued as job {task})"),
            other => f.write_str(other.word()),
        }
    }
}

/// `squeue -h -r -o "%i %T"` output: array task (`12_3`) → state (`RUNNING`, `PENDING`, …).
pub fn parse_squeue(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            Some((parts.next()?.to_string(), parts.next()?.to_string()))
        })
        .collect()
}

/// The queue's state of every cell a recorded submission listed and the queue still has:
/// run id → (array task, state). A later submission's entry wins.
pub fn queued_cells(submissions: &[Submission], queue: &BTreeMap<String, String>) -> BTreeMap<String, (String, String)> {
    let mut cells = BTreeMap::new();
    for sub in submissions {
        for (i, id) in sub.cells.iter().enumerate() {
            let task = format!("{}_{i}", sub.array_job);
            if let Some(state) = queue.get(&task) {
                cells.insert(id.clone(), (task, state.clone()));
            }
        }
    }
    cells
}

/// The queue as `squeue` shows it now, or `None` when there is no `squeue` or it fails.
pub fn squeue() -> Option<BTreeMap<String, String>> {
    let out = std::process::Command::new("squeue").args(["-h", "-r", "-o", "%i %T"]).output().ok()?;
    out.status.success().then(|| parse_squeue(&String::from_utf8_lossy(&out.stdout)))
}

/// Each cell's status in `dir`, with `queued` from [`queued_cells`].
pub fn statuses(dir: &Path, cells: &[Cell], queued: &BTreeMap<String, (String, String)>) -> Vec<CellStatus> {
    cells.iter().map(|cell| status(dir, cell, queued.get(&cell.run_id))).collect()
}

fn status(dir: &Path, cell: &Cell, queued: Option<&(String, String)>) -> CellStatus {
    let run = RunDir::new(dir, &cell.run_id);
    let result = run.read_result().filter(|r| r.config_hash == cell.config_hash);
    if cell_state(dir, cell) == CellState::Finished {
        if let Some(r) = &result {
            return if r.status == RunStatus::Diverged { CellStatus::Diverged } else { CellStatus::Done };
        }
    }
    if CellLock::is_held(dir, &cell.run_id) {
        let holder = std::fs::read_to_string(CellLock::path(dir, &cell.run_id)).unwrap_or_default();
        return CellStatus::Running(holder.trim().to_string());
    }
    match queued {
        Some((task, state)) if state == "RUNNING" || state == "COMPLETING" || state == "CONFIGURING" => return CellStatus::Running(format!("job {task}")),
        Some((task, _)) => return CellStatus::Queued(task.clone()),
        None => {}
    }
    match result {
        Some(r) if r.status == RunStatus::Failed => CellStatus::Failed,
        _ => CellStatus::Pending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_tasks_are_matched_to_cells_through_the_recorded_submissions() {
        let queue = parse_squeue("12_0 RUNNING\n12_2 PENDING\n15_0 PENDING\n99 RUNNING\n");
        assert_eq!(queue.get("12_2").map(String::as_str), Some("PENDING"));
        let subs = vec![
            Submission { array_job: "12".into(), report_job: "13".into(), cells: vec!["a".into(), "b".into(), "c".into()], submitted_at: String::new(), tuning_job: None },
            Submission { array_job: "15".into(), report_job: "16".into(), cells: vec!["b".into()], submitted_at: String::new(), tuning_job: None },
        ];
        let cells = queued_cells(&subs, &queue);
        assert_eq!(cells["a"], ("12_0".to_string(), "RUNNING".to_string()));
        assert_eq!(cells["b"], ("15_0".to_string(), "PENDING".to_string()), "the later submission wins");
        assert_eq!(cells["c"].0, "12_2");
        assert_eq!(cells.len(), 3);
    }

    #[test]
    fn only_failed_and_pending_cells_are_to_run() {
        let all = [CellStatus::Done, CellStatus::Diverged, CellStatus::Running("job 1_0".into()), CellStatus::Queued("1_1".into()), CellStatus::Failed, CellStatus::Pending];
        let to_run: Vec<&str> = all.iter().filter(|s| s.to_run()).map(|s| s.word()).collect();
        assert_eq!(to_run, ["failed", "pending"]);
        assert_eq!(all[3].to_string(), "pending (queued as job 1_1)");
        assert_eq!(all[2].to_string(), "running (job 1_0)");
    }
}
