//! The dependency rule of DESIGN.md, checked on the real manifests:
//! datasets → runner ← metrics; model ← adapters → runner; nothing depends on runner.

use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::process::Command;

fn workspace_deps() -> HashMap<String, HashSet<String>> {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    meta["packages"]
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

#[test]
fn crates_respect_the_dependency_rule() {
    let deps = workspace_deps();
    let forbidden: &[(&str, &[&str])] = &[
        ("loran-assets", &["loran-model", "loran-adapters", "loran-datasets", "loran-metrics", "loran-runner", "candle-core"]),
        ("loran-model", &["loran-adapters", "loran-datasets", "loran-metrics", "loran-runner"]),
        ("loran-adapters", &["loran-datasets", "loran-metrics", "loran-runner"]),
        ("loran-datasets", &["loran-model", "loran-adapters", "loran-metrics", "loran-runner", "candle-core", "candle-nn"]),
        ("loran-metrics", &["loran-model", "loran-adapters", "loran-datasets", "loran-runner", "candle-core", "candle-nn"]),
    ];
    for (krate, banned) in forbidden {
        let have = deps.get(*krate).unwrap_or_else(|| panic!("workspace lacks {krate}"));
        for b in *banned {
            assert!(!have.contains(*b), "{krate} must not depend on {b}");
        }
    }
    assert!(deps["loran-adapters"].contains("loran-model"));
    for needed in ["loran-model", "loran-adapters", "loran-datasets", "loran-metrics"] {
        assert!(deps["loran-runner"].contains(needed), "runner should use {needed}");
    }
}
