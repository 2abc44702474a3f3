//! Files of Hugging Face hub dataset repos: found in the local hub cache
//! (hf-hub's layout, `<cache>/datasets--<owner>--<name>/snapshots/<commit>/<file>`),
//! else downloaded with hf-hub's blocking client into that same cache.
//!
//! Offline, a file that is not cached fails with one [`DatasetError::HubFile`]
//! naming the repo, the file, the cache folder looked in, and the fixes.

use crate::error::{DatasetError, HubFileMissing};
use std::path::{Path, PathBuf};

/// The hub cache folder by hf-hub's own rule: `$HF_HOME/hub`, else
/// `~/.cache/huggingface/hub`.
pub fn default_hub_cache() -> PathBuf {
    hf_hub::Cache::from_env().path().clone()
}

/// Whether hub downloads are disabled (`HF_HUB_OFFLINE=1`, as the Python client).
fn offline_by_env() -> bool {
    std::env::var("HF_HUB_OFFLINE")
        .map(|v| v == "1" || v.eq_ignore_ascii_case("true"))
        .unwrap_or(false)
}

/// One dataset repo at one revision, read through one hub cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubDataset {
    /// The task reading it (named in error messages, as `data.<task>.*` options).
    pub task: &'static str,
    /// `owner/name`.
    pub repo: String,
    /// A branch, tag or commit hash.
    pub revision: String,
    /// The hub cache folder (the one holding `datasets--*` folders).
    pub cache_dir: PathBuf,
    /// Hub endpoint for downloads (`None`: `HF_ENDPOINT`, else `https://huggingface.co`).
    pub endpoint: Option<String>,
}

impl HubDataset {
    fn hf_repo(&self) -> hf_hub::Repo {
        hf_hub::Repo::with_revision(
            self.repo.clone(),
            hf_hub::RepoType::Dataset,
            self.revision.clone(),
        )
    }

    /// This repo's folder in the cache, e.g. `<cache>/datasets--knkarthick--samsum`.
    pub fn repo_folder(&self) -> PathBuf {
        self.cache_dir.join(self.hf_repo().folder_name())
    }

    /// Where `file` sits in the cache, if it is there. The revision goes
    /// through `refs/<revision>`; a commit hash, which has no ref, names its
    /// snapshot folder directly.
    pub fn cached(&self, file: &str) -> Option<PathBuf> {
        let cache = hf_hub::Cache::new(self.cache_dir.clone());
        if let Some(path) = cache.repo(self.hf_repo()).get(file) {
            return Some(path);
        }
        let direct = self
            .repo_folder()
            .join("snapshots")
            .join(&self.revision)
            .join(file);
        direct.exists().then_some(direct)
    }

    /// The local path of `file`: from the cache, else downloaded into it.
    pub fn file(&self, file: &str) -> Result<PathBuf, DatasetError> {
        if let Some(path) = self.cached(file) {
            return Ok(path);
        }
        let why = if offline_by_env() {
            "HF_HUB_OFFLINE is set, so it was not downloaded".to_string()
        } else if !cfg!(feature = "hub-download") {
            "this build lacks the `hub-download` feature of loran-datasets, so it was not downloaded"
                .to_string()
        } else {
            match self.download(file) {
                Ok(path) => return Ok(path),
                Err(detail) => format!("downloading it failed: {detail}"),
            }
        };
        Err(DatasetError::HubFile(Box::new(HubFileMissing {
            task: self.task.to_string(),
            repo: self.repo.clone(),
            revision: self.revision.clone(),
            file: file.to_string(),
            cache: self.repo_folder(),
            why,
        })))
    }

    #[cfg(feature = "hub-download")]
    fn download(&self, file: &str) -> Result<PathBuf, String> {
        let mut builder =
            hf_hub::api::sync::ApiBuilder::from_cache(hf_hub::Cache::new(self.cache_dir.clone()))
                .with_progress(false);
        let endpoint = self
            .endpoint
            .clone()
            .or_else(|| std::env::var("HF_ENDPOINT").ok());
        if let Some(endpoint) = endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        let api = builder.build().map_err(|e| e.to_string())?;
        api.repo(self.hf_repo())
            .get(file)
            .map_err(|e| e.to_string())
    }

    #[cfg(not(feature = "hub-download"))]
    fn download(&self, _file: &str) -> Result<PathBuf, String> {
        Err("built without the `hub-download` feature".to_string())
    }
}

/// The snapshot (commit) folder name of a file resolved from the cache:
/// `.../snapshots/<commit>/<file>` → `<commit>`.
pub fn snapshot_commit(path: &Path) -> Option<String> {
    let mut parts = path
        .components()
        .rev()
        .map(|c| c.as_os_str().to_string_lossy());
    let mut previous = parts.next()?;
    for part in parts {
        if part == "snapshots" {
            return Some(previous.into_owned());
        }
        previous = part;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(cache: &Path) -> HubDataset {
        HubDataset {
            task: "samsum",
            repo: "owner/name".into(),
            revision: "main".into(),
            cache_dir: cache.to_path_buf(),
            // Nothing listens on port 1: a download attempt fails at once.
            endpoint: Some("http://127.0.0.1:1".into()),
        }
    }

    #[test]
    fn finds_files_through_refs_and_by_commit() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("datasets--owner--name");
        std::fs::create_dir_all(folder.join("refs")).unwrap();
        std::fs::write(folder.join("refs/main"), "abc123").unwrap();
        std::fs::create_dir_all(folder.join("snapshots/abc123/sub")).unwrap();
        std::fs::write(folder.join("snapshots/abc123/sub/train.csv"), "x").unwrap();
        let r = repo(dir.path());
        assert_eq!(r.repo_folder(), folder);
        let path = r.cached("sub/train.csv").unwrap();
        assert_eq!(path, folder.join("snapshots/abc123/sub/train.csv"));
        assert_eq!(snapshot_commit(&path).as_deref(), Some("abc123"));
        assert_eq!(
            snapshot_commit(&folder.join("snapshots/abc123/t.csv")).as_deref(),
            Some("abc123")
        );
        let by_commit = HubDataset {
            revision: "abc123".into(),
            ..r.clone()
        };
        assert!(by_commit.cached("sub/train.csv").is_some());
        assert!(r.cached("test.csv").is_none());
        assert_eq!(snapshot_commit(Path::new("/tmp/train.csv")), None);
    }

    #[test]
    fn a_file_neither_cached_nor_downloadable_names_repo_file_cache_and_fixes() {
        let dir = tempfile::tempdir().unwrap();
        let err = repo(dir.path()).file("train.csv").unwrap_err().to_string();
        for needle in [
            "owner/name",
            "`train.csv`",
            &dir.path()
                .join("datasets--owner--name")
                .display()
                .to_string(),
            "HF_HOME",
            "data.samsum.cache_dir",
            "data.samsum.path",
        ] {
            assert!(err.contains(needle), "{needle} not in: {err}");
        }
    }
}
