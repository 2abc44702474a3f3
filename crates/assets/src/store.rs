//! The on-disk asset store under `$LORAN_HOME`: download, verify, extract, once.

use crate::catalog::{Asset, Client};
use crate::error::AssetError;
use crate::extract::extract_archive;
use crate::manifest::{self, Manifest, MANIFEST_FILE};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Name of the marker written inside a package folder once its extraction finished.
const COMPLETE_MARKER: &str = ".loran-complete";

/// What [`Store::ensure`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The package was already extracted and verified; nothing was downloaded.
    AlreadyPresent,
    /// The archive was downloaded (or found in the download folder), verified and extracted.
    Fetched,
}

/// The asset cache: `<root>/downloads/<archive>` and `<root>/packages/<key>/`.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    pip: Vec<String>,
    npm: Vec<String>,
}

/// `$LORAN_HOME`, or `~/.cache/loran-lab` when it is unset.
pub fn loran_home() -> PathBuf {
    if let Some(home) = std::env::var_os("LORAN_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    base.join("loran-lab")
}

fn split_command(value: &str) -> Vec<String> {
    value.split_whitespace().map(str::to_string).collect()
}

impl Store {
    /// A store at [`loran_home`], with clients from `LORAN_PIP` / `LORAN_NPM`
    /// (each a command line such as `python3 -m pip`), else found on `PATH`.
    pub fn from_env() -> Self {
        let pip = std::env::var("LORAN_PIP")
            .ok()
            .map(|v| split_command(&v))
            .filter(|v| !v.is_empty())
            .unwrap_or_default();
        let npm = std::env::var("LORAN_NPM")
            .ok()
            .map(|v| split_command(&v))
            .filter(|v| !v.is_empty())
            .unwrap_or_default();
        Self { root: loran_home(), pip, npm }
    }

    /// A store at `root` whose clients are found on `PATH`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into(), pip: Vec::new(), npm: Vec::new() }
    }

    /// Uses `command` (program plus leading arguments) as the given client.
    pub fn with_client_command(mut self, client: Client, command: Vec<String>) -> Self {
        match client {
            Client::Pip => self.pip = command,
            Client::Npm => self.npm = command,
        }
        self
    }

    /// The store's root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder a package is extracted into.
    pub fn package_dir(&self, asset: &Asset) -> PathBuf {
        self.root.join("packages").join(asset.key)
    }

    /// Whether the package is extracted and its marker names the pinned archive.
    pub fn is_ready(&self, asset: &Asset) -> bool {
        let marker = self.package_dir(asset).join(COMPLETE_MARKER);
        fs::read_to_string(marker).map(|s| s.trim() == asset.sha256).unwrap_or(false)
    }

    /// The path of `relative` (a file or a folder) inside an extracted package,
    /// checked against the package's manifest, or an error that says how to fix it.
    ///
    /// Every file the manifest lists at or beneath `relative` must exist
    /// ([`AssetError::MissingFile`]) and have its recorded size, checked on every
    /// call, and sha256, hashed once per process ([`AssetError::FileChanged`]).
    ///
    /// Packages extracted before manifests existed (a marker holding only the
    /// archive sha256 and no `.loran-manifest`) are returned unverified rather than
    /// refused, so old stores keep working; extract them again to get the checks.
    /// Files added after extraction, which the manifest does not list, are also
    /// returned unverified.
    pub fn file(&self, asset: &Asset, relative: &str) -> Result<PathBuf, AssetError> {
        if !self.is_ready(asset) {
            return Err(AssetError::NotFetched {
                key: asset.key.to_string(),
                dir: self.package_dir(asset),
            });
        }
        let dir = self.package_dir(asset);
        let path = dir.join(relative);
        if !path.exists() {
            return Err(AssetError::MissingFile { key: asset.key.to_string(), path });
        }
        if let Some(manifest) = Manifest::read(&dir, asset.key)? {
            manifest::verify(&manifest, &dir, asset.key, relative)?;
        }
        Ok(path)
    }

    /// Declares the package folder complete as it stands, without downloading or
    /// verifying the archive; records the manifest of the files now in it.
    ///
    /// For test fixtures and hand-built mirrors: fill [`Store::package_dir`] first.
    pub fn mark_complete(&self, asset: &Asset) -> Result<PathBuf, AssetError> {
        let dir = self.package_dir(asset);
        create_dir(&dir)?;
        seal(&dir, asset)?;
        Ok(dir)
    }

    /// Makes sure the package is downloaded, verified and extracted. Idempotent.
    pub fn ensure(&self, asset: &Asset) -> Result<Outcome, AssetError> {
        if self.is_ready(asset) {
            return Ok(Outcome::AlreadyPresent);
        }
        let archive = self.download_verified(asset)?;
        self.extract(asset, &archive)?;
        Ok(Outcome::Fetched)
    }

    fn download_verified(&self, asset: &Asset) -> Result<PathBuf, AssetError> {
        let downloads = self.root.join("downloads");
        create_dir(&downloads)?;
        let archive = downloads.join(asset.file_name);
        if archive.exists() && sha256_file(&archive)? == asset.sha256 {
            return Ok(archive);
        }
        let staging = downloads.join(format!(".tmp-{}-{}", asset.key, std::process::id()));
        let _ = fs::remove_dir_all(&staging);
        create_dir(&staging)?;
        let result = self.run_client(asset, &staging).and_then(|()| {
            let fetched = staging.join(asset.file_name);
            if !fetched.exists() {
                return Err(AssetError::UnexpectedOutput {
                    spec: asset.spec.to_string(),
                    expected: fetched,
                });
            }
            let actual = sha256_file(&fetched)?;
            if actual != asset.sha256 {
                return Err(AssetError::ChecksumMismatch {
                    spec: asset.spec.to_string(),
                    path: fetched,
                    expected: asset.sha256.to_string(),
                    actual,
                });
            }
            fs::rename(&fetched, &archive).map_err(|e| AssetError::io(&archive, e))
        });
        let _ = fs::remove_dir_all(&staging);
        result.map(|()| archive)
    }

    fn client_command(&self, asset: &Asset) -> Result<Vec<String>, AssetError> {
        let client = asset.client;
        let configured = match client {
            Client::Pip => &self.pip,
            Client::Npm => &self.npm,
        };
        if !configured.is_empty() {
            return Ok(configured.clone());
        }
        let candidates: &[&[&str]] = match client {
            Client::Pip => &[&["pip"], &["pip3"], &["python3", "-m", "pip"]],
            Client::Npm => &[&["npm"]],
        };
        for candidate in candidates {
            let works = Command::new(candidate[0])
                .args(&candidate[1..])
                .arg("--version")
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            if works {
                return Ok(candidate.iter().map(|s| s.to_string()).collect());
            }
        }
        Err(AssetError::MissingClient {
            client: client.name(),
            spec: asset.spec.to_string(),
            hint: client.install_hint(),
        })
    }

    fn run_client(&self, asset: &Asset, into: &Path) -> Result<(), AssetError> {
        let command = self.client_command(asset)?;
        let mut cmd = Command::new(&command[0]);
        cmd.args(&command[1..]);
        match asset.client {
            Client::Pip => {
                cmd.args(["download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check", "-d"])
                    .arg(into)
                    .arg(asset.spec);
            }
            Client::Npm => {
                cmd.args(["pack", "--silent", "--pack-destination"]).arg(into).arg(asset.spec);
            }
        }
        let output = cmd.output().map_err(|e| AssetError::ClientFailed {
            client: asset.client.name(),
            spec: asset.spec.to_string(),
            detail: e.to_string(),
        })?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
            let detail = tail.into_iter().rev().collect::<Vec<_>>().join(" | ");
            return Err(AssetError::ClientFailed {
                client: asset.client.name(),
                spec: asset.spec.to_string(),
                detail: format!("{}: {}", output.status, detail),
            });
        }
        Ok(())
    }

    fn extract(&self, asset: &Asset, archive: &Path) -> Result<(), AssetError> {
        let packages = self.root.join("packages");
        create_dir(&packages)?;
        let staging = packages.join(format!(".tmp-{}-{}", asset.key, std::process::id()));
        let _ = fs::remove_dir_all(&staging);
        create_dir(&staging)?;
        let result = extract_archive(archive, &staging).and_then(|()| {
            seal(&staging, asset)?;
            let target = self.package_dir(asset);
            if target.exists() {
                fs::remove_dir_all(&target).map_err(|e| AssetError::io(&target, e))?;
            }
            fs::rename(&staging, &target).map_err(|e| AssetError::io(&target, e))
        });
        if result.is_err() {
            let _ = fs::remove_dir_all(&staging);
        }
        result
    }
}

