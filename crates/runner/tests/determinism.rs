//! The same grid and seeds, run in fresh processes, give bit-identical numbers: every
//! metric, the training summary and every logged step's loss and gradient norm. The
//! cells cover dropout, LoRAN's Sinter and an NF4 base. Each `result.json` records its
//! thread count; at this size 1 and 2 threads give the same bits too (the README has
//! the measurement on the real model).

use crate::common;

use common::grid_cli::GridFixture;
use loran_report::compare::{compare_grid_dirs, Comparison};
use std::collections::BTreeSet;

/// Cells × (5 metrics + final loss + 4 steps × (loss, gradient norm)).
const NUMBERS: usize = 4 * (5 + 1 + 4 * 2);

/// A grid `name` of four cells: LoRA with dropout and LoRAN Sinter, each over an f32
/// and an NF4 base, with `extra` appended to the YAML.
fn grid(fx: &GridFixture, name: &str, extra: &str) {
    grid_with_axes(fx, name, "", extra);
}

/// [`grid`] with more axis lines (`  key: [values]\n`).
fn grid_with_axes(fx: &GridFixture, name: &str, axes: &str, extra: &str) {
    let path = fx.variant(
        name,
        &[
            // The base's default rank (64) is above the fixture's narrowest target (16).
            ("adapter: { method: lora, alpha: 16,", "adapter: { method: lora, r: 4, alpha: 16,"),
            (
            "axes:\n  adapter.r: [4]\n",
            &format!(
                "axes:\n  adapter:\n    - {{ method: lora, dropout: 0.1 }}\n    \
                 - {{ method: loran, activation: {{ name: sinter, amplitude: 0.5, omega: 3.0 }} }}\n  quant: [none, nf4]\n{axes}"
            ),
            ),
        ],
    );
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text + extra).unwrap();
}

/// Runs grid `name` into the results root `results` with `threads` matmul threads.
fn run(fx: &GridFixture, name: &str, results: &str, threads: &str) -> std::path::PathBuf {
    let root = fx.results(results);
    let out = fx.run_file(&fx.dir.path().join(format!("{name}.yaml")), &root, &[("RAYON_NUM_THREADS", threads)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    root.join(name)
}

fn threads(n: usize) -> BTreeSet<usize> {
    BTreeSet::from([n])
}

fn assert_identical(cmp: &Comparison, what: &str) {
    assert_eq!(cmp.numbers.len(), NUMBERS, "{what}: {:?}", cmp.numbers);
    assert!(cmp.unmatched.0.is_empty() && cmp.unmatched.1.is_empty(), "{what}: {:?}", cmp.unmatched);
    let differing: Vec<_> = cmp.differing().collect();
    assert!(differing.is_empty(), "{what}: {} of {} numbers differ: {differing:?}", differing.len(), cmp.numbers.len());
}

#[test]
fn the_same_config_and_seed_give_bit_identical_numbers_on_one_and_two_threads() {
    let fx = GridFixture::new("base", 4, 2, &[4]);
    grid(&fx, "same", "");
    let first = run(&fx, "same", "first", "2");
    let second = run(&fx, "same", "second", "2");
    let cmp = compare_grid_dirs(&first, &second).unwrap();
    assert_eq!(cmp.threads, (threads(2), threads(2)), "the thread count is recorded");
    assert_identical(&cmp, "two runs on 2 threads");

    let one = run(&fx, "same", "one", "1");
    let cmp = compare_grid_dirs(&first, &one).unwrap();
    assert_eq!(cmp.threads, (threads(2), threads(1)));
    assert_identical(&cmp, "2 threads against 1");
}

#[test]
fn bf16_compute_gives_bit_identical_numbers_on_one_and_two_threads_and_differs_from_f32() {
    let fx = GridFixture::new("base", 4, 2, &[4]);
    grid_with_axes(&fx, "bf16", "  train.compute_dtype: [bf16]\n", "");
    let two = run(&fx, "bf16", "two", "2");
    let one = run(&fx, "bf16", "one", "1");
    let cmp = compare_grid_dirs(&two, &one).unwrap();
    assert_eq!(cmp.threads, (threads(2), threads(1)));
    assert_identical(&cmp, "bf16 compute, 2 threads against 1");
    // The setting reaches the arithmetic: f32 gives other step losses.
    grid(&fx, "f32", "");
    let f32_dir = run(&fx, "f32", "f32", "2");
    assert_ne!(step_logs(&two), step_logs(&f32_dir), "bf16 and f32 logged the same steps");
}

/// Each run's logged steps without their timings, in run-folder order.
fn step_logs(dir: &std::path::Path) -> Vec<String> {
    let mut runs: Vec<_> = std::fs::read_dir(dir.join("runs")).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    runs.sort();
    runs.iter()
        .map(|r| std::fs::read_to_string(r.join("metrics.jsonl")).unwrap())
        .map(|t| t.lines().map(|l| l.split("\"elapsed_s\"").next().unwrap().to_string()).collect())
        .collect()
}

#[test]
fn another_seed_gives_other_numbers() {
    // The comparison above is not vacuous: the seed reaches every cell's numbers.
    let fx = GridFixture::new("base", 4, 2, &[4]);
    grid(&fx, "seeded", "");
    let seed0 = run(&fx, "seeded", "seed0", "2");
    std::fs::write(fx.dir.path().join("seeded.yaml"), std::fs::read_to_string(fx.dir.path().join("seeded.yaml")).unwrap() + "seeds: [1]\n").unwrap();
    let seed1 = run(&fx, "seeded", "seed1", "2");
    let cmp = compare_grid_dirs(&seed0, &seed1).unwrap();
    // Run ids carry the seed, so nothing pairs up; compare the step losses by position.
    assert!(cmp.numbers.is_empty() && cmp.unmatched.0.len() == 4 && cmp.unmatched.1.len() == 4, "{cmp:?}");
    for (a, b) in step_logs(&seed0).iter().zip(step_logs(&seed1)) {
        assert_ne!(a, &b, "seed 0 and seed 1 logged the same steps");
    }
}
