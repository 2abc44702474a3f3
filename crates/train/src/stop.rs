//! A clean stop on request: Slurm sends SIGTERM before SIGKILL (`scancel`, a time
//! limit). The `loran` binary sets [`flag`] from its signal handler; training looks at it
//! between steps and ends with [`Stopped`], and the run then writes no `result.json`, so
//! the cell counts as unfinished and the next run or resubmission redoes it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};

static FLAG: LazyLock<Arc<AtomicBool>> = LazyLock::new(|| Arc::new(AtomicBool::new(false)));

/// The process-wide stop request, for a signal handler to set.
pub fn flag() -> Arc<AtomicBool> {
    FLAG.clone()
}

/// Whether a stop was requested.
pub fn requested() -> bool {
    FLAG.load(Ordering::Relaxed)
}

/// Training ended early on a stop request; nothing of the cell is recorded as finished.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stopped by a termination signal after {done} of {total} training steps; the cell is left unfinished, to be run again")]
pub struct Stopped {
    /// Steps finished before the stop.
    pub done: usize,
    /// Steps the run would have taken.
    pub total: usize,
}

/// [`Stopped`] when a stop was requested, `done` of `total` steps in.
pub fn check(done: usize, total: usize) -> Result<(), Stopped> {
    if requested() {
        Err(Stopped { done, total })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_turns_the_check_into_a_stop_naming_the_steps() {
        // The only test in this crate that sets the flag, so no other test sees it set.
        assert_eq!(check(3, 10), Ok(()));
        flag().store(true, Ordering::Relaxed);
        let err = check(3, 10).unwrap_err();
        flag().store(false, Ordering::Relaxed);
        assert_eq!(err, Stopped { done: 3, total: 10 });
        assert!(err.to_string().contains("after 3 of 10 training steps"), "{err}");
    }
}
