//! Fuzzing the grid parser and the config resolver (issue 8): `parse_grid`/`read_grid`
//! then `expand` never panic, finish quickly, and fail with one line naming the file
//! (the property is in `fuzz/property.rs`). Two strategies feed it: mutated seed grids
//! (`fuzz/mutate.rs`: the shipped grids, the malformed ones in `tests/bad_grids/` and
//! `fuzz/corpus/`) and grids generated from the schema's vocabulary
//! (`fuzz/generate.rs`, `fuzz/vocab.rs`).
//!
//! `cargo test` runs a few hundred cases of each and replays `fuzz/regressions/`;
//! `just fuzz [SECS]` runs the ignored [`fuzz_for_a_while`] in release mode for SECS
//! seconds (`LORAN_FUZZ_SECS`, default 600). A failing input, shrunk, is saved to
//! `fuzz/regressions/`; `LORAN_FUZZ_SEED=<n>` replays a run's random choices.

#[path = "../fuzz/generate.rs"]
mod generate;
#[path = "../fuzz/mutate.rs"]
mod mutate;
#[path = "../fuzz/property.rs"]
mod property;
#[path = "../fuzz/vocab.rs"]
mod vocab;

use property::Outcome;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Cases of each strategy in a plain `cargo test`.
const QUICK_CASES: u32 = 300;

/// Counts of one strategy's cases by outcome.
#[derive(Default)]
struct Stats {
    ok: AtomicU64,
    cells: AtomicU64,
    parse_err: AtomicU64,
    expand_err: AtomicU64,
}

impl Stats {
    fn record(&self, outcome: Outcome) {
        match outcome {
            Outcome::Ok(cells) => {
                self.ok.fetch_add(1, Relaxed);
                self.cells.fetch_add(cells as u64, Relaxed);
            }
            Outcome::ParseErr => drop(self.parse_err.fetch_add(1, Relaxed)),
            Outcome::ExpandErr => drop(self.expand_err.fetch_add(1, Relaxed)),
        }
    }

    fn cases(&self) -> u64 {
        self.ok.load(Relaxed) + self.parse_err.load(Relaxed) + self.expand_err.load(Relaxed)
    }

    fn summary(&self) -> String {
        let (ok, cells, parse, expand) = (self.ok.load(Relaxed), self.cells.load(Relaxed), self.parse_err.load(Relaxed), self.expand_err.load(Relaxed));
        format!("{} cases: {ok} Ok ({cells} cells), {} Err ({parse} at parse/check, {expand} at expand)", self.cases(), parse + expand)
    }
}

/// The two input sources.
#[derive(Clone, Copy, Debug)]
enum Source {
    Mutated,
    Generated,
}

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `.yaml` files directly in `dir`, sorted.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "yaml")).collect();
    files.sort();
    files
}

/// The shipped grids (every `experiments/<profile>/`, and the files they include from
/// `experiments/common/`), the malformed ones and the corpus.
fn seed_files() -> Vec<PathBuf> {
    let experiments = crate_dir().join("../../experiments");
    let mut profiles: Vec<PathBuf> = std::fs::read_dir(&experiments).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    profiles.sort();
    profiles.push(crate_dir().join("tests/bad_grids"));
    profiles.push(crate_dir().join("fuzz/corpus"));
    profiles.iter().flat_map(|d| yaml_files(d)).collect()
}

fn seed_paths() -> &'static [PathBuf] {
    static PATHS: OnceLock<Vec<PathBuf>> = OnceLock::new();
    PATHS.get_or_init(seed_files)
}

fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| seed_paths().iter().map(|p| std::fs::read(p).unwrap()).collect())
}

/// Where a case is parsed as if it were: a mutated seed beside its seed (so its
/// `include:` paths resolve), a generated grid at [`property::TEXT_PATH`].
fn case_path(seed: Option<usize>) -> &'static Path {
    seed.map_or(Path::new(property::TEXT_PATH), |s| &seed_paths()[s])
}

