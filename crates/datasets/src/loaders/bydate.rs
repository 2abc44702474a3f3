//! sklearn's on-disk 20 Newsgroups layout: `20news-bydate-train/<group>/<id>`
//! and `20news-bydate-test/<group>/<id>`, one raw post per file, as
//! `sklearn.datasets.fetch_20newsgroups` leaves it under
//! `~/scikit_learn_data/20news_home`.
//!
//! Posts are decoded as latin-1, as sklearn does. [`strip_header`] drops the
//! header block as sklearn's `remove=('headers',)` does.

use crate::error::DatasetError;
use crate::hashing::sha256_hex;
use std::path::Path;

/// The training folder's name.
pub const TRAIN_DIR: &str = "20news-bydate-train";
/// The test folder's name.
pub const TEST_DIR: &str = "20news-bydate-test";

/// One post as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    /// `<split folder>/<group>/<file name>`, unique over both folders.
    pub path: String,
    /// The newsgroup (the folder name).
    pub group: String,
    /// The raw text, headers included.
    pub text: String,
}

/// Whether `dir` holds sklearn's layout (its training folder).
pub fn is_bydate_root(dir: &Path) -> bool {
    dir.join(TRAIN_DIR).is_dir()
}

/// Drops everything up to and including the first blank line (the header
/// block), as sklearn's `strip_newsgroup_header`; a post without a blank
/// line becomes empty, as there. Line breaks are normalised to `\n` first.
pub fn strip_header(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    match text.split_once("\n\n") {
        Some((_, body)) => body.to_string(),
        None => String::new(),
    }
}

/// Latin-1 bytes as text (every byte is one character), as sklearn reads the posts.
pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

/// Reads every post of `root/<split_dir>`, sorted by path, and adds a
/// (relative path, sha256) entry per post to `manifest`.
pub fn read_posts(
    root: &Path,
    split_dir: &str,
    manifest: &mut Vec<(String, String)>,
) -> Result<Vec<Post>, DatasetError> {
    let dir = root.join(split_dir);
    let mut posts = Vec::new();
    for group in sorted_entries(&dir)? {
        let group_dir = dir.join(&group);
        if !group_dir.is_dir() {
            continue;
        }
        for name in sorted_entries(&group_dir)? {
            let file = group_dir.join(&name);
            if !file.is_file() {
                continue;
            }
            let bytes = std::fs::read(&file).map_err(|e| DatasetError::io(&file, e))?;
            let path = format!("{split_dir}/{group}/{name}");
            manifest.push((path.clone(), sha256_hex(&bytes)));
            posts.push(Post {
                path,
                group: group.clone(),
                text: latin1(&bytes),
            });
        }
    }
    Ok(posts)
}

fn sorted_entries(dir: &Path) -> Result<Vec<String>, DatasetError> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| DatasetError::io(dir, e))? {
        let entry = entry.map_err(|e| DatasetError::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_block_goes_as_in_sklearn() {
        let post =
            "From: a@b.c\r\nSubject: Re: cars\r\nLines: 3\r\n\r\nBody line.\r\n\r\nMore.\r\n";
        assert_eq!(strip_header(post), "Body line.\n\nMore.\n");
        assert_eq!(strip_header("From: x\nSubject: no body"), "");
    }

    #[test]
    fn latin1_maps_every_byte() {
        assert_eq!(latin1(b"caf\xe9 \xff"), "café ÿ");
    }
}
