//! How `loran grid run` shows progress: indicatif bars on a terminal (one over the grid,
//! one for the running cell), plain log lines otherwise (CI logs, `| tee`, files).

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use loran_runner::grid::progress::{CellEnd, GridProgress};
use loran_train::progress::{tokens_per_second, CellProgress};
use loran_train::record::StepRecord;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// The progress display `loran grid run` uses: bars when stderr is a terminal.
pub fn for_stderr() -> Box<dyn GridProgress> {
    if std::io::stderr().is_terminal() {
        Box::new(Bars::new())
    } else {
        Box::new(PlainLog { cell_start: Instant::now() })
    }
}

/// Plain lines on stderr: the first, every tenth and the last step, and stage changes
/// with the seconds since the cell started.
pub struct PlainLog {
    cell_start: Instant,
}

impl CellProgress for PlainLog {
    fn line(&mut self, text: &str) {
        eprintln!("{text}");
    }

    fn stage(&mut self, stage: &str) {
        eprintln!("  {stage} ({:.1}s into the cell)", self.cell_start.elapsed().as_secs_f64());
    }
}

impl GridProgress for PlainLog {
    fn cell_started(&mut self, _index: usize, _run_id: &str) {
        self.cell_start = Instant::now();
    }
}

/// Two indicatif bars: cells done of the grid (with a time-left estimate from the cells
/// run so far), and the running cell's steps with its loss and target tokens/s.
pub struct Bars {
    multi: MultiProgress,
    grid: Option<ProgressBar>,
    cell: Option<ProgressBar>,
    /// Target tokens of the running cell's steps so far.
    cell_tokens: u64,
    cell_start: Instant,
    /// Seconds of each cell run (not reused) in this grid: the time-left estimate.
    ran_seconds: Vec<f64>,
}

impl Bars {
    fn new() -> Self {
        Self {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            grid: None,
            cell: None,
            cell_tokens: 0,
            cell_start: Instant::now(),
            ran_seconds: Vec::new(),
        }
    }

    fn time_left(&self) -> String {
        let Some(grid) = &self.grid else { return String::new() };
        if self.ran_seconds.is_empty() {
            return String::new();
        }
        let mean = self.ran_seconds.iter().sum::<f64>() / self.ran_seconds.len() as f64;
        let left = grid.length().unwrap_or(0).saturating_sub(grid.position());
        format!("at most ~{:.0} min left", mean * left as f64 / 60.0)
    }
}

impl CellProgress for Bars {
    fn line(&mut self, text: &str) {
        // println() prints above the bars, or plainly while none is drawn.
        let _ = self.multi.println(text);
    }

    fn step(&mut self, record: &StepRecord, total_steps: usize) {
        self.cell_tokens += record.tokens;
        if let Some(bar) = &self.cell {
            if bar.length() != Some(total_steps as u64) {
                bar.set_length(total_steps as u64);
                bar.set_style(step_style());
            }
            bar.set_position(record.step as u64);
            let rate = tokens_per_second(self.cell_tokens, record.elapsed_s);
            bar.set_message(format!("loss {:.4}  {rate:.0} target tok/s", record.loss));
        }
    }

    fn stage(&mut self, stage: &str) {
        if let Some(bar) = &self.cell {
            if bar.length().is_none() {
                bar.set_message(stage.to_string());
            } else {
                bar.set_message(format!("{stage} (after {} steps)", bar.position()));
            }
        }
    }
}

impl GridProgress for Bars {
    fn grid_started(&mut self, name: &str, cells: usize) {
        let bar = self.multi.add(ProgressBar::new(cells as u64));
        bar.set_style(ProgressStyle::with_template("{prefix:.bold} [{bar:30}] {pos}/{len} cells  {elapsed}  {msg}").expect("valid template").progress_chars("=> "));
        bar.set_prefix(name.to_string());
        bar.enable_steady_tick(Duration::from_millis(500));
        self.grid = Some(bar);
        self.ran_seconds.clear();
    }

    fn cell_started(&mut self, _index: usize, run_id: &str) {
        let bar = self.multi.add(ProgressBar::no_length());
        bar.set_style(ProgressStyle::with_template("  {spinner} {prefix}  {elapsed}  {msg}").expect("valid template"));
        bar.set_prefix(run_id.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        self.cell = Some(bar);
        self.cell_tokens = 0;
        self.cell_start = Instant::now();
    }

    fn cell_ended(&mut self, _index: usize, end: CellEnd) {
        if let Some(bar) = self.cell.take() {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        if end == CellEnd::Ran {
            self.ran_seconds.push(self.cell_start.elapsed().as_secs_f64());
        }
        if let Some(grid) = &self.grid {
            grid.inc(1);
        }
        let left = self.time_left();
        if let Some(grid) = &self.grid {
            grid.set_message(left);
        }
    }

    fn grid_ended(&mut self) {
        if let Some(bar) = self.grid.take() {
            bar.finish();
        }
    }
}

fn step_style() -> ProgressStyle {
    ProgressStyle::with_template("  {prefix} [{bar:24}] step {pos}/{len}  {elapsed}  {msg}").expect("valid template").progress_chars("=> ")
}
