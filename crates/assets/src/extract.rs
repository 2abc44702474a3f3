//! Unpacking of wheels (zip) and npm tarballs (tar.gz), refusing paths that escape the target.

use crate::error::AssetError;
use std::fs;
use std::path::Path;

/// Extracts `archive` (a `.whl`/`.zip` or a `.tgz`/`.tar.gz`) into `into`.
pub fn extract_archive(archive: &Path, into: &Path) -> Result<(), AssetError> {
    let name = archive.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let bad = |detail: String| AssetError::BadArchive { path: archive.to_path_buf(), detail };
    let file = fs::File::open(archive).map_err(|e| AssetError::io(archive, e))?;
    if name.ends_with(".whl") || name.ends_with(".zip") {
        let mut zip = zip::ZipArchive::new(file).map_err(|e| bad(e.to_string()))?;
        for i in 0..zip.len() {
            let mut entry = zip.by_index(i).map_err(|e| bad(e.to_string()))?;
            let entry_name = entry.name_raw().to_vec();
            let entry_name = String::from_utf8_lossy(&entry_name).into_owned();
            let Some(relative) = entry.enclosed_name() else {
                return Err(bad(format!("entry `{entry_name}` escapes the target folder")));
            };
            let target = into.join(relative);
            if entry.is_dir() {
                fs::create_dir_all(&target).map_err(|e| AssetError::io(&target, e))?;
                continue;
            }
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent).map_err(|e| AssetError::io(parent, e))?;
            }
            let mut out = fs::File::create(&target).map_err(|e| AssetError::io(&target, e))?;
            std::io::copy(&mut entry, &mut out).map_err(|e| bad(format!("{entry_name}: {e}")))?;
        }
        Ok(())
    } else if name.ends_with(".tgz") || name.ends_with(".tar.gz") {
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
        // `unpack` skips entries whose paths would leave `into`.
        tar.unpack(into).map_err(|e| bad(e.to_string()))
    } else {
        Err(bad("unknown archive type (expected .whl, .zip, .tgz or .tar.gz)".to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tarball_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("pkg.tgz");
        {
            let gz = flate2::write::GzEncoder::new(fs::File::create(&archive).unwrap(), flate2::Compression::fast());
            let mut builder = tar::Builder::new(gz);
            let data = b"{\"id\":1}";
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, "package/data/a.json", &data[..]).unwrap();
            builder.into_inner().unwrap().finish().unwrap();
        }
        let out = dir.path().join("out");
        extract_archive(&archive, &out).unwrap();
        assert_eq!(fs::read_to_string(out.join("package/data/a.json")).unwrap(), "{\"id\":1}");
    }

    #[test]
    fn garbage_archive_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("broken.whl");
        fs::write(&archive, b"not a zip").unwrap();
        let msg = extract_archive(&archive, &dir.path().join("out")).unwrap_err().to_string();
        assert!(msg.contains("broken.whl") && msg.contains("cannot extract"), "{msg}");
    }
}
