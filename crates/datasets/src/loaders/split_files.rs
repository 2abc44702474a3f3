//! The data files of a hub-backed task, one per split: found in the hub
//! cache (or downloaded) by file name, or in a local folder or file instead.
//!
//! From the hub every named file must be there (a missing one is an error
//! naming the repo, the file and the cache). In a local folder a validation
//! or test file that is absent is not an error: that split is carved from
//! train. A local file is the training data alone.

use crate::error::DatasetError;
use crate::hashing::{manifest_sha256, sha256_hex};
use crate::hub::snapshot_commit;
use crate::hub_options::DataSource;
use crate::table::{read_table, Table, Wanted};
use std::path::{Path, PathBuf};

/// One split's data file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitFile {
    /// `train`, `validation` or `test`.
    pub split: &'static str,
    /// Its name as recorded in the provenance (the file name in the repo or folder).
    pub name: String,
    /// Where it is on disk.
    pub path: PathBuf,
}

impl SplitFile {
    /// Reads the wanted columns of this file's `bytes`; a file without a
    /// single record is an error ([`DatasetError::EmptyFile`]) rather than an
    /// empty split.
    pub fn read_table(&self, bytes: Vec<u8>, wanted: Wanted) -> Result<Table, DatasetError> {
        let table = read_table(&self.path, bytes, wanted)?;
        if table.rows > 0 {
            return Ok(table);
        }
        let carve = match self.split {
            "train" => String::new(),
            _ => ", or to null to carve the split from train".to_string(),
        };
        Err(DatasetError::EmptyFile {
            task: wanted.task.to_string(),
            path: self.path.display().to_string(),
            split: self.split.to_string(),
            carve,
        })
    }
}

/// Something per split; validation and test may be absent (carved from train).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerSplit<T> {
    /// The training split.
    pub train: T,
    /// The validation split, if the data has its own.
    pub validation: Option<T>,
    /// The test split, if the data has its own.
    pub test: Option<T>,
}

impl<T> PerSplit<T> {
    /// Applies `f` to every present split, stopping at the first error.
    pub fn try_map<U, E>(self, mut f: impl FnMut(T) -> Result<U, E>) -> Result<PerSplit<U>, E> {
        Ok(PerSplit {
            train: f(self.train)?,
            validation: self.validation.map(&mut f).transpose()?,
            test: self.test.map(&mut f).transpose()?,
        })
    }

    /// The present splits, in the order train, validation, test.
    pub fn present(&self) -> Vec<&T> {
        std::iter::once(&self.train)
            .chain(self.validation.as_ref())
            .chain(self.test.as_ref())
            .collect()
    }
}

/// The files a task reads and where they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitFiles {
    /// One file per split that has one.
    pub files: PerSplit<SplitFile>,
    /// Provenance: `hf://datasets/<repo>@<revision> (commit <hash>)` or the local path.
    pub source: String,
}

impl SplitFiles {
    /// The file names read, comma-separated (for messages and provenance).
    pub fn names(&self) -> String {
        self.files
            .present()
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Reads every file and hands (file, bytes) to `parse`; also returns the
    /// [`manifest_sha256`] of the files by name.
    pub fn read<T>(
        &self,
        mut parse: impl FnMut(&SplitFile, Vec<u8>) -> Result<T, DatasetError>,
    ) -> Result<(PerSplit<T>, String), DatasetError> {
        let mut manifest = Vec::new();
        let parsed = self.files.clone().try_map(|file| {
            let bytes = std::fs::read(&file.path).map_err(|e| DatasetError::DataFile {
                path: file.path.display().to_string(),
                detail: e.to_string(),
            })?;
            manifest.push((file.name.clone(), sha256_hex(&bytes)));
            parse(&file, bytes)
        })?;
        Ok((parsed, manifest_sha256(&manifest)))
    }
}

/// Finds the files of `source`: in `source.path` when it is set, else in the hub.
pub fn resolve(source: &DataSource) -> Result<SplitFiles, DatasetError> {
    match source.path {
        Some(path) => resolve_local(source, path),
        None => resolve_hub(source),
    }
}

fn resolve_hub(source: &DataSource) -> Result<SplitFiles, DatasetError> {
    let hub = &source.hub;
    let fetch = |split: &'static str, name: &str| -> Result<SplitFile, DatasetError> {
        Ok(SplitFile {
            split,
            name: name.to_string(),
            path: hub.file(name)?,
        })
    };
    let files = PerSplit {
        train: fetch("train", source.train_file)?,
        validation: source
            .validation_file
            .map(|n| fetch("validation", n))
            .transpose()?,
        test: source.test_file.map(|n| fetch("test", n)).transpose()?,
    };
    let commit = snapshot_commit(&files.train.path).unwrap_or_else(|| hub.revision.clone());
    Ok(SplitFiles {
        source: format!(
            "hf://datasets/{}@{} (commit {commit})",
            hub.repo, hub.revision
        ),
        files,
    })
}

