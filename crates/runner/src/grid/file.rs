//! Reading a grid file's text, for the grid named on the command line and every file it
//! includes alike: only a regular file of at most [`MAX_BYTES`], read as UTF-8. A FIFO
//! would block `loran grid plan` forever, `/dev/zero` would fill memory, and bytes that are
//! not UTF-8 deserve better than "check the path".

use std::io::ErrorKind;
use std::path::Path;

/// Largest grid or included file: 1 MiB, far above any real grid (the shipped ones are a
/// few KiB), so a path to a big file fails at once instead of being parsed.
pub const MAX_BYTES: u64 = 1 << 20;

/// Why a grid file's text could not be read.
#[derive(Debug)]
pub enum Unreadable {
    /// Missing, no permission, or another I/O error.
    Io(std::io::Error),
    /// A FIFO, device, socket or folder.
    NotRegular(&'static str),
    /// Over [`MAX_BYTES`].
    TooLarge,
    /// A byte sequence that is not UTF-8, at this byte offset.
    NotUtf8 { offset: usize, byte: u8 },
}

impl Unreadable {
    /// What is wrong, for the parentheses of "cannot read … (…)".
    pub fn why(&self) -> String {
        match self {
            Unreadable::Io(e) => e.to_string(),
            Unreadable::NotRegular(kind) => format!("it is {kind}, not a regular file"),
            Unreadable::TooLarge => format!("larger than {} MiB, the limit for a grid file", MAX_BYTES >> 20),
            Unreadable::NotUtf8 { offset, byte } => format!("not UTF-8 text: byte 0x{byte:02x} at byte offset {offset}"),
        }
    }

    /// What to do about it.
    pub fn fix(&self) -> &'static str {
        match self {
            Unreadable::Io(e) if e.kind() == ErrorKind::PermissionDenied => "check the file's permissions",
            Unreadable::Io(_) => "check the path",
            Unreadable::NotRegular(_) => "give the path of a YAML file",
            Unreadable::TooLarge => "a grid is a few KiB of YAML; check the path",
            Unreadable::NotUtf8 { .. } => "save the file as UTF-8",
        }
    }

    /// Whether the path does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Unreadable::Io(e) if e.kind() == ErrorKind::NotFound)
    }
}

/// The text of a grid file: a regular file (a FIFO is refused without blocking) of at most
/// [`MAX_BYTES`], of which at most one byte more is ever read, holding UTF-8.
pub fn read_text(path: &Path) -> Result<String, Unreadable> {
    let bytes = loran_io::read_regular(path, MAX_BYTES).map_err(|e| match e {
        loran_io::NotReadable::Io(e) => Unreadable::Io(e),
        loran_io::NotReadable::NotRegular { kind } => Unreadable::NotRegular(kind),
        loran_io::NotReadable::TooLarge { .. } => Unreadable::TooLarge,
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        Unreadable::NotUtf8 { offset, byte: e.as_bytes()[offset] }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.yaml");
        std::fs::write(&path, bytes).unwrap();
        (dir, path)
    }

    #[test]
    fn utf8_text_within_the_limit_is_read() {
        let (_dir, path) = written("name: é\n".as_bytes());
        assert_eq!(read_text(&path).unwrap(), "name: é\n");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_named_with_their_offset() {
        let (_dir, path) = written(b"name: ab\xff\n");
        let e = read_text(&path).unwrap_err();
        assert_eq!(e.why(), "not UTF-8 text: byte 0xff at byte offset 8");
        assert_eq!(e.fix(), "save the file as UTF-8");
    }

    #[test]
    fn a_file_over_the_limit_is_refused() {
        let (_dir, path) = written(&vec![b'#'; MAX_BYTES as usize + 1]);
        let e = read_text(&path).unwrap_err();
        assert!(matches!(e, Unreadable::TooLarge), "{}", e.why());
        assert_eq!(e.why(), "larger than 1 MiB, the limit for a grid file");
    }

    #[cfg(unix)]
    #[test]
    fn a_device_is_refused_before_it_is_read() {
        let e = read_text(Path::new("/dev/zero")).unwrap_err();
        assert_eq!(e.why(), "it is a character device, not a regular file");
    }
}
