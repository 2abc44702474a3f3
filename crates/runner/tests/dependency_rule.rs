//! The dependency rule of DESIGN.md, checked on the real manifests: data flows one way,
//! datasets → model + adapters → training → metrics → reports, with the runner on top.

use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::process::Command;

fn metadata() -> Value {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn workspace_deps() -> HashMap<String, HashSet<String>> {
    metadata()["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null()) // normal dependencies only
                .map(|d| d["name"].as_str().unwrap().to_string())
                .collect();
            (p["name"].as_str().unwrap().to_string(), deps)
        })
        .collect()
}

/// Each crate of the workspace and its layer: a crate may depend only on crates of a
/// lower layer. A new crate must be placed here, which is the point: its place in the
/// flow is decided, not drifted into.
const LAYERS: &[(&str, u8)] = &[
    ("loran-io", 0),
    ("loran-assets", 0),
    ("loran-kernels", 0),
    // Inference math (intervals, Holm, power): no data, no tensors.
    ("loran-stats", 0),
    ("loran-datasets", 1),
    ("loran-metrics", 1),
    ("loran-model", 1),
    ("loran-adapters", 2),
    ("loran-train", 3),
    ("loran-report", 4),
    ("loran-runner", 5),
];

fn layer(krate: &str) -> u8 {
    LAYERS.iter().find(|(k, _)| *k == krate).unwrap_or_else(|| panic!("{krate} has no layer in LAYERS: decide where it sits in the flow")).1
}

#[test]
fn every_crate_depends_only_on_lower_layers() {
    let deps = workspace_deps();
    for (krate, needs) in &deps {
        for dep in needs.iter().filter(|d| d.starts_with("loran-")) {
            assert!(layer(dep) < layer(krate), "{krate} (layer {}) must not depend on {dep} (layer {})", layer(krate), layer(dep));
        }
    }
    assert_eq!(deps.len(), LAYERS.len(), "LAYERS lists {} crates, the workspace has {}", LAYERS.len(), deps.len());
}

#[test]
fn crates_respect_the_dependency_rule() {
    let deps = workspace_deps();
    let forbidden: &[(&str, &[&str])] = &[
        ("loran-assets", &["candle-core"]),
        // Atomic writes, fault points and one-line errors: every layer uses it, so it stays small.
        ("loran-io", &["candle-core", "candle-nn", "anyhow"]),
        ("loran-datasets", &["loran-model", "loran-adapters", "loran-metrics", "candle-core", "candle-nn"]),
        ("loran-metrics", &["loran-datasets", "candle-core", "candle-nn"]),
        ("loran-model", &["loran-datasets", "loran-metrics"]),
        // Reports read run folders: no tensors, no model.
        ("loran-report", &["loran-model", "candle-core", "candle-nn"]),
    ];
    for (krate, banned) in forbidden {
        let have = deps.get(*krate).unwrap_or_else(|| panic!("workspace lacks {krate}"));
        for b in *banned {
            assert!(!have.contains(*b), "{krate} must not depend on {b}");
        }
    }
    assert!(deps["loran-adapters"].contains("loran-model"));
    for needed in ["loran-model", "loran-adapters", "loran-datasets", "loran-metrics"] {
        assert!(deps["loran-train"].contains(needed), "train should use {needed}");
    }
    for needed in ["loran-train", "loran-report"] {
        assert!(deps["loran-runner"].contains(needed), "runner should use {needed}");
    }
}

/// Test fixtures are library code only under the `test-support` feature, which only
/// dev-dependencies may turn on: no binary ships them.
#[test]
fn only_dev_dependencies_turn_on_test_support() {
    let meta = metadata();
    let mut dev_uses = 0;
    for p in meta["packages"].as_array().unwrap() {
        for d in p["dependencies"].as_array().unwrap() {
            let features: Vec<&str> = d["features"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
            if features.contains(&"test-support") {
                assert_eq!(d["kind"].as_str(), Some("dev"), "{} turns on {}'s test-support outside dev-dependencies", p["name"], d["name"]);
                dev_uses += 1;
            }
        }
    }
    assert!(dev_uses >= 4, "the fixtures' users were expected to turn the feature on ({dev_uses} found)");
}