/// Writes the manifest of `dir`, then the marker naming the archive it came from.
fn seal(dir: &Path, asset: &Asset) -> Result<(), AssetError> {
    Manifest::build(dir, &[COMPLETE_MARKER, MANIFEST_FILE])?.write(dir)?;
    let marker = dir.join(COMPLETE_MARKER);
    fs::write(&marker, asset.sha256).map_err(|e| AssetError::io(&marker, e))
}

fn create_dir(path: &Path) -> Result<(), AssetError> {
    fs::create_dir_all(path).map_err(|e| AssetError::io(path, e))
}

/// Lower-case hex sha256 of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<String, AssetError> {
    let mut file = fs::File::open(path).map_err(|e| AssetError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| AssetError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{fake_pip, fixture_asset};

    #[test]
    fn sha256_matches_known_vector() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        fs::write(&path, "abc").unwrap();
        assert_eq!(
            sha256_file(&path).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn ensure_fetches_once_then_reports_present() {
        let dir = tempfile::tempdir().unwrap();
        let (asset, source) = fixture_asset(dir.path(), "fixture-1.0-py3-none-any.whl");
        let store = Store::new(dir.path().join("home"))
            .with_client_command(Client::Pip, fake_pip(dir.path(), &source));
        assert!(matches!(store.file(&asset, "pkg/data.txt"), Err(AssetError::NotFetched { .. })));
        assert_eq!(store.ensure(&asset).unwrap(), Outcome::Fetched);
        assert_eq!(store.ensure(&asset).unwrap(), Outcome::AlreadyPresent);
        let calls = fs::read_to_string(dir.path().join("calls")).unwrap();
        assert_eq!(calls.lines().count(), 1, "the client ran more than once");
        let data = store.file(&asset, "pkg/data.txt").unwrap();
        assert_eq!(fs::read_to_string(data).unwrap(), "hello");
        assert_eq!(fs::read_to_string(store.file(&asset, "pkg/sub/b.txt").unwrap()).unwrap(), "b");
    }

    #[test]
    fn re_extracts_from_a_verified_download_without_the_client() {
        let dir = tempfile::tempdir().unwrap();
        let (asset, source) = fixture_asset(dir.path(), "fixture-1.0-py3-none-any.whl");
        let store = Store::new(dir.path().join("home"))
            .with_client_command(Client::Pip, fake_pip(dir.path(), &source));
        store.ensure(&asset).unwrap();
        fs::remove_dir_all(store.package_dir(&asset)).unwrap();
        assert_eq!(store.ensure(&asset).unwrap(), Outcome::Fetched);
        let calls = fs::read_to_string(dir.path().join("calls")).unwrap();
        assert_eq!(calls.lines().count(), 1);
    }

    #[test]
    fn checksum_mismatch_names_the_package_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let (mut asset, source) = fixture_asset(dir.path(), "fixture-1.0-py3-none-any.whl");
        asset.sha256 = "0000000000000000000000000000000000000000000000000000000000000000";
        let store = Store::new(dir.path().join("home"))
            .with_client_command(Client::Pip, fake_pip(dir.path(), &source));
        let err = store.ensure(&asset).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, AssetError::ChecksumMismatch { .. }), "{msg}");
        assert!(msg.contains("fixture==1.0"), "{msg}");
        assert!(!store.is_ready(&asset));
        assert!(!store.root().join("downloads").join(asset.file_name).exists());
    }

    #[test]
    fn missing_client_is_named_with_a_fix() {
        let dir = tempfile::tempdir().unwrap();
        let (asset, _) = fixture_asset(dir.path(), "fixture-1.0-py3-none-any.whl");
        let store = Store::new(dir.path().join("home"))
            .with_client_command(Client::Pip, vec!["/nonexistent/pip-binary".into()]);
        let msg = store.ensure(&asset).unwrap_err().to_string();
        assert!(msg.contains("pip") && msg.contains("fixture==1.0"), "{msg}");
    }

    #[test]
    fn failing_client_reports_its_stderr() {
        let dir = tempfile::tempdir().unwrap();
        let (asset, _) = fixture_asset(dir.path(), "fixture-1.0-py3-none-any.whl");
        let script = dir.path().join("broken.sh");
        fs::write(&script, "#!/bin/sh\necho 'No matching distribution found' >&2\nexit 1\n").unwrap();
        let store = Store::new(dir.path().join("home"))
            .with_client_command(Client::Pip, vec!["sh".into(), script.display().to_string()]);
        let msg = store.ensure(&asset).unwrap_err().to_string();
        assert!(msg.contains("No matching distribution found"), "{msg}");
        assert!(msg.contains("fixture==1.0"), "{msg}");
    }
}
