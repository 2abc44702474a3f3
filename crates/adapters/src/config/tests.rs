use super::*;
use crate::activations::ActivationConfig;
use crate::loran;
use crate::na_lora::NaLoraConfig;
use serde_json::json;

fn yaml(text: &str) -> std::result::Result<AdapterConfig, String> {
    serde_saphyr::from_str::<AdapterConfig>(text).map_err(|e| e.to_string())
}

/// Sinter with the paper's values, as every written config has carried it.
fn sinter_json() -> serde_json::Value {
    json!({"name": "sinter", "amplitude": 5e-5, "omega": 1e4})
}

#[test]
fn defaults_are_the_papers_and_scale_follows_peft() {
    let cfg: AdapterConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(cfg, AdapterConfig::default());
    assert_eq!((cfg.r, cfg.alpha, cfg.dropout), (64, 16.0, 0.2));
    assert_eq!(cfg.scale(), 0.25);
    let rs = AdapterConfig { rslora: true, ..cfg };
    assert_eq!(rs.scale(), 2.0);
}

#[test]
fn unknown_keys_are_rejected_naming_the_key_and_the_valid_ones() {
    let err = serde_json::from_str::<AdapterConfig>(r#"{"rank": 8}"#).unwrap_err().to_string();
    assert!(err.contains("unknown field `rank`, expected one of `method`, `r`"), "{err}");
    assert!(err.contains("`activation`") && err.contains("`na_lora`") && err.contains("`sine`"), "{err}");
    let err = yaml("method: sine-lora\nsine: { omegaa: 3 }").unwrap_err();
    assert!(err.contains("adapter.sine.omegaa: `sine` has no parameter `omegaa` (it takes omega: a number in (0, ∞) (default 100;"), "{err}");
    let err = yaml("na_lora: { quantiel: 0.5 }").unwrap_err();
    assert!(err.contains("adapter.na_lora.quantiel") && err.contains("quantile: a number in [0, 1)"), "{err}");
    let err = yaml("sine: 3").unwrap_err();
    assert!(err.contains("adapter.sine: expected a mapping of omega, gain, got the number 3"), "{err}");
    let err = yaml("r: 8\nr: 9").unwrap_err();
    assert!(err.contains("duplicate"), "{err}");
    let err = AdapterConfig::default().with("sine.phase", 1.0).unwrap_err().to_string();
    assert!(err.starts_with("adapter.sine.phase: no method declares this parameter"), "{err}");
}

#[test]
fn layer_selection_forms() {
    let cfg: AdapterConfig = serde_json::from_str(r#"{"layers": {"last": 3}}"#).unwrap();
    assert_eq!(cfg.layers.unwrap().indices(30), vec![27, 28, 29]);
    let cfg: AdapterConfig = serde_json::from_str(r#"{"layers": [0, 5]}"#).unwrap();
    assert_eq!(cfg.layers.unwrap().indices(30), vec![0, 5]);
}

#[test]
fn validation_names_the_key_and_the_fix() {
    let bad = AdapterConfig { dropout: 1.5, ..AdapterConfig::default() };
    assert!(bad.validate().unwrap_err().to_string().starts_with("adapter.dropout"));
    let bad = AdapterConfig { r: 0, ..AdapterConfig::default() };
    assert!(bad.validate().unwrap_err().to_string().starts_with("adapter.r"));
    for alpha in [-16.0, 0.0, f64::NAN, f64::INFINITY] {
        let err = AdapterConfig { alpha, ..AdapterConfig::default() }.validate().unwrap_err().to_string();
        assert!(err.starts_with("adapter.alpha") && err.contains("in (0, ∞)"), "{err}");
    }
    let layers = |l| AdapterConfig { layers: Some(l), ..AdapterConfig::default() }.validate();
    assert!(layers(LayerSelection::Indices(vec![])).unwrap_err().to_string().contains("empty list"));
    assert!(layers(LayerSelection::Indices(vec![2, 5, 2])).unwrap_err().to_string().contains("layer 2 twice"));
    assert!(layers(LayerSelection::Last { last: 0 }).unwrap_err().to_string().contains("adapts no layer"));
    assert!(layers(LayerSelection::Last { last: 1 }).is_ok() && layers(LayerSelection::Indices(vec![0])).is_ok());
    let err = yaml("method: sine-lora\nsine: { omega: 0 }").unwrap().validate().unwrap_err().to_string();
    assert_eq!(err, "adapter.sine.omega: 0 is not a number in (0, ∞); e.g. 100 (the default)");
    let err = yaml("method: sine-lora\nsine: { gain: -2 }").unwrap().validate().unwrap_err().to_string();
    assert_eq!(err, "adapter.sine.gain: -2 is not a number in (0, ∞), or null for ω/s; e.g. null (the default)");
    assert!(!err.contains('\n'));
    // A bad value is an error even for a method that ignores it (as before).
    assert!(yaml("method: lora\nsine: { omega: -1 }").unwrap().validate().is_err());
    // YAML's `.inf` is refused by the reader itself (a format that lets it through
    // meets the parameter's own finiteness check).
    let err = yaml("sine: { gain: .inf }").unwrap_err();
    assert!(err.contains("non-finite float `.inf`"), "{err}");
}

#[test]
fn negative_or_fractional_ranks_name_the_key() {
    let err = serde_json::from_str::<AdapterConfig>(r#"{"r": -4}"#).unwrap_err().to_string();
    assert!(err.starts_with("adapter.r: the rank must be a positive integer, got -4"), "{err}");
    let err = yaml("method: loran\nr: -4\n").unwrap_err();
    assert!(err.contains("adapter.r: the rank must be a positive integer, got -4") && err.contains("line 2"), "{err}");
    let err = yaml("r: 2.5").unwrap_err();
    assert!(err.contains("adapter.r") && err.contains("2.5"), "{err}");
    let err = serde_json::from_str::<AdapterConfig>(r#"{"r": "8"}"#).unwrap_err().to_string();
    assert!(err.contains("adapter.r: a positive integer rank"), "{err}");
    assert_eq!(yaml("r: 8").unwrap().r, 8);
    let cfg: AdapterConfig = serde_json::from_value(json!({"r": 16})).unwrap();
    assert_eq!(cfg.r, 16);
}

#[test]
fn activation_defaults_to_the_papers_sinter_and_reads_from_yaml() {
    let cfg = yaml("method: loran").unwrap();
    assert_eq!(loran::activation(&cfg), ActivationConfig::named("sinter").unwrap());
    assert_eq!(loran::activation(&cfg).params["amplitude"], 5e-5);
    let cfg = yaml("method: loran\nactivation: { name: swish, beta: 10 }").unwrap();
    assert_eq!(loran::activation(&cfg), ActivationConfig::named("swish").unwrap().with("beta", 10.0).unwrap());
    assert_eq!(yaml("method: loran\nactivation: tanh").unwrap(), AdapterConfig::default().with("activation", ActivationConfig::named("tanh").unwrap()).unwrap().with_method("loran"));
    let err = yaml("method: loran\nactivation: { name: sinter, omega: big }").unwrap_err();
    assert!(err.contains("adapter.activation.omega") && err.contains("omega: number"), "{err}");
    let err = yaml("activation: sinterr").unwrap_err();
    assert!(err.contains("unknown activation `sinterr`") && err.contains("known: identity"), "{err}");
    // The resolved config lists the defaults and reads back the same.
    let text = serde_saphyr::to_string(&cfg).unwrap();
    assert!(text.contains("beta"), "{text}");
    assert_eq!(yaml(&text).unwrap(), cfg);
    let nope = ActivationConfig { name: "nope".into(), params: Default::default() };
    let err = AdapterConfig::default().with("activation", nope).unwrap_err().to_string();
    assert!(err.starts_with("adapter.activation: unknown activation `nope`"), "{err}");
}

impl AdapterConfig {
    fn with_method(self, method: &str) -> Self {
        AdapterConfig { method: method.into(), ..self }
    }
}

#[test]
fn each_methods_parameters_read_from_yaml_with_their_defaults() {
    let sine = yaml("method: sine-lora").unwrap();
    assert_eq!((sine.params.number("sine.omega"), sine.params.optional_number("sine.gain")), (100.0, None));
    let sine = yaml("method: sine-lora\nsine: { omega: 30 }").unwrap();
    assert_eq!((sine.params.number("sine.omega"), sine.params.optional_number("sine.gain")), (30.0, None));
    let sine = yaml("method: sine-lora\nsine: { gain: 2 }").unwrap();
    assert_eq!((sine.params.number("sine.omega"), sine.params.optional_number("sine.gain")), (100.0, Some(2.0)));
    assert_eq!(NaLoraConfig::of(&yaml("method: na-lora").unwrap()), NaLoraConfig::default());
    assert_eq!(NaLoraConfig::of(&yaml("method: na-lora\nna_lora: { warmup: 3 }").unwrap()).warmup, 3);
    // Spelling out a default means the same config as leaving it out.
    assert_eq!(yaml("method: sine-lora\nsine: { omega: 100, gain: null }").unwrap(), yaml("method: sine-lora").unwrap());
    assert_eq!(yaml("method: sine-lora\nsine: ~").unwrap(), yaml("method: sine-lora").unwrap());
    assert_eq!(yaml("activation: { name: sinter, omega: 1.0e4 }").unwrap(), AdapterConfig::default());
}

#[test]
fn the_resolved_config_lists_every_parameter_of_the_method_and_reads_back_the_same() {
    let written = |text: &str| serde_json::to_value(yaml(text).unwrap()).unwrap();
    let sine = written("method: sine-lora");
    assert_eq!(sine["sine"], json!({"omega": 100.0, "gain": null}));
    let na = written("method: na-lora");
    let knobs: Vec<&str> = na["na_lora"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(knobs.len(), 10, "{knobs:?}");
    assert_eq!((na["na_lora"]["mask"].clone(), na["na_lora"]["warmup"].clone()), (json!("hard"), json!(10)));
    // LoRAN's activation is written for every method (it always was); other methods'
    // groups only when set.
    let lora = written("method: lora");
    assert_eq!(lora["activation"], sinter_json());
    assert!(lora.get("sine").is_none() && lora.get("na_lora").is_none(), "{lora}");
    assert_eq!(written("method: lora\nsine: { omega: 30 }")["sine"], json!({"omega": 30.0, "gain": null}));
    for text in ["method: sine-lora\nsine: { gain: 3 }", "method: na-lora\nna_lora: { mask: soft, every: 4 }", "method: lora\nsine: { omega: 7 }", "method: none"] {
        let cfg = yaml(text).unwrap();
        let back = yaml(&serde_saphyr::to_string(&cfg).unwrap()).unwrap();
        assert_eq!(back, cfg, "{text}");
        assert_eq!(back.hash_form(), cfg.hash_form(), "{text}");
    }
}

/// The hash form is what the derived serializer wrote before methods declared their
/// parameters, so existing runs keep their config hashes.
#[test]
fn the_hash_form_is_the_earlier_written_form() {
    let shared = |method: &str| json!({"method": method, "r": 64, "alpha": 16.0, "dropout": 0.2, "targets": ["q_proj", "v_proj"], "layers": null, "rslora": false});
    let with = |mut v: serde_json::Value, key: &str, value: serde_json::Value| {
        v[key] = value;
        v
    };
    let hash = |text: &str| yaml(text).unwrap().hash_form();
    assert_eq!(hash("method: lora"), with(shared("lora"), "activation", sinter_json()));
    assert_eq!(hash("method: sine-lora"), with(shared("sine-lora"), "activation", sinter_json()));
    // NA-LoRA's rules changed (revision 1: σ classes, padding left out, masked rows
    // frozen), so its hash form says so and its earlier runs are not reused.
    let na_base = with(with(shared("na-lora"), "activation", sinter_json()), "method_revision", json!(1));
    assert_eq!(hash("method: na-lora"), na_base);
    assert!(serde_json::to_value(yaml("method: na-lora").unwrap()).unwrap().get("method_revision").is_none(), "not a config key");
    let tanh = json!({"name": "tanh"});
    assert_eq!(hash("method: lora\nactivation: tanh"), with(shared("lora"), "activation", tanh.clone()));
    assert_eq!(hash("method: loran\nactivation: tanh"), with(shared("loran"), "activation", tanh));
    let sine = with(shared("sine-lora"), "activation", sinter_json());
    assert_eq!(hash("method: sine-lora\nsine: { omega: 30 }"), with(sine, "sine", json!({"omega": 30.0, "gain": null})));
    let na = json!({"ema": 0.9, "mask": "soft", "quantile": 0.25, "warmup": 3, "every": 10, "sigma_on": 0.9, "sigma_closed": 0.1,
                    "scale_on": 1.0, "scale_transition": 1.5, "scale_closed": 0.5});
    let want = with(na_base, "na_lora", na);
    assert_eq!(hash("method: na-lora\nna_lora: { warmup: 3, mask: soft }"), want);
    // Exact JSON text, numbers typed as before (integers stay integers).
    assert!(hash("method: na-lora\nna_lora: { warmup: 3 }").to_string().contains(r#""warmup":3,"#));
}

#[test]
fn warnings_flag_another_methods_parameters_as_ignored() {
    assert!(AdapterConfig::default().warnings().is_empty());
    let tanh = ActivationConfig::named("tanh").unwrap();
    let w = AdapterConfig::default().with("activation", tanh).unwrap().warnings();
    assert!(w.len() == 1 && w[0] == "adapter.activation (`tanh`) is ignored: only method `loran` uses it, and the method is `lora`", "{w:?}");
    let w = yaml("method: loran\nsine: { omega: 3 }\nna_lora: { every: 2 }").unwrap().warnings();
    assert_eq!(w.len(), 2, "{w:?}");
    assert_eq!(w[0], "adapter.na_lora is ignored: only method `na-lora` uses it, and the method is `loran`");
    assert_eq!(w[1], "adapter.sine is ignored: only method `sine-lora` uses it, and the method is `loran`");
    assert!(yaml("method: sine-lora\nsine: { omega: 3 }").unwrap().warnings().is_empty());
    // A value that changes nothing is not worth a warning (a grid's base writes its
    // method's defaults into every cell).
    assert!(yaml("method: lora\nsine: { omega: 100 }").unwrap().warnings().is_empty());
}
