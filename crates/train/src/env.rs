//! Facts about the process and the code a run records: memory, threads, versions, git.

use std::collections::BTreeMap;
use std::process::Command;
use std::path::Path;

/// Peak resident set size of this process in MiB (`VmHWM`), or 0 where /proc is absent.
pub fn peak_rss_mb() -> f64 {
    proc_status_mb("VmHWM:")
}

/// Current resident set size of this process in MiB (`VmRSS`), or 0 where /proc is absent.
pub fn rss_mb() -> f64 {
    proc_status_mb("VmRSS:")
}

/// Restarts the peak-RSS counter at the current RSS (Linux `clear_refs` 5); false if unsupported.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn proc_status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()))
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Makes candle's element-wise ops run on the calling thread unless
/// `CANDLE_NUM_THREADS` is set. candle spreads them over its own pool, whose workers
/// spin-wait up to 25,000 rounds after every op; on a small machine they then compete
/// with the matmul threads (`RAYON_NUM_THREADS`) for the cores. Measured with
/// `loran-bench peft` on 2 cores: a LoRA step over every linear, 8×128, took 7.0 and
/// 5.7 s with one element-wise thread against 7.4 and 6.8 s with two (perf: 8 % of all
/// samples in the spinning worker). Call at start-up, before any thread exists.
pub fn default_elementwise_threads() {
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        // SAFETY: called first thing in `main`, while the process has one thread.
        unsafe { std::env::set_var("CANDLE_NUM_THREADS", "1") };
    }
}

/// Threads candle's matmuls use.
pub fn threads() -> usize {
    candle_core::utils::get_num_threads()
}

/// loran-lab, candle and rustc versions.
pub fn versions() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("loran".to_string(), env!("CARGO_PKG_VERSION").to_string()),
        ("candle".to_string(), env!("LORAN_CANDLE_VERSION").to_string()),
        ("rustc".to_string(), env!("LORAN_RUSTC_VERSION").to_string()),
    ])
}

/// `git rev-parse HEAD` of the working directory, with `-dirty` when tracked files of the
/// code changed (`crates/`, `Cargo.toml`, `Cargo.lock`: an edit to the README or a grid file
/// changes no number a config computes, and a grid file's edits are in the config hash);
/// `unknown` outside git. Read once per process (`run_grid` reads it first): `cargo run` (and so
/// `just`) rebuilds the binary just before it starts, so the tree at that moment is the
/// code that runs, and an edit made while a grid runs does not relabel its later cells.
pub fn git_revision() -> String {
    static REVISION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    REVISION.get_or_init(read_git_revision).clone()
}

/// What builds the binary, as top-level pathspecs: a change elsewhere leaves a run's numbers alone.
const CODE_PATHS: [&str; 3] = [":/crates", ":/Cargo.toml", ":/Cargo.lock"];

fn read_git_revision() -> String {
    revision_of(Path::new("."))
}

/// [`git_revision`] of the repository holding `dir`.
fn revision_of(dir: &Path) -> String {
    let run = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match run(&["rev-parse", "HEAD"]) {
        Some(head) => {
            let mut status = vec!["status", "--porcelain", "--untracked-files=no", "--"];
            status.extend(CODE_PATHS);
            let dirty = run(&status).is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{head}-dirty")
            } else {
                head
            }
        }
        None => "unknown".into(),
    }
}

/// The current UTC time as RFC 3339 (`2026-11-23T21:05:09Z`).
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    rfc3339(secs)
}

/// Formats Unix seconds as RFC 3339 UTC (days-from-civil inverse, valid for 1970..).
pub fn rfc3339(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64;
    let rem = unix_secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_of_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_469_109), "2026-11-23T21:25:09Z");
    }

    #[test]
    fn only_a_change_to_the_code_marks_the_revision_dirty() {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let out = Command::new("git").args(args).current_dir(dir.path()).output().unwrap();
            assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        };
        git(&["init", "-q"]);
        std::fs::create_dir_all(dir.path().join("crates/a/src")).unwrap();
        std::fs::write(dir.path().join("crates/a/src/lib.rs"), "pub fn f() {}\n").unwrap();
        std::fs::write(dir.path().join("README.md"), "hello\n").unwrap();
        git(&["add", "."]);
        git(&["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one"]);
        let head = git(&["rev-parse", "HEAD"]);
        let sub = dir.path().join("crates/a");
        assert_eq!(revision_of(&sub), head, "a clean tree, asked from a subfolder");
        std::fs::write(dir.path().join("README.md"), "changed\n").unwrap();
        assert_eq!(revision_of(dir.path()), head, "a README edit changes no number");
        std::fs::write(dir.path().join("crates/a/src/lib.rs"), "pub fn g() {}\n").unwrap();
        assert_eq!(revision_of(&sub), format!("{head}-dirty"));
        assert_eq!(revision_of(&std::env::temp_dir().join("no-such-folder-here")), "unknown");
    }

    #[test]
    fn versions_are_recorded() {
        let v = versions();
        assert!(v["candle"].starts_with("0."), "{v:?}");
        assert!(v["rustc"].starts_with("rustc "), "{v:?}");
    }
}
