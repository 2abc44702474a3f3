//! `notebooks/explore.ipynb` executed headless (`jupyter nbconvert --execute`) against a
//! fixture grid run through the `loran` binary: two tasks (generation and classification),
//! QLoRA (nf4-dq) and LoRAN-Sinter, two seeds. Any cell error fails the test, and every
//! section must have drawn its figure or printed its table (not its "cannot show" note).
//! The same notebook on a folder without results must run too, each section saying why
//! it shows nothing. A second test checks the committed notebook carries no outputs.
//!
//! The Python comes from `LORAN_NOTEBOOK_PYTHON`, else the venv `notebooks/setup_venv.sh`
//! makes (`$LORAN_HOME/notebook-venv`, default `~/.cache/loran-lab`), else `python3`, and
//! must import nbconvert, ipykernel, polars and matplotlib. Without one the test prints why
//! and passes, unless `LORAN_REQUIRE_NOTEBOOK` is set (CI sets it).

use crate::common;

use common::grid_cli::GridFixture;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The committed notebook.
fn notebook() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../notebooks/explore.ipynb")
}

/// A Python that can execute the notebook, or why there is none.
fn notebook_python() -> Result<PathBuf, String> {
    let venv = std::env::var_os("LORAN_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/loran-lab")))
        .map(|home| home.join("notebook-venv/bin/python"));
    let candidates: Vec<PathBuf> = match std::env::var_os("LORAN_NOTEBOOK_PYTHON") {
        Some(p) => vec![PathBuf::from(p)],
        None => venv.into_iter().filter(|p| p.exists()).chain([PathBuf::from("python3")]).collect(),
    };
    let mut why = Vec::new();
    for python in candidates {
        match Command::new(&python).args(["-c", "import nbconvert, ipykernel, polars, matplotlib"]).output() {
            Ok(out) if out.status.success() => return Ok(python),
            Ok(out) => why.push(format!("{} cannot import the notebook's packages ({})", python.display(), String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or(""))),
            Err(e) => why.push(format!("{}: {e}", python.display())),
        }
    }
    Err(format!("no Python with nbconvert, ipykernel, polars and matplotlib ({}); run notebooks/setup_venv.sh", why.join("; ")))
}

/// The Python, or `None` after printing why the test is skipped (a failure under
/// `LORAN_REQUIRE_NOTEBOOK`).
fn python_or_skip() -> Option<PathBuf> {
    match notebook_python() {
        Ok(p) => Some(p),
        Err(why) => {
            assert!(std::env::var_os("LORAN_REQUIRE_NOTEBOOK").is_none(), "LORAN_REQUIRE_NOTEBOOK is set but {why}");
            eprintln!("skipped: {why}");
            None
        }
    }
}

/// Executes the notebook against `results` (a grid folder), writing the executed copy and
/// the figures under `out`; returns the executed notebook's JSON.
fn execute(python: &Path, results: &Path, out: &Path) -> serde_json::Value {
    std::fs::create_dir_all(out).unwrap();
    let executed = out.join("executed.ipynb");
    let run = Command::new(python)
        .args(["-m", "nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.timeout=600", "--output"])
        .arg(&executed)
        .arg(notebook())
        .env("LORAN_RESULTS", results)
        .env("LORAN_FIGURES", out.join("figures"))
        .env("MPLBACKEND", "Agg")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "the notebook failed on {}:\n{}",
        results.display(),
        String::from_utf8_lossy(&run.stderr).lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
    );
    let nb: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&executed).unwrap()).unwrap();
    for cell in code_cells(&nb) {
        for output in cell["outputs"].as_array().unwrap() {
            assert_ne!(output["output_type"], "error", "a cell raised: {output}");
        }
    }
    nb
}

fn code_cells(nb: &serde_json::Value) -> impl Iterator<Item = &serde_json::Value> {
    nb["cells"].as_array().expect("a notebook has cells").iter().filter(|c| c["cell_type"] == "code")
}

/// Everything the executed cells printed or displayed as text.
fn output_text(nb: &serde_json::Value) -> String {
    let join = |v: &serde_json::Value| match v {
        serde_json::Value::Array(lines) => lines.iter().filter_map(|l| l.as_str()).collect::<String>(),
        serde_json::Value::String(s) => s.clone(),
        _ => String::new(),
    };
    let mut text = String::new();
    for cell in code_cells(nb) {
        for output in cell["outputs"].as_array().unwrap() {
            text += &join(&output["text"]);
            text += &join(&output["data"]["text/plain"]);
            text += &join(&output["data"]["text/markdown"]);
            text += "\n";
        }
    }
    text
}