fn resolve_local(source: &DataSource, path: &Path) -> Result<SplitFiles, DatasetError> {
    let task = source.hub.task;
    let local_error = |detail: String| DatasetError::LocalData {
        task: task.to_string(),
        detail,
    };
    if path.is_file() {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Ok(SplitFiles {
            files: PerSplit {
                train: SplitFile {
                    split: "train",
                    name,
                    path: path.to_path_buf(),
                },
                validation: None,
                test: None,
            },
            source: path.display().to_string(),
        });
    }
    if !path.is_dir() {
        return Err(local_error(format!("{} does not exist", path.display())));
    }
    let optional = |split: &'static str, name: Option<&str>| {
        name.map(|n| SplitFile {
            split,
            name: n.to_string(),
            path: path.join(n),
        })
        .filter(|f| f.path.is_file())
    };
    let train = optional("train", Some(source.train_file)).ok_or_else(|| {
        local_error(format!(
            "{} has no training file `{}` (set `data.{task}.train_file`)",
            path.display(),
            source.train_file
        ))
    })?;
    Ok(SplitFiles {
        files: PerSplit {
            train,
            validation: optional("validation", source.validation_file),
            test: optional("test", source.test_file),
        },
        source: path.display().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::HubDataset;

    fn source<'a>(path: Option<&'a Path>, cache: &Path) -> DataSource<'a> {
        DataSource {
            hub: HubDataset {
                task: "samsum",
                repo: "o/n".into(),
                revision: "main".into(),
                cache_dir: cache.to_path_buf(),
                endpoint: Some("http://127.0.0.1:1".into()),
            },
            path,
            train_file: "train.csv",
            validation_file: Some("validation.csv"),
            test_file: Some("test.csv"),
        }
    }

    #[test]
    fn a_local_folder_uses_the_split_files_it_has() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("train.csv"), "a").unwrap();
        std::fs::write(dir.path().join("test.csv"), "b").unwrap();
        let files = resolve(&source(Some(dir.path()), dir.path())).unwrap();
        assert_eq!(files.names(), "train.csv, test.csv");
        assert!(files.files.validation.is_none());
        let (sizes, sha) = files.read(|_, bytes| Ok(bytes.len())).unwrap();
        assert_eq!(sizes.present(), vec![&1, &1]);
        let expected = manifest_sha256(&[
            ("train.csv".into(), sha256_hex(b"a")),
            ("test.csv".into(), sha256_hex(b"b")),
        ]);
        assert_eq!(sha, expected);

        let one_file = dir.path().join("test.csv");
        let files = resolve(&source(Some(&one_file), dir.path())).unwrap();
        assert_eq!(files.names(), "test.csv");
        assert_eq!(files.files.train.split, "train");
    }

    #[test]
    fn local_mistakes_name_the_path_and_the_option() {
        let dir = tempfile::tempdir().unwrap();
        let err = resolve(&source(Some(dir.path()), dir.path()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no training file `train.csv`") && err.contains("data.samsum.path"),
            "{err}"
        );
        let gone = dir.path().join("gone");
        let err = resolve(&source(Some(&gone), dir.path()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("gone does not exist"), "{err}");
    }

    #[test]
    fn hub_files_come_from_the_snapshot_and_record_the_commit() {
        let dir = tempfile::tempdir().unwrap();
        let snap = dir.path().join("datasets--o--n/snapshots/c0ffee");
        std::fs::create_dir_all(&snap).unwrap();
        std::fs::create_dir_all(dir.path().join("datasets--o--n/refs")).unwrap();
        std::fs::write(dir.path().join("datasets--o--n/refs/main"), "c0ffee").unwrap();
        for f in ["train.csv", "validation.csv", "test.csv"] {
            std::fs::write(snap.join(f), f).unwrap();
        }
        let files = resolve(&source(None, dir.path())).unwrap();
        assert_eq!(files.source, "hf://datasets/o/n@main (commit c0ffee)");
        assert_eq!(
            files.files.test.as_ref().unwrap().path,
            snap.join("test.csv")
        );
        std::fs::remove_file(snap.join("validation.csv")).unwrap();
        let err = resolve(&source(None, dir.path())).unwrap_err().to_string();
        assert!(
            err.contains("`validation.csv` of hub dataset `o/n`"),
            "{err}"
        );
    }
}
