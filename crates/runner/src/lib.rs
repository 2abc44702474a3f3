//! Library side of the `loran` binary: the grid language (parse, expand, plan, lock,
//! resume, schedule). Runs live in `loran-train`, reports in `loran-report`.
pub mod cli;
pub mod grid;
