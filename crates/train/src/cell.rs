//! One cell of a grid as a run sees it: what to train and where its results are filed.
//! The grid language (in the runner) plans cells; this crate runs them.

use crate::config::RunConfig;

/// One run of a grid: a resolved config at one seed, with the names it is filed under.
#[derive(Debug, Clone)]
pub struct Cell {
    /// The cell without its seed: what tables aggregate over.
    pub group: String,
    /// `<group>-s<seed>-<hash8>`: the run folder name.
    pub run_id: String,
    /// sha256 (hex) of the resolved config.
    pub config_hash: String,
    /// The varying keys of this cell and their values, as text.
    pub labels: Vec<(String, String)>,
    /// The resolved config.
    pub config: RunConfig,
}
