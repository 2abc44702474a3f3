//! The `loran` binary on a tiny fixture model: commands work, bad input fails with one clear line.

use loran_model::fixtures::{random_weights, tiny_config, write_hf_folder};
use std::process::{Command, Output};

fn loran(args: &[&str], home: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loran"))
        .args(args)
        .env("LORAN_HOME", home)
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .expect("loran runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn generate_and_perplexity_run_on_a_fixture_folder() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny");
    let cfg = tiny_config();
    write_hf_folder(&model, &cfg, &random_weights(&cfg, 8)).unwrap();
    let m = model.to_str().unwrap();

    let out = loran(&["generate", "--model", m, "--prompt", "the cat", "--max-new-tokens", "5"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("new tokens"), "{}", text(&out.stderr));

    // Greedy decoding is deterministic: two runs print the same continuation.
    let again = loran(&["generate", "--model", m, "--prompt", "the cat", "--max-new-tokens", "5"], dir.path());
    assert_eq!(out.stdout, again.stdout);

    let out = loran(&["perplexity", "--model", m, "--text", "the cat sat on the mat"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let field = |prefix: &str| -> f64 {
        let line = stdout.lines().find_map(|l| l.strip_prefix(prefix)).unwrap_or_else(|| panic!("no `{prefix}` in {stdout}"));
        line.split_whitespace().next().unwrap().parse().unwrap()
    };
    let (nll, ppl) = (field("mean NLL: "), field("perplexity: "));
    assert!((ppl - nll.exp()).abs() < 1e-3 * ppl, "ppl {ppl} is not exp(NLL {nll})");
    // Small random weights give a nearly uniform next-token distribution over the 264 tokens.
    let vocab = cfg.vocab_size as f64;
    assert!(ppl > vocab / 4.0 && ppl < vocab * 4.0, "implausible perplexity {ppl} for vocabulary {vocab}");
}

#[test]
fn unknown_model_is_one_clear_line_and_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let out = loran(&["perplexity", "--model", "no-such-model", "--text", "hi there"], dir.path());
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("unknown model `no-such-model`") && stderr.contains("smollm2-135m"), "{stderr}");
}

#[test]
fn default_model_without_assets_says_run_just_assets() {
    let dir = tempfile::tempdir().unwrap();
    let out = loran(&["generate", "--prompt", "hi"], dir.path());
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("just assets"), "{stderr}");
}

#[test]
fn assets_rejects_unknown_keys() {
    let dir = tempfile::tempdir().unwrap();
    let out = loran(&["assets", "--only", "imagenet"], dir.path());
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("unknown asset `imagenet`"));
}

#[test]
fn a_closed_output_pipe_ends_the_command_without_a_panic() {
    // `loran grid plan FILE | head -1`: the reader goes away after the first line.
    let home = tempfile::tempdir().unwrap();
    let grid = concat!(env!("CARGO_MANIFEST_DIR"), "/../../experiments/quick/baselines.yaml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_loran"))
        .args(["grid", "plan", grid])
        .env("LORAN_HOME", home.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("loran runs");
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
}
