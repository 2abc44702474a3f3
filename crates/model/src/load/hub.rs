//! Hugging Face hub repos, read from the local hub cache (offline) or downloaded with hf-hub.

use crate::error::{ModelError, Result};
use std::path::{Path, PathBuf};

/// A hub model repo and revision, e.g. `HuggingFaceTB/SmolLM2-135M-Instruct@main`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubRepo {
    /// `org/name`.
    pub id: String,
    /// A branch, tag or commit hash.
    pub revision: String,
}

impl HubRepo {
    /// Parses `org/name` or `org/name@revision`.
    pub fn parse(spec: &str) -> Option<Self> {
        let (id, revision) = match spec.split_once('@') {
            Some((id, rev)) if !rev.is_empty() => (id, rev),
            Some(_) => return None,
            None => (spec, "main"),
        };
        let (org, name) = id.split_once('/')?;
        let valid = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        (valid(org) && valid(name) && !name.contains('/')).then(|| Self { id: id.into(), revision: revision.into() })
    }
}

/// The hub cache folder: `hf_hub`'s own rules (`HF_HOME`, else `~/.cache/huggingface`) plus `/hub`.
pub fn default_hub_cache() -> PathBuf {
    hf_hub::Cache::from_env().path().clone()
}

/// Whether hub downloads are disabled (`HF_HUB_OFFLINE=1`).
fn offline() -> bool {
    std::env::var("HF_HUB_OFFLINE").map(|v| v == "1" || v.eq_ignore_ascii_case("true")).unwrap_or(false)
}

/// Where `file` of `repo` sits in the cache, if it is there.
fn cached(cache: &Path, repo: &HubRepo, file: &str) -> Option<PathBuf> {
    let hub_repo = hf_hub::Repo::with_revision(repo.id.clone(), hf_hub::RepoType::Model, repo.revision.clone());
    if let Some(path) = hf_hub::Cache::new(cache.to_path_buf()).repo(hub_repo.clone()).get(file) {
        return Some(path);
    }
    // A commit hash has no `refs/` entry; its snapshot folder is named after it.
    let snapshot = cache.join(hub_repo.folder_name()).join("snapshots").join(&repo.revision).join(file);
    snapshot.exists().then_some(snapshot)
}

/// Gets `file` of `repo`: from the cache, else (feature `hub-download`, not offline) from the hub.
pub fn hub_file(cache: &Path, repo: &HubRepo, file: &str) -> Result<PathBuf> {
    if let Some(path) = cached(cache, repo, file) {
        return Ok(path);
    }
    let not_cached = format!("not in the hub cache {}", cache.display());
    if offline() || !cfg!(feature = "hub-download") {
        let why = if offline() { "HF_HUB_OFFLINE is set" } else { "built without the `hub-download` feature" };
        return Err(ModelError::Hub {
            repo: repo.id.clone(),
            file: file.into(),
            detail: format!("{not_cached} and {why}; download it where the hub is reachable"),
        });
    }
    download(cache, repo, file)
}

#[cfg(feature = "hub-download")]
fn download(cache: &Path, repo: &HubRepo, file: &str) -> Result<PathBuf> {
    let err = |detail: String| ModelError::Hub { repo: repo.id.clone(), file: file.into(), detail };
    let api = hf_hub::api::sync::ApiBuilder::from_cache(hf_hub::Cache::new(cache.to_path_buf()))
        .with_progress(true)
        .build()
        .map_err(|e| err(e.to_string()))?;
    let hub_repo = hf_hub::Repo::with_revision(repo.id.clone(), hf_hub::RepoType::Model, repo.revision.clone());
    api.repo(hub_repo).get(file).map_err(|e| err(format!("download failed: {e}")))
}

#[cfg(not(feature = "hub-download"))]
fn download(_cache: &Path, _repo: &HubRepo, _file: &str) -> Result<PathBuf> {
    unreachable!("guarded by cfg!(feature = \"hub-download\") in hub_file")
}

/// Makes the repo's config, tokenizer and weights present in the cache; returns the snapshot folder.
pub fn fetch_model_files(cache: &Path, repo: &HubRepo) -> Result<PathBuf> {
    let config = hub_file(cache, repo, "config.json")?;
    hub_file(cache, repo, "tokenizer.json")?;
    match hub_file(cache, repo, "model.safetensors.index.json") {
        Ok(index) => {
            let dir = index.parent().unwrap_or(Path::new("."));
            for shard in super::hf_folder::safetensors_files(dir)? {
                let name = shard.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
                hub_file(cache, repo, &name)?;
            }
        }
        Err(_) => {
            hub_file(cache, repo, "model.safetensors")?;
        }
    }
    Ok(config.parent().unwrap_or(Path::new(".")).to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_repo_ids() {
        assert_eq!(
            HubRepo::parse("HuggingFaceTB/SmolLM2-135M"),
            Some(HubRepo { id: "HuggingFaceTB/SmolLM2-135M".into(), revision: "main".into() })
        );
        assert_eq!(HubRepo::parse("meta-llama/Llama-2-7b-hf@abc123").unwrap().revision, "abc123");
        assert_eq!(HubRepo::parse("smollm2-135m"), None);
        assert_eq!(HubRepo::parse("a/b/c"), None);
        assert_eq!(HubRepo::parse("a/b@"), None);
    }
}
