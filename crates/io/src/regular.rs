//! Reading a file the user named, only when it is a regular file: a path to a FIFO blocks
//! `open` until a writer comes, and `/dev/zero` never ends, so each would hang or exhaust
//! memory instead of failing with a line that says what the path is.

use std::fs::{File, FileType};
use std::io::{self, Read};
use std::path::Path;

/// Why [`open_regular`] or [`read_regular`] refused a path. Each message fits in the
/// parentheses of "cannot read `x` (…)"; the caller adds the file and the fix.
#[derive(Debug, thiserror::Error)]
pub enum NotReadable {
    /// The path cannot be opened or read (missing, no permission, …).
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The path names something other than a regular file.
    #[error("it is {kind}, not a regular file")]
    NotRegular {
        /// What it is, e.g. `a FIFO (named pipe)`.
        kind: &'static str,
    },
    /// The file holds more than the caller's limit.
    #[error("it is larger than {} (the limit for this file)", size_text(*limit))]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
}

impl NotReadable {
    /// Whether the path does not exist (callers keep their own "not found" wording).
    pub fn is_not_found(&self) -> bool {
        matches!(self, NotReadable::Io(e) if e.kind() == io::ErrorKind::NotFound)
    }
}

/// What a file type is, in words for an error (`a directory`, `a FIFO (named pipe)`).
pub fn kind_name(file_type: &FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_file() {
        "a regular file"
    } else {
        "not a file"
    }
}

/// Opens `path` for reading when it is a regular file (after following symlinks). On Unix it
/// opens without blocking, so a FIFO with no writer is refused at once, and checks the type
/// of what it opened, so the check and the read concern the same file.
pub fn open_regular(path: &Path) -> Result<File, NotReadable> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let file_type = file.metadata()?.file_type();
    if !file_type.is_file() {
        return Err(NotReadable::NotRegular { kind: kind_name(&file_type) });
    }
    Ok(file)
}

/// The bytes of a regular file of at most `limit` bytes. Reads at most `limit + 1` bytes
/// whatever the file claims, so a file that grows, or a `/proc` file that says it is empty,
/// cannot make it read without end.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, NotReadable> {
    let file = open_regular(path)?;
    if file.metadata()?.len() > limit {
        return Err(NotReadable::TooLarge { limit });
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(NotReadable::TooLarge { limit });
    }
    Ok(bytes)
}

/// `1 MiB`, `64 KiB`, `100 bytes`.
fn size_text(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_within_the_limit_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.yaml");
        std::fs::write(&path, b"name: x\n").unwrap();
        assert_eq!(read_regular(&path, 8).unwrap(), b"name: x\n");
        let err = read_regular(&path, 7).unwrap_err();
        assert!(matches!(err, NotReadable::TooLarge { limit: 7 }), "{err}");
        assert_eq!(err.to_string(), "it is larger than 7 bytes (the limit for this file)");
    }

    #[test]
    fn a_directory_and_a_missing_path_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_regular(dir.path(), 100).unwrap_err();
        assert_eq!(err.to_string(), "it is a directory, not a regular file");
        let err = read_regular(&dir.path().join("absent"), 100).unwrap_err();
        assert!(err.is_not_found(), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_device_is_refused_without_reading_it() {
        // `/dev/zero` never ends: reading it would fill memory before any size check.
        let err = read_regular(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert_eq!(err.to_string(), "it is a character device, not a regular file");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_without_a_writer_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.yaml");
        let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a file.
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0, "mkfifo failed");
        // Without O_NONBLOCK this open would wait for a writer forever.
        let err = open_regular(&fifo).unwrap_err();
        assert_eq!(err.to_string(), "it is a FIFO (named pipe), not a regular file");
    }

    #[test]
    fn sizes_read_in_the_largest_whole_unit() {
        assert_eq!(size_text(1 << 20), "1 MiB");
        assert_eq!(size_text(3 << 10), "3 KiB");
        assert_eq!(size_text(1500), "1500 bytes");
    }
}
