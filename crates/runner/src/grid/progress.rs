//! What a running grid reports: cells starting and ending, on top of each cell's own
//! progress ([`CellProgress`]).

use loran_train::progress::CellProgress;

/// How a cell of the grid ended for the progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellEnd {
    /// It ran now (whatever its status).
    Ran,
    /// A matching `result.json` existed, or a run with its config was copied.
    Reused,
}

/// Receives the progress of a whole grid. Every method has a no-op default, so any
/// `FnMut(&str)` closure is a `GridProgress` that only gets the plain lines.
pub trait GridProgress: CellProgress {
    /// The grid `name` starts with `cells` cells to go through.
    fn grid_started(&mut self, _name: &str, _cells: usize) {}
    /// Cell `index` (0-based) of the grid starts running.
    fn cell_started(&mut self, _index: usize, _run_id: &str) {}
    /// Cell `index` ended.
    fn cell_ended(&mut self, _index: usize, _end: CellEnd) {}
    /// Every cell of the grid went through.
    fn grid_ended(&mut self) {}
}

impl<F: FnMut(&str) + ?Sized> GridProgress for F {}