/// The input of the case running now, for the hang watchdog.
static CURRENT: Mutex<Option<(Instant, Vec<u8>)>> = Mutex::new(None);

/// Runs one case (parsed as if it were `path`) and counts its outcome; a broken
/// property fails the case.
fn verdict(bytes: &[u8], path: &Path, stats: &Stats) -> Result<(), TestCaseError> {
    *CURRENT.lock().unwrap() = Some((Instant::now(), bytes.to_vec()));
    let result = property::check(bytes, path);
    *CURRENT.lock().unwrap() = None;
    result.map(|o| stats.record(o)).map_err(TestCaseError::fail)
}

/// Saves a failing input under `fuzz/regressions/` (named by its hash) and returns the path.
fn save_regression(bytes: &[u8]) -> PathBuf {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
    let dir = crate_dir().join("fuzz/regressions");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{hash:016x}.yaml"));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// SplitMix64, to derive each round's 32-byte RNG seed from the run's seed.
fn rng_seed(run_seed: u64, round: u64) -> [u8; 32] {
    let mut state = run_seed ^ round.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut out = [0u8; 32];
    for chunk in out.chunks_mut(8) {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out
}

/// `LORAN_FUZZ_SEED`, else a fresh seed from the clock.
fn run_seed() -> u64 {
    std::env::var("LORAN_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
        now.as_nanos() as u64 ^ u64::from(std::process::id()) << 32
    })
}

/// The kind of a failure: the first line of its description up to the first digit
/// (`PANIC panicked at crates/runner/src/grid/expand.rs:`, `slow: `).
fn signature(why: &str) -> String {
    let first = why.lines().next().unwrap_or_default();
    first.split(|c: char| c.is_ascii_digit()).next().unwrap_or_default().to_string()
}

/// Deletes runs of lines (halving their length) while the input still fails the same
/// way, for at most a minute: proptest shrinks the mutations, not the seed grid they
/// apply to, so a mutated grid would otherwise be reported whole.
fn minimize(bytes: Vec<u8>, path: &Path, why: &str) -> Vec<u8> {
    let target = signature(why);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    let mut chunk = lines.len() / 2;
    while chunk >= 1 && Instant::now() < deadline {
        let mut i = 0;
        while i < lines.len() && Instant::now() < deadline {
            let mut fewer = lines.clone();
            fewer.drain(i..(i + chunk).min(lines.len()));
            if property::check(&fewer.join(&b'\n'), path).err().is_some_and(|w| signature(&w) == target) {
                lines = fewer;
            } else {
                i += chunk;
            }
        }
        chunk /= 2;
    }
    lines.join(&b'\n')
}

/// One proptest run of `cases` cases of `source`; a failure is shrunk, saved and described.
fn run_round(source: Source, cases: u32, rng: [u8; 32], stats: &Stats) -> Result<(), String> {
    let config = Config { cases, failure_persistence: None, max_shrink_time: 120_000, max_shrink_iters: 50_000, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &rng));
    fn failure<V: std::fmt::Debug>(e: TestError<V>, case: impl Fn(&V) -> (Vec<u8>, &'static Path)) -> String {
        match e {
            TestError::Abort(why) => format!("aborted: {why}"),
            TestError::Fail(why, input) => {
                let (bytes, path) = case(&input);
                let small = minimize(bytes, path, &why.to_string());
                let why = property::check(&small, path).err().unwrap_or_else(|| why.to_string());
                format!("{why}\nparsed as {}; minimal input saved to {}", path.display(), save_regression(&small).display())
            }
        }
    }
    match source {
        Source::Mutated => runner
            .run(&mutate::strategy(seeds().len()), |(s, m)| verdict(&mutate::apply(seeds(), s, &m), case_path(Some(s)), stats))
            .map_err(|e| failure(e, |(s, m)| (mutate::apply(seeds(), *s, m), case_path(Some(*s))))),
        Source::Generated => runner
            .run(&generate::strategy(), |g| verdict(generate::render(&g).as_bytes(), case_path(None), stats))
            .map_err(|e| failure(e, |g| (generate::render(g).into_bytes(), case_path(None)))),
    }
}

fn quick(source: Source) {
    let seed = run_seed();
    let stats = Stats::default();
    if let Err(why) = run_round(source, QUICK_CASES, rng_seed(seed, 0), &stats) {
        panic!("{source:?} grid broke the property (LORAN_FUZZ_SEED={seed}):\n{why}");
    }
    println!("{source:?}: {} (LORAN_FUZZ_SEED={seed})", stats.summary());
}

#[test]
fn mutated_seed_grids_keep_the_property() {
    quick(Source::Mutated);
}

#[test]
fn generated_grids_keep_the_property() {
    quick(Source::Generated);
}

/// The seeds themselves (each at its own path, so includes resolve), and every input
/// that once broke the property, replayed.
#[test]
fn seeds_and_saved_regressions_keep_the_property() {
    let regressions = yaml_files(&crate_dir().join("fuzz/regressions"));
    for path in seed_paths().iter().chain(&regressions) {
        let at = if regressions.contains(path) { Path::new(property::TEXT_PATH) } else { path.as_path() };
        let outcome = property::check(&std::fs::read(path).unwrap(), at).unwrap_or_else(|why| panic!("{}: {why}", path.display()));
        // `experiments/common/` holds files grids include, not grids.
        if path.starts_with(crate_dir().join("../../experiments")) && !path.starts_with(crate_dir().join("../../experiments/common")) {
            assert!(matches!(outcome, Outcome::Ok(_)), "{}: a shipped grid must expand: {outcome:?}", path.display());
        }
        if path.starts_with(crate_dir().join("tests/bad_grids")) {
            assert!(!matches!(outcome, Outcome::Ok(_)), "{}: a bad grid must fail", path.display());
        }
    }
    assert!(seeds().len() >= 40, "only {} seed grids", seeds().len());
}

/// Aborts the process with the input saved when one case runs longer than a minute
/// (a hang `check` cannot time out by itself).
fn start_watchdog() {
    std::thread::spawn(|| loop {
        std::thread::sleep(Duration::from_secs(1));
        if let Some((start, bytes)) = CURRENT.lock().unwrap().as_ref() {
            if start.elapsed() > Duration::from_secs(60) {
                eprintln!("a case hung for {:?}; input saved to {}", start.elapsed(), save_regression(bytes).display());
                std::process::abort();
            }
        }
    });
}

/// `just fuzz [SECS]`: rounds of both strategies with fresh seeds until `LORAN_FUZZ_SECS`
/// (default 600) have passed; prints the cases run, the seconds and the outcomes.
#[test]
#[ignore = "time-boxed fuzzing; run with `just fuzz [SECS]`"]
fn fuzz_for_a_while() {
    let budget = Duration::from_secs(std::env::var("LORAN_FUZZ_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(600));
    let seed = run_seed();
    println!("fuzz_grids: {:?} budget, {} seed grids, LORAN_FUZZ_SEED={seed}", budget, seeds().len());
    start_watchdog();
    let (mutated, generated) = (Stats::default(), Stats::default());
    let start = Instant::now();
    let mut last_report = start;
    let mut round = 0u64;
    while start.elapsed() < budget {
        for (source, stats) in [(Source::Mutated, &mutated), (Source::Generated, &generated)] {
            round += 1;
            if let Err(why) = run_round(source, 1000, rng_seed(seed, round), stats) {
                panic!("{source:?} grid broke the property after {:.0?} (LORAN_FUZZ_SEED={seed}, round {round}):\n{why}", start.elapsed());
            }
        }
        if last_report.elapsed() > Duration::from_secs(60) {
            last_report = Instant::now();
            println!("  {:>4.0?}: {} cases", start.elapsed(), mutated.cases() + generated.cases());
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let total = mutated.cases() + generated.cases();
    println!("fuzz_grids: {total} cases in {secs:.1} s ({:.0}/s), no panic, no hang, every error one line", total as f64 / secs);
    println!("  mutated seed grids: {}", mutated.summary());
    println!("  generated grids:    {}", generated.summary());
}
