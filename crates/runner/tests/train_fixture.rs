//! Grids end to end on a tiny random LLaMA and synthetic task data: training
//! lowers the loss, seeds reproduce bit for bit, finished cells are skipped,
//! and bad cells fail alone with a clear error.

use loran_model::fixtures::{random_weights, tiny_config, write_hf_folder};
use loran_runner::grid::{read_grid, run_grid, GridOptions};
use loran_train::resources::Resources;
use loran_train::record::{RunResult, RunStatus, StepRecord};
use std::path::{Path, PathBuf};

pub(crate) struct Fixture {
    pub(crate) dir: tempfile::TempDir,
}

impl Fixture {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let cfg = tiny_config();
        let mut weights = random_weights(&cfg, 21);
        // Larger (tied) embeddings let the tiny model express peaked next-token
        // distributions, so fitting the synthetic data shows in the loss.
        let embed = weights["model.embed_tokens.weight"].clone();
        weights.insert("model.embed_tokens.weight".into(), (embed * 5.0).unwrap());
        write_hf_folder(&dir.path().join("model"), &cfg, &weights).unwrap();
        loran_datasets::fixtures::synthetic_store(&dir.path().join("home"), 80, 70).unwrap();
        Self { dir }
    }

    pub(crate) fn grid(&self, name: &str, body: &str) -> PathBuf {
        let model = self.dir.path().join("model");
        let text = format!(
            "name: {name}\nbase:\n  model: {}\n  data: {{ max_test_examples: 8 }}\n  adapter: {{ r: 8, alpha: 16, dropout: 0.0, targets: [q_proj, v_proj, o_proj, up_proj, down_proj] }}\n  \
             train: {{ steps: 30, lr: 3.0e-2, batch_size: 4, max_len: 320, max_target_tokens: 48, warmup_ratio: 0.1 }}\n  \
             eval: {{ max_examples: 8, max_new_tokens: 12, batch_size: 3 }}\n{body}",
            model.display()
        );
        let path = self.dir.path().join(format!("{name}.yaml"));
        std::fs::write(&path, text).unwrap();
        path
    }

    pub(crate) fn run(&self, grid: &Path, results: &str) -> loran_runner::grid::GridOutcome {
        let grid = read_grid(grid).unwrap();
        let opts = GridOptions { results_root: self.dir.path().join(results), force: false, only: None };
        let mut resources = Resources::new(loran_assets::Store::new(self.dir.path().join("home")));
        run_grid(&grid, &opts, &mut resources, &mut |_: &str| {}).unwrap()
    }

    pub(crate) fn run_dir(&self, results: &str, grid: &str, run_id: &str) -> PathBuf {
        self.dir.path().join(results).join(grid).join("runs").join(run_id)
    }
}

pub(crate) fn result(dir: &Path) -> RunResult {
    serde_json::from_str(&std::fs::read_to_string(dir.join("result.json")).unwrap()).unwrap()
}

