//! One run: its config, training, evaluation and what it writes.

pub mod config;
pub mod dir;
pub mod env;
pub mod eval;
pub mod execute;
pub mod files;
pub mod loss;
pub mod prefix;
pub mod progress;
pub mod record;
pub mod schedule;
pub mod train;
