//! One run end to end: its config, the trainer, evaluation, the caches a grid's cells
//! share, and the run folder it writes. The runner's grid language plans the cells.

pub mod alloc;
pub mod cell;
pub mod config;
pub mod damage;
pub mod dir;
pub mod env;
pub mod eval;
pub mod execute;
/// The named fault points, from [`loran_io`] (kept here so call sites say `crate::faults`).
pub use loran_io::faults;
pub mod files;
pub mod identity;
pub mod loss;
pub mod prefix;
pub mod progress;
pub mod preflight;
pub mod ranges;
pub mod record;
pub mod resources;
pub mod schedule;
pub mod score;
pub mod stop;
pub mod train;
