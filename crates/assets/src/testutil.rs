//! Test fixtures shared by the unit tests: a fake archive, asset and `pip`.

use crate::catalog::{Asset, Client};
use crate::store::sha256_file;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Builds a zip archive in memory with the given (name, content) entries.
fn zip_bytes(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut cursor = std::io::Cursor::new(Vec::new());
    let mut writer = zip::ZipWriter::new(&mut cursor);
    for (name, content) in entries {
        writer.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        writer.write_all(content.as_bytes()).unwrap();
    }
    writer.finish().unwrap();
    cursor.into_inner()
}

/// A `'static` copy of `s`, for the `&'static str` fields of [`Asset`].
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// A fake `pip` that copies `source` into the `-d` folder and counts its calls.
pub fn fake_pip(dir: &Path, source: &Path) -> Vec<String> {
    let script = dir.join("fake-pip.sh");
    let counter = dir.join("calls");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\necho x >> '{}'\nwhile [ \"$1\" != \"-d\" ]; do shift; done\ncp '{}' \"$2\"/\n",
            counter.display(),
            source.display()
        ),
    )
    .unwrap();
    vec!["sh".into(), script.display().to_string()]
}

/// A zip holding `pkg/data.txt` (`hello`) and `pkg/sub/b.txt` (`b`), and an
/// asset `fixture` pinned to it, served as `file_name`.
pub fn fixture_asset(dir: &Path, file_name: &'static str) -> (Asset, PathBuf) {
    let source = dir.join("src").join(file_name);
    fs::create_dir_all(source.parent().unwrap()).unwrap();
    fs::write(&source, zip_bytes(&[("pkg/data.txt", "hello"), ("pkg/sub/b.txt", "b")])).unwrap();
    let sha = leak(sha256_file(&source).unwrap());
    let asset = Asset {
        key: "fixture",
        client: Client::Pip,
        spec: "fixture==1.0",
        file_name,
        bytes: fs::metadata(&source).unwrap().len(),
        sha256: sha,
        purpose: "test",
        licence: "test",
    };
    (asset, source)
}
