//! Named fault points: places where the reliability tests kill `loran` or make an I/O
//! call fail, chosen at run time through the `FAILPOINTS` environment variable (the
//! syntax of the `fail` crate: `name=actions;name=actions`).
//!
//! - `FAILPOINTS="train-step=2*off->return"` kills the process with SIGKILL at the third
//!   training step (a bare `return`, or `return(kill)`, kills);
//! - `FAILPOINTS="results-io=return(28)"` makes every write to the results folder fail
//!   with errno 28 (ENOSPC: disk full); `return(30)` is EROFS (a read-only file system);
//! - other `fail` actions work as documented there (`sleep(ms)`, `panic`, `pause`…).
//!
//! Unset, a point costs one map lookup. The points live where the work is (this crate's
//! [`crate::write_atomic`], `loran-train`, `loran-runner`); this is their one list, in the
//! order a grid meets them (`<file>` is the name of the file being written: `result.json`,
//! `summary.csv`, …):
//!
//! | point | where |
//! |---|---|
//! | `results-io` | before every atomic write (adapter folders' too), and every append, copy, folder creation or lock in the results folder |
//! | `write:<file>` | an atomic write ([`crate::write_atomic`]) is about to create its temporary file |
//! | `write-half:<file>` | half of the bytes are in the temporary file |
//! | `rename:<file>` | the temporary file is complete, not yet renamed into place |
//! | `copy:<file>` | a reused run's file is about to be copied |
//! | `append:<file>`, `append-half:<file>` | a line of `metrics.jsonl` is about to be / half appended |
//! | `train-step` | a training step's line is in `metrics.jsonl` |
//! | `train-loss` | `return(<float>)` replaces the step's loss (the NaN and Inf tests) |
//! | `eval-test-loss` | one batch of the teacher-forced test loss is done |
//! | `eval-generate` | one batch of generated answers is done |
//! | `cell-done` | a cell's `result.json` is in place, the next cell not started |

use std::io;

/// Reads `FAILPOINTS` (once, at start-up). A malformed entry is an error naming it.
pub fn configure_from_env() -> Result<(), String> {
    let Ok(spec) = std::env::var("FAILPOINTS") else { return Ok(()) };
    for entry in spec.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, actions) = entry
            .split_once('=')
            .ok_or_else(|| format!("FAILPOINTS: `{entry}` is not `name=actions`; unset FAILPOINTS (it is for the reliability tests)"))?;
        fail::cfg(name.trim(), actions.trim()).map_err(|e| format!("FAILPOINTS: `{entry}`: {e}; see the `fail` crate's action syntax"))?;
    }
    Ok(())
}

/// A fault point: does nothing unless `FAILPOINTS` configures `name`. Configured with
/// `return` or `return(kill)` it kills the process; with `return(<errno>)` it returns
/// that OS error, as the I/O call after it would have.
pub fn point(name: &str) -> io::Result<()> {
    fail::fail_point!(name, |arg: Option<String>| injected(name, arg.as_deref()));
    Ok(())
}

/// The value `return(<value>)` gives point `name`, if it is configured (`train-loss`).
pub fn value(name: &str) -> Option<String> {
    fail::fail_point!(name, |arg: Option<String>| arg);
    None
}

/// Both points of a file operation: the shared `results-io` and `<op>:<file name>`.
pub fn file_point(op: &str, path: &std::path::Path) -> io::Result<()> {
    point("results-io")?;
    let file = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    point(&format!("{op}:{file}"))
}

fn injected(name: &str, arg: Option<&str>) -> io::Result<()> {
    match arg {
        None | Some("kill") => kill_self(),
        Some(code) => match code.parse::<i32>() {
            Ok(errno) => Err(io::Error::from_raw_os_error(errno)),
            Err(_) => Err(io::Error::other(format!("fault point `{name}`: `return({code})` is neither `kill` nor an errno"))),
        },
    }
}

/// Ends the process at once, as `kill -9` from outside would: no destructors, no flushes.
fn kill_self() -> ! {
    #[cfg(unix)]
    // SAFETY: sends a signal to this process; SIGKILL cannot be caught, so it ends here.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
    std::process::abort()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unconfigured_point_does_nothing_and_an_errno_becomes_that_os_error() {
        assert!(point("faults-test-unset").is_ok());
        fail::cfg("faults-test-enospc", "1*off->return(28)").unwrap();
        assert!(point("faults-test-enospc").is_ok(), "the first hit is off");
        let err = point("faults-test-enospc").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(28));
        assert!(err.to_string().contains("No space left on device"), "{err}");
        fail::cfg("faults-test-value", "return(NaN)").unwrap();
        assert_eq!(value("faults-test-value").as_deref(), Some("NaN"));
        assert_eq!(value("faults-test-unset"), None);
        fail::cfg("faults-test-bad", "return(soon)").unwrap();
        assert!(point("faults-test-bad").unwrap_err().to_string().contains("neither `kill` nor an errno"));
    }
}
