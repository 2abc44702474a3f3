//! sha256 helpers for the `data_sha256` recorded with every result.

use sha2::{Digest, Sha256};

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Digest of a set of files, given as (relative path, hex sha256 of its bytes).
///
/// The entries are sorted by path (byte order) and written one per line in
/// `sha256sum` format, `"<sha>  <path>\n"`; the result is the sha256 of that
/// text. It can be reproduced in a shell from the folder the paths are
/// relative to: `find <folders> -name '*.json' | LC_ALL=C sort | xargs sha256sum | sha256sum`.
pub fn manifest_sha256(entries: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = entries.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut hasher = Sha256::new();
    for (path, sha) in sorted {
        hasher.update(format!("{sha}  {path}\n").as_bytes());
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn manifest_is_order_independent_and_matches_sha256sum_format() {
        let a = ("b/2.json".to_string(), sha256_hex(b"two"));
        let b = ("a/1.json".to_string(), sha256_hex(b"one"));
        let m1 = manifest_sha256(&[a.clone(), b.clone()]);
        let m2 = manifest_sha256(&[b.clone(), a.clone()]);
        assert_eq!(m1, m2);
        let text = format!("{}  a/1.json\n{}  b/2.json\n", b.1, a.1);
        assert_eq!(m1, sha256_hex(text.as_bytes()));
        let changed = manifest_sha256(&[a, ("a/1.json".to_string(), sha256_hex(b"ONE"))]);
        assert_ne!(m1, changed);
    }
}
