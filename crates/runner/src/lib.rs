//! Library side of the `loran` binary: grids, runs and reports.
pub mod alloc;
pub mod faults;
pub mod grid;
pub mod report;
pub mod run;