fn steps(dir: &Path) -> Vec<StepRecord> {
    std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn lora_training_lowers_the_loss_and_is_reproducible() {
    let fx = Fixture::new();
    let grid = fx.grid("fit", "axes:\n  task: [news-standfirst, mailing-list-topics]\n  adapter.method: [none, lora]\n");
    let first = fx.run(&grid, "a");
    assert_eq!(first.ok.len(), 4, "{first:?}");

    for task in ["news-standfirst", "mailing-list-topics"] {
        let id = first.ok.iter().find(|id| id.starts_with(&format!("{task}-lora"))).unwrap();
        let dir = fx.run_dir("a", "fit", id);
        let log = steps(&dir);
        assert_eq!(log.len(), 30);
        let mean = |s: &[StepRecord]| s.iter().map(|r| r.loss).sum::<f64>() / s.len() as f64;
        let (start, end) = (mean(&log[..5]), mean(&log[25..]));
        assert!(end < 0.8 * start, "{task}: loss {start:.3} -> {end:.3} did not fall");
        let r = result(&dir);
        assert_eq!(r.status, RunStatus::Ok);
        assert_eq!(r.train.steps, 30);
        assert!(r.train.trainable_params > 0 && r.data_sha256.len() == 64);
        assert!(r.metrics.contains_key(if task == "news-standfirst" { "rougeL" } else { "accuracy" }));
        let zero = result(&fx.run_dir("a", "fit", first.ok.iter().find(|id| id.starts_with(&format!("{task}-none"))).unwrap()));
        assert_eq!((zero.train.steps, zero.train.trainable_params), (0, 0));
        // Teacher-forced loss of the test answers: the fitted adapter lowers it.
        let (trained, floor) = (r.metrics["test_loss"], zero.metrics["test_loss"]);
        assert!(trained.is_finite() && floor.is_finite());
        assert!(trained < 0.8 * floor, "{task}: test loss {floor:.3} -> {trained:.3}");
        // Each prediction keeps its share of the test loss; together they give the mean back.
        let preds: Vec<loran_train::record::PredictionRecord> =
            std::fs::read_to_string(dir.join("predictions.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let (sum, tokens) = preds.iter().fold((0.0, 0), |(s, n), p| (s + p.loss_sum.unwrap(), n + p.loss_tokens.unwrap()));
        assert!(tokens > 0 && ((sum / tokens as f64) - trained).abs() < 1e-9, "{task}: {sum}/{tokens} vs {trained}");
        // Evaluation time splits into the test loss and generation.
        let t = &r.timings;
        assert!(t.test_loss_s > 0.0 && t.generate_s > 0.0 && (t.test_loss_s + t.generate_s - t.eval_s).abs() < 1e-9, "{t:?}");
    }
    // The grid's time split sums the cells run and fits inside the grid's wall time.
    let time = &first.time;
    let cells = |f: fn(&RunResult) -> f64| first.ok.iter().map(|id| f(&result(&fx.run_dir("a", "fit", id)))).sum::<f64>();
    assert_eq!(time.training_s, cells(|r| r.timings.train_s));
    assert_eq!(time.generation_s, cells(|r| r.timings.generate_s));
    let named = time.preflight_s + time.loading_s + time.training_s + time.test_loss_s + time.generation_s + time.report_s;
    assert!(time.training_s > 0.0 && time.report_s > 0.0 && named <= time.total_s, "{time:?}");

    // The same grid elsewhere gives bit-identical losses and metrics.
    let second = fx.run(&grid, "b");
    assert_eq!(first.ok, second.ok);
    for id in &first.ok {
        let (a, b) = (fx.run_dir("a", "fit", id), fx.run_dir("b", "fit", id));
        assert_eq!(result(&a).metrics, result(&b).metrics, "{id}");
        let bits = |s: Vec<StepRecord>| s.iter().map(|r| (r.loss.to_bits(), r.grad_norm.to_bits())).collect::<Vec<_>>();
        if a.join("metrics.jsonl").exists() {
            assert_eq!(bits(steps(&a)), bits(steps(&b)), "{id}");
        }
        assert_eq!(std::fs::read(a.join("predictions.jsonl")).unwrap(), std::fs::read(b.join("predictions.jsonl")).unwrap());
    }
    let rendered = loran_report::render(&fx.dir.path().join("a/fit")).unwrap();
    assert_eq!(rendered.ok, 4);
    let csv = std::fs::read_to_string(&rendered.summary_csv).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
}

#[test]
fn finished_cells_are_skipped_and_a_missing_result_reruns_only_that_cell() {
    let fx = Fixture::new();
    let grid = fx.grid("resume", "axes:\n  adapter.method: [none, lora]\n");
    let first = fx.run(&grid, "r");
    assert_eq!(first.ok.len(), 2);
    let again = fx.run(&grid, "r");
    assert_eq!((again.ok.len(), again.skipped.len()), (0, 2));
    std::fs::remove_file(fx.run_dir("r", "resume", &first.ok[1]).join("result.json")).unwrap();
    let third = fx.run(&grid, "r");
    assert_eq!(third.ok, vec![first.ok[1].clone()]);
    assert_eq!(third.skipped, vec![first.ok[0].clone()]);
}

#[test]
fn a_cell_with_the_config_of_another_grids_run_is_copied_not_rerun() {
    let fx = Fixture::new();
    let first = fx.grid("first", "axes:\n  adapter.method: [none]\n");
    let done = fx.run(&first, "r");
    assert_eq!(done.ok.len(), 1);
    // Same resolved config under another grid name and axis layout.
    let second = fx.grid("second", "axes:\n  task: [news-standfirst]\n  adapter.method: [none]\n");
    let copied = fx.run(&second, "r");
    assert_eq!((copied.ok.len(), copied.skipped.len()), (0, 1), "{copied:?}");
    let original = result(&fx.run_dir("r", "first", &done.ok[0]));
    let reused = result(&fx.run_dir("r", "second", &copied.skipped[0]));
    assert_eq!(reused.grid, "second");
    assert_eq!(reused.metrics, original.metrics);
    assert_eq!(reused.config_hash, original.config_hash);
    assert!(reused.reused_from.as_deref().unwrap().contains("first"), "{:?}", reused.reused_from);
    assert!(fx.run_dir("r", "second", &copied.skipped[0]).join("predictions.jsonl").exists());
}

/// Runs `grid` expecting its preflight to refuse it; returns the error.
fn refused(fx: &Fixture, grid: &Path, results: &str) -> String {
    let opts = GridOptions { results_root: fx.dir.path().join(results), force: false, only: None };
    let mut resources = Resources::new(loran_assets::Store::new(fx.dir.path().join("home")));
    let err = run_grid(&read_grid(grid).unwrap(), &opts, &mut resources, &mut |_: &str| {}).unwrap_err();
    let grid_dir = fx.dir.path().join(results).join(read_grid(grid).unwrap().spec.name);
    assert!(!grid_dir.join("runs").exists(), "a cell ran before the preflight refused the grid");
    format!("{err:#}")
}

#[test]
fn a_bad_cell_stops_the_grid_before_any_cell_runs() {
    let fx = Fixture::new();
    let grid = fx.grid(
        "bad",
        "axes:\n  task: [news-standfirst, mailing-list-topics]\nbundles:\n  - { task: news-standfirst, adapter.targets: [c_attn] }\n",
    );
    let err = refused(&fx, &grid, "x");
    assert!(err.contains(&grid.display().to_string()) && err.contains("key `adapter`"), "{err}");
    assert!(err.contains("`c_attn`") && err.contains("q_proj") && !err.contains('\n'), "{err}");
    let grid = fx.grid("bad-model", "axes:\n  task: [news-standfirst, mailing-list-topics]\nbundles:\n  - { task: mailing-list-topics, model: no-such-model }\n");
    let err = refused(&fx, &grid, "x");
    assert!(err.contains("key `model`") && err.contains("no-such-model") && err.contains("smollm2-135m"), "{err}");
    // An unknown task is caught before anything runs, naming the registry.
    let grid = fx.grid("bad-task", "axes:\n  task: [news-standfirst, no-such-task]\n");
    let err = loran_runner::grid::expand(&read_grid(&grid).unwrap()).unwrap_err().to_string();
    assert!(err.contains("no-such-task") && err.contains("mailing-list-topics"), "{err}");
}

#[test]
fn sequences_longer_than_the_model_are_refused_by_key() {
    let fx = Fixture::new();
    let grid = fx.grid("long", "axes:\n  train.max_len: [4096]\n");
    let err = refused(&fx, &grid, "l");
    assert!(err.contains("train.max_len 4096") && err.contains("512 positions") && !err.contains('\n'), "{err}");
}

#[test]
fn the_nonlinear_baselines_train_through_a_grid() {
    let fx = Fixture::new();
    let grid = fx.grid(
        "baselines",
        "axes:\n  task: [mailing-list-topics]\n  adapter:\n    - { method: lora, targets: [q_proj, v_proj, gate_proj] }\n    \
         - { method: nolora, targets: [q_proj, v_proj, gate_proj] }\n    - { method: na-lora, targets: [q_proj, v_proj, gate_proj] }\n    \
         - { method: sine-lora, targets: [q_proj, v_proj, gate_proj] }\n",
    );
    let out = fx.run(&grid, "b");
    assert_eq!(out.ok.len(), 4, "{out:?}");
    let run = |method: &str| {
        let id = out.ok.iter().find(|id| id.starts_with(&format!("{method}-"))).unwrap_or_else(|| panic!("{method}: {:?}", out.ok));
        let dir = fx.run_dir("b", "baselines", id);
        (result(&dir), steps(&dir))
    };
    let (lora, _) = run("lora");
    for method in ["nolora", "na-lora", "sine-lora"] {
        let (r, log) = run(method);
        let mean = |s: &[StepRecord]| s.iter().map(|r| r.loss).sum::<f64>() / s.len() as f64;
        let (start, end) = (mean(&log[..5]), mean(&log[25..]));
        // Sine-LoRA (ω = 100) folds its update once ω·B·A leaves the linear range, so at
        // this hot learning rate it fits more slowly than the others.
        let fall = if method == "sine-lora" { 0.9 } else { 0.8 };
        assert!(end < fall * start, "{method}: loss {start:.3} -> {end:.3} did not fall");
        // The test answers' loss ends below the training loss of the first steps.
        let ours = r.metrics["test_loss"];
        assert!(ours.is_finite() && ours < 0.9 * start, "{method}: test loss {ours:.3}, first training steps {start:.3}");
        // The budget: NoLoRA adds β, γ, m (3r) per module; the others train LoRA's count.
        let extra = if method == "nolora" { 3 * 8 * 3 * 2 } else { 0 };
        assert_eq!(r.train.trainable_params, lora.train.trainable_params + extra, "{method}");
    }
}

#[test]
fn na_lora_without_a_gate_projection_is_refused_at_plan_time_naming_the_modules() {
    let fx = Fixture::new();
    let grid = fx.grid("no-gate", "axes:\n  adapter.method: [na-lora]\n");
    let err = loran_runner::grid::expand(&read_grid(&grid).unwrap()).unwrap_err().to_string();
    assert!(err.contains("no-gate.yaml:5:") && err.contains("method `na-lora`"), "{err}");
    assert!(err.contains("self_attn.q_proj") && err.contains("add `gate_proj` to adapter.targets"), "{err}");
    assert!(!err.contains('\n'), "{err}");
}

#[test]
fn bf16_compute_follows_the_f32_loss_curve() {
    let fx = Fixture::new();
    let grid = fx.grid("precision", "axes:\n  task: [mailing-list-topics]\n  adapter.method: [lora]\n  train.compute_dtype: [f32, bf16]\n");
    let out = fx.run(&grid, "a");
    assert_eq!(out.ok.len(), 2, "{out:?}");
    let run = |dtype: &str| out.ok.iter().find(|id| id.contains(dtype)).map(|id| fx.run_dir("a", "precision", id)).unwrap();
    let (f32_log, bf16_log) = (steps(&run("f32")), steps(&run("bf16")));
    assert_eq!((f32_log.len(), bf16_log.len()), (30, 30));
    // Tolerance. bf16 keeps 8 significant bits (unit roundoff u = 2⁻⁸), and each frozen
    // product rounds both inputs, so an output element carries at most ~2u ≈ 0.8 % of
    // the sum of its terms' magnitudes as error, less where terms cancel or errors
    // average out. The first step (adapter B = 0, so only the frozen model differs)
    // must agree to 2u relative; the trajectories then separate as the adapters see
    // slightly different gradients, and we ask only that they stay within 5 % of each
    // other on average over the last 10 steps and that bf16 trains as well.
    let (a, b) = (f32_log[0].loss, bf16_log[0].loss);
    assert!(a != b, "bf16 must change the arithmetic: step 1 losses are equal ({a})");
    assert!((a - b).abs() <= 2.0 * 2f64.powi(-8) * a.abs(), "step 1: f32 {a} vs bf16 {b}");
    let tail = |log: &[StepRecord]| log[20..].iter().map(|r| r.loss).sum::<f64>() / 10.0;
    let (ta, tb) = (tail(&f32_log), tail(&bf16_log));
    eprintln!("step 1: f32 {a:.6}, bf16 {b:.6}; mean of steps 21-30: f32 {ta:.4}, bf16 {tb:.4}");
    assert!((ta - tb).abs() <= 0.05 * ta.abs(), "last 10 steps: f32 {ta} vs bf16 {tb}");
    assert!(tb < 0.8 * b, "bf16 training did not lower the loss: {b} -> {tb}");
    let r = result(&run("bf16"));
    assert!(r.metrics.contains_key("accuracy") && r.metrics["test_loss"].is_finite());
}
