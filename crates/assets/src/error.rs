//! Errors of the asset store. Each names the package or file and the fix.

use std::path::{Path, PathBuf};

/// Everything that can go wrong while fetching or locating an asset.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    /// The registry client (pip or npm) is not installed.
    #[error("cannot fetch `{spec}`: `{client}` was not found; {hint}")]
    MissingClient { client: &'static str, spec: String, hint: &'static str },
    /// The client ran but failed.
    #[error("`{client}` failed to fetch `{spec}` ({detail}); check the network access to the registry and retry `just assets`")]
    ClientFailed { client: &'static str, spec: String, detail: String },
    /// The client succeeded but did not write the pinned archive.
    #[error("fetching `{spec}` did not produce {expected}; the registry may serve a different file name, so update the pin in crates/assets/src/catalog.rs")]
    UnexpectedOutput { spec: String, expected: PathBuf },
    /// The archive's bytes differ from the pinned sha256.
    #[error("{path}: sha256 {actual} does not match the pinned {expected} for `{spec}`; the download is corrupt or the registry changed it, so delete it and retry")]
    ChecksumMismatch { spec: String, path: PathBuf, expected: String, actual: String },
    /// The archive could not be read.
    #[error("{path}: cannot extract: {detail}; delete it and run `just assets` again")]
    BadArchive { path: PathBuf, detail: String },
    /// The package has not been fetched yet.
    #[error("asset `{key}` is not in {dir}; run `just assets` (or `loran assets`) first")]
    NotFetched { key: String, dir: PathBuf },
    /// The package is there but lacks an expected file.
    #[error("asset `{key}` has no file {path}; delete its folder and run `just assets` again")]
    MissingFile { key: String, path: PathBuf },
    /// An extracted file no longer matches the size or sha256 recorded in the
    /// package's manifest when it was extracted (bit rot, an interrupted copy, an edit).
    #[error("{path}: {mismatch} recorded when asset `{key}` was extracted; the file changed on disk, so delete {dir} and run `just assets` again")]
    FileChanged { key: String, path: PathBuf, dir: PathBuf, mismatch: Mismatch },
    /// The package's manifest exists but cannot be parsed.
    #[error("{path}: unreadable manifest of asset `{key}` ({detail}); delete {dir} and run `just assets` again")]
    BadManifest { key: String, path: PathBuf, dir: PathBuf, detail: String },
    /// Reading or writing the store failed.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// How an extracted file differs from what its package manifest recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    /// The file has a different length (e.g. truncated).
    #[error("size {actual} bytes does not match the {expected} bytes")]
    Size { expected: u64, actual: u64 },
    /// The file has the recorded length but different bytes.
    #[error("sha256 {} does not match the {}", short(.actual), short(.expected))]
    Sha256 { expected: String, actual: String },
}

/// The first 12 hex digits of a sha256, enough to tell two apart in a message.
fn short(sha: &str) -> String {
    match sha.get(..12) {
        Some(head) if sha.len() > 12 => format!("{head}…"),
        _ => sha.to_string(),
    }
}

impl AssetError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        AssetError::Io { path: path.to_path_buf(), source }
    }
}