#[test]
fn the_notebook_runs_on_a_fixture_grid_and_on_an_empty_folder() {
    let Some(python) = python_or_skip() else { return };
    let fx = GridFixture::new("explore", 6, 4, &[4]);
    let grid = fx.variant(
        "explore",
        &[
            // The base's default rank (64) is above the fixture's narrowest target (16).
            ("adapter: { method: lora, alpha: 16,", "adapter: { method: lora, r: 4, alpha: 16, layers: { last: 1 },"),
            ("max_test_examples: 4", "max_test_examples: 8"),
            ("max_examples: 4", "max_examples: 8"),
            (
                "axes:\n  adapter.r: [4]\n",
                "seeds: [0, 1]\naxes:\n  task: [news-standfirst, mailing-list-topics]\n  quant: [nf4-dq]\n  adapter:\n    - { method: lora }\n    \
                 - { method: loran, activation: { name: sinter, amplitude: 0.5, omega: 3.0 } }\n",
            ),
        ],
    );
    let results = fx.results("results");
    let out = fx.run_file(&grid, &results, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let grid_dir = results.join("explore");
    let summary = std::fs::read_to_string(grid_dir.join("summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 1 + 8, "2 tasks × 2 methods × 2 seeds:\n{summary}");
    for method in ["qlora-dq", "loran-sinter+nf4-dq"] {
        assert!(summary.contains(&format!(",{method},")), "no {method} runs:\n{summary}");
    }
    assert!(grid_dir.join("table.csv").exists(), "the grid run renders its table");
    // Adapters on the last block only: the runs cache the frozen prefix and log the base's
    // loss on each batch, which the notebook draws as its second loss column.
    for run in std::fs::read_dir(grid_dir.join("runs")).unwrap() {
        let run = run.unwrap().path();
        if run.join("metrics.jsonl").exists() {
            let log = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
            assert!(log.lines().all(|l| l.contains("\"base_loss\":")), "{} logs no base loss:\n{log}", run.display());
        }
    }

    let start = std::time::Instant::now();
    let out = fx.dir.path().join("notebook");
    let nb = execute(&python, &grid_dir, &out);
    eprintln!("the notebook ran on the fixture grid in {:.1}s", start.elapsed().as_secs_f64());
    let text = output_text(&nb);
    // Every section found its data: no "cannot show" note, and each drew its figure.
    assert!(!text.contains("Not shown:"), "a section had nothing to show:\n{text}");
    for figure in ["table_deltas", "loss_curves", "confusion_mailing-list-topics", "bootstrap"] {
        let png = out.join("figures").join(format!("{figure}.png"));
        let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("{} was not drawn: {e}\n{text}", png.display()));
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 5_000, "{} is not a drawn PNG", png.display());
    }
    // The headline pair and its pairing, as the notebook reports them.
    assert!(text.contains("loran-sinter+nf4-dq − qlora-dq"), "no headline delta:\n{text}");
    assert!(text.contains("2 seeds") && text.contains("8 test examples"), "the bootstrap names its pairing:\n{text}");
    assert!(text.contains("10000 resamples"), "the bootstrap matches the report's count:\n{text}");

    // A folder without any results: every section says so and nothing raises.
    let empty = fx.dir.path().join("no-grid");
    std::fs::create_dir_all(&empty).unwrap();
    let nb = execute(&python, &empty, &fx.dir.path().join("notebook-empty"));
    let text = output_text(&nb);
    assert!(text.matches("Not shown:").count() >= 5, "each section prints its note:\n{text}");
    assert!(!fx.dir.path().join("notebook-empty/figures").exists() || std::fs::read_dir(fx.dir.path().join("notebook-empty/figures")).unwrap().next().is_none());
}

#[test]
fn the_committed_notebook_has_no_outputs() {
    let path = notebook();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let nb: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    assert_eq!(nb["nbformat"], 4, "nbformat 4");
    let cells: Vec<&serde_json::Value> = code_cells(&nb).collect();
    assert!(cells.len() >= 6, "the notebook has its sections");
    for (i, cell) in cells.iter().enumerate() {
        let source = match &cell["source"] {
            serde_json::Value::Array(lines) => lines.iter().filter_map(|l| l.as_str()).collect::<String>(),
            other => other.as_str().unwrap_or_default().to_string(),
        };
        let first = source.lines().next().unwrap_or("");
        assert_eq!(cell["outputs"], serde_json::json!([]), "code cell {i} (`{first}`) has outputs: strip them before committing");
        assert!(cell["execution_count"].is_null(), "code cell {i} (`{first}`) has an execution count: strip it before committing");
    }
}
