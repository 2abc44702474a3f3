//! The manifest of an extracted package: every file's relative path, size and
//! sha256, recorded at extraction so later reads detect files that changed on disk.
//!
//! It lives in `<package>/.loran-manifest`, next to the `.loran-complete` marker
//! (which keeps holding only the sha256 of the archive the package came from).
//! The format is plain text, one file a line, sorted by path:
//!
//! ```text
//! loran-manifest 1
//! <sha256> <size in bytes> <relative/path/with/slashes>
//! ```
//!
//! The path comes last and may hold spaces; `\`, newline and carriage return in
//! it are written as `\\`, `\n` and `\r`. Only regular files are listed:
//! symbolic links, files whose names are not UTF-8, and the marker and manifest
//! themselves are left out (and so are never verified).

use crate::error::{AssetError, Mismatch};
use crate::store::sha256_file;
use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

/// Name of the manifest file inside a package folder.
pub(crate) const MANIFEST_FILE: &str = ".loran-manifest";

/// First line of a manifest in the current format.
const HEADER: &str = "loran-manifest 1";

/// What the manifest recorded for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) size: u64,
    pub(crate) sha256: String,
}

/// Every file of a package, by `/`-separated path relative to the package folder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Manifest {
    pub(crate) entries: BTreeMap<String, Entry>,
}

impl Manifest {
    /// Lists and hashes every regular file under `dir`, except the top-level
    /// marker and manifest (`skip`).
    pub(crate) fn build(dir: &Path, skip: &[&str]) -> Result<Self, AssetError> {
        let mut manifest = Manifest::default();
        walk(dir, "", skip, &mut manifest)?;
        Ok(manifest)
    }

    /// Writes the manifest into `dir` (through a temporary file and a rename).
    pub(crate) fn write(&self, dir: &Path) -> Result<(), AssetError> {
        let mut text = format!("{HEADER}\n");
        for (path, entry) in &self.entries {
            text.push_str(&format!("{} {} {}\n", entry.sha256, entry.size, escape(path)));
        }
        let target = dir.join(MANIFEST_FILE);
        let tmp = dir.join(format!("{MANIFEST_FILE}.tmp-{}", std::process::id()));
        fs::write(&tmp, text).map_err(|e| AssetError::io(&tmp, e))?;
        fs::rename(&tmp, &target).map_err(|e| AssetError::io(&target, e))
    }

    /// Reads the manifest of the package in `dir`.
    ///
    /// `Ok(None)` when there is none — a store extracted before manifests existed —
    /// or when it is in a format this version does not know (a newer loran wrote
    /// it): such packages are used unverified rather than refused.
    pub(crate) fn read(dir: &Path, key: &str) -> Result<Option<Self>, AssetError> {
        let path = dir.join(MANIFEST_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(AssetError::io(&path, e)),
        };
        let mut lines = text.lines();
        match lines.next() {
            Some(HEADER) => {}
            Some(first) if first.starts_with("loran-manifest ") => return Ok(None),
            _ => return Err(bad_manifest(key, dir, "no `loran-manifest 1` header".to_string())),
        }
        let mut manifest = Manifest::default();
        for (n, line) in lines.enumerate() {
            let bad = || bad_manifest(key, dir, format!("line {} is not `<sha256> <size> <path>`", n + 2));
            let mut fields = line.splitn(3, ' ');
            let (Some(sha), Some(size), Some(rel)) = (fields.next(), fields.next(), fields.next()) else {
                return Err(bad());
            };
            let size: u64 = size.parse().map_err(|_| bad())?;
            if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) || rel.is_empty() {
                return Err(bad());
            }
            let entry = Entry { size, sha256: sha.to_ascii_lowercase() };
            manifest.entries.insert(unescape(rel).ok_or_else(bad)?, entry);
        }
        Ok(Some(manifest))
    }

    /// The entries for `relative`: the file itself, or every file beneath it when
    /// it names a folder (`""` or `"."` is the whole package).
    pub(crate) fn entries_under<'a>(&'a self, relative: &str) -> impl Iterator<Item = (&'a String, &'a Entry)> {
        let wanted: Vec<&str> = relative.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
        let wanted = wanted.join("/");
        let prefix = format!("{wanted}/");
        self.entries
            .iter()
            .filter(move |(path, _)| wanted.is_empty() || **path == wanted || path.starts_with(&prefix))
    }
}

/// Checks the files of package `key` (folder `dir`) that `relative` names
/// against `manifest`: each must exist, have the recorded size (checked on every
/// call) and the recorded sha256 (hashed once per process while the file's
/// size and modification time stay the same).
pub(crate) fn verify(manifest: &Manifest, dir: &Path, key: &str, relative: &str) -> Result<(), AssetError> {
    for (rel, entry) in manifest.entries_under(relative) {
        let path = dir.join(rel);
        let meta = match fs::metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(AssetError::MissingFile { key: key.to_string(), path });
            }
            Err(e) => return Err(AssetError::io(&path, e)),
        };
        let changed = |mismatch| AssetError::FileChanged {
            key: key.to_string(),
            path: path.clone(),
            dir: dir.to_path_buf(),
            mismatch,
        };
        if meta.len() != entry.size {
            return Err(changed(Mismatch::Size { expected: entry.size, actual: meta.len() }));
        }
        let seen = Seen { path: path.clone(), sha256: entry.sha256.clone(), modified: meta.modified().ok() };
        if verified().lock().unwrap_or_else(|e| e.into_inner()).contains(&seen) {
            continue;
        }
        let actual = sha256_file(&path)?;
        if actual != entry.sha256 {
            return Err(changed(Mismatch::Sha256 { expected: entry.sha256.clone(), actual }));
        }
        verified().lock().unwrap_or_else(|e| e.into_inner()).insert(seen);
    }
    Ok(())
}

/// A file whose sha256 matched, as it was when hashed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Seen {
    path: PathBuf,
    sha256: String,
    modified: Option<SystemTime>,
}

/// The files hashed and found intact by this process.
fn verified() -> &'static Mutex<HashSet<Seen>> {
    static VERIFIED: OnceLock<Mutex<HashSet<Seen>>> = OnceLock::new();
    VERIFIED.get_or_init(Mutex::default)
}

fn bad_manifest(key: &str, dir: &Path, detail: String) -> AssetError {
    AssetError::BadManifest {
        key: key.to_string(),
        path: dir.join(MANIFEST_FILE),
        dir: dir.to_path_buf(),
        detail,
    }
}

fn walk(dir: &Path, prefix: &str, skip: &[&str], manifest: &mut Manifest) -> Result<(), AssetError> {
    for item in fs::read_dir(dir).map_err(|e| AssetError::io(dir, e))? {
        let item = item.map_err(|e| AssetError::io(dir, e))?;
        let path = item.path();
        let Some(name) = item.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if prefix.is_empty() && (skip.contains(&name.as_str()) || name.starts_with(&format!("{MANIFEST_FILE}.tmp-"))) {
            continue;
        }
        let rel = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        let kind = item.file_type().map_err(|e| AssetError::io(&path, e))?;
        if kind.is_dir() {
            walk(&path, &rel, skip, manifest)?;
        } else if kind.is_file() {
            let size = item.metadata().map_err(|e| AssetError::io(&path, e))?.len();
            manifest.entries.insert(rel, Entry { size, sha256: sha256_file(&path)? });
        }
    }
    Ok(())
}

fn escape(path: &str) -> String {
    path.replace('\\', "\\\\").replace('\n', "\\n").replace('\r', "\\r")
}

fn unescape(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            '\\' => '\\',
            'n' => '\n',
            'r' => '\r',
            _ => return None,
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests;
