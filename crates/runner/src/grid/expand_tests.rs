//! Tests of grid expansion: axes, bundles, labels and the errors of each.

use super::*;
use crate::grid::spec::GridSpec;

fn grid(yaml: &str) -> GridFile {
    let spec: GridSpec = serde_saphyr::from_str(yaml).unwrap();
    GridFile { path: "test.yaml".into(), text: yaml.to_string(), spec , included: Vec::new() }
}

fn groups(cells: &[Cell]) -> Vec<String> {
    let mut g: Vec<String> = cells.iter().map(|c| c.group.clone()).collect();
    g.dedup();
    g
}

#[test]
fn axes_form_a_product_in_file_order_times_seeds() {
    let g = grid("name: t\nbase: {}\naxes:\n  task: [news-standfirst, mailing-list-topics]\n  adapter.method: [none, lora]\nseeds: [0, 1]\n");
    let cells = expand(&g).unwrap();
    assert_eq!(cells.len(), 8);
    assert_eq!(groups(&cells), vec!["news-standfirst-none", "news-standfirst-lora", "mailing-list-topics-none", "mailing-list-topics-lora"]);
    assert_eq!(cells[1].config.seed, 1);
    assert_eq!(cells[3].config.adapter.method, "lora");
    assert!(cells[3].run_id.starts_with("news-standfirst-lora-s1-"));
    // A different seed is a different config.
    assert_ne!(cells[2].config_hash, cells[3].config_hash);
}

#[test]
fn bundles_attach_to_matching_cells_and_keep_the_rest() {
    let g = grid(
        "name: t\nbase: {}\naxes:\n  adapter.method: [none, lora]\n  task: [news-standfirst, mailing-list-topics]\n\
         bundles:\n  - { task: mailing-list-topics, eval.max_new_tokens: 8 }\n",
    );
    let cells = expand(&g).unwrap();
    assert_eq!(cells.len(), 4);
    let mail: Vec<_> = cells.iter().filter(|c| c.config.task == "mailing-list-topics").collect();
    assert!(mail.iter().all(|c| c.config.eval.max_new_tokens == 8));
    assert!(cells.iter().filter(|c| c.config.task == "news-standfirst").all(|c| c.config.eval.max_new_tokens == 64));
    // The bundle key is fixed by the task axis, so it does not name cells.
    assert_eq!(groups(&cells), vec!["none-news-standfirst", "none-mailing-list-topics", "lora-news-standfirst", "lora-mailing-list-topics"]);
}

#[test]
fn bundles_without_axis_keys_are_variants() {
    let g = grid(
        "name: t\nbase: {}\naxes:\n  task: [news-standfirst]\nbundles:\n  - { adapter.method: lora, adapter.r: 8 }\n  - { adapter.method: lora, adapter.r: 16 }\n  - { adapter.method: none }\n",
    );
    let cells = expand(&g).unwrap();
    assert_eq!(groups(&cells), vec!["lora-r8", "lora-r16", "none"]);
    assert_eq!(cells[1].config.adapter.r, 16);
    let g = grid("name: t\nbase: {}\naxes:\n  adapter.targets: [[q_proj, v_proj], [gate_proj]]\n");
    assert_eq!(groups(&expand(&g).unwrap()), vec!["q_proj+v_proj", "gate_proj"]);
}

#[test]
fn mapping_values_label_cells_by_their_values() {
    let g = grid(
        "name: t\nbase: {}\naxes:\n  adapter:\n    - { method: none }\n    - { method: lora, r: 8 }\n    - { method: lora, dropout: 0.1 }\n",
    );
    let cells = expand(&g).unwrap();
    assert_eq!(groups(&cells), vec!["none", "lora-8", "lora-0.1"]);
    assert_eq!(cells[1].config.adapter.r, 8);
    assert_eq!(cells[2].config.adapter.dropout, 0.1);
    assert_eq!(label_text(&serde_json::json!({"name": "sinter", "omega": 1.0})), "sinter");
    // Values of one axis that read alike are written with their entries.
    let g = grid("name: t\nbase: { adapter: { method: loran } }\naxes:\n  adapter.activation: [identity, { name: sinter, amplitude: 1.0e-3, omega: 10 }, { name: sinter, amplitude: 0.1, omega: 10 }]\n");
    assert_eq!(groups(&expand(&g).unwrap()), vec!["identity", "sinter-amplitude0.001-omega10", "sinter-amplitude0.1-omega10"]);
}

#[test]
fn a_mapping_merges_into_its_section() {
    let g = grid("name: t\nbase:\n  train: { steps: 7, lr: 0.5 }\naxes:\n  train: [{ steps: 3 }]\n");
    let c = &expand(&g).unwrap()[0].config;
    assert_eq!((c.train.steps, c.train.lr), (3, 0.5));
}

#[test]
fn a_bundle_value_no_axis_takes_is_an_error() {
    let g = grid(
        "name: t\nbase: {}\naxes:\n  adapter:\n    - { method: none }\n    - { method: lora }\nbundles:\n  - { adapter: { dropout: 0.1 } }\n",
    );
    let err = expand(&g).unwrap_err().to_string();
    assert!(err.contains("bundle 1") && err.contains("not a value of the axis `adapter`") && err.contains("adapter.<field>"), "{err}");
}

#[test]
fn a_bundle_that_overwrites_an_axis_value_is_an_error() {
    // The bundle's whole `train` mapping would replace the axis's lr: the cell
    // would be called `lr0.03` and train at 0.01.
    let g = grid(
        "name: t\nbase: {}\naxes:\n  task: [mailing-list-topics]\n  train.lr: [0.03, 0.09]\n\
         bundles:\n  - { task: mailing-list-topics, train: { steps: 90, lr: 0.01 } }\n",
    );
    let err = expand(&g).unwrap_err().to_string();
    assert!(err.starts_with("test.yaml:5") && err.contains("`train.lr: 0.03` is overwritten by a bundle's `train`"), "{err}");
    // Dotted keys in the bundle leave the axis alone.
    let g = grid(
        "name: t\nbase: {}\naxes:\n  task: [mailing-list-topics]\n  train.lr: [0.03, 0.09]\n\
         bundles:\n  - { task: mailing-list-topics, train.steps: 90 }\n",
    );
    let cells = expand(&g).unwrap();
    assert_eq!(cells.iter().map(|c| (c.config.train.steps, c.config.train.lr)).collect::<Vec<_>>(), vec![(90, 0.03), (90, 0.09)]);
}

#[test]
fn a_lone_bundle_that_names_no_axis_is_an_error() {
    // Meant for the mail cells, it would turn every cell into one.
    let g = grid("name: t\nbase: {}\naxes:\n  train.lr: [0.03]\nbundles:\n  - { task: mailing-list-topics, train.steps: 90 }\n");
    let err = expand(&g).unwrap_err().to_string();
    assert!(err.starts_with("test.yaml:6") && err.contains("bundle 1 names no axis") && err.contains("add an axis for `task`"), "{err}");
}

#[test]
fn a_mapping_with_another_name_replaces_the_old_parameters() {
    let g = grid(
        "name: t\nbase:\n  adapter: { method: loran, activation: { name: sinter, omega: 100.0 } }\naxes:\n  adapter.activation:\n    - { name: tanh }\n    - { name: sinter, amplitude: 0.001 }\n",
    );
    let cells = expand(&g).unwrap();
    let activation = |i: usize| loran_adapters::loran::activation(&cells[i].config.adapter);
    assert_eq!(activation(0).name, "tanh");
    assert!(activation(0).params.is_empty());
    // Same name: the keys merge, so the base's omega stays.
    assert_eq!(activation(1).params["omega"], 100.0);
    assert_eq!(activation(1).params["amplitude"], 0.001);
}

#[test]
fn an_unknown_method_fails_at_plan_time_listing_the_known_ones() {
    let g = grid("name: t\nbase:\n  adapter: { method: loranx }\n");
    let err = expand(&g).unwrap_err().to_string();
    assert!(err.contains(":3:") && err.contains("unknown method `loranx`") && err.contains("loran"), "{err}");
}

#[test]
fn exclusions_drop_cells() {
    let g = grid("name: t\nbase: {}\naxes:\n  adapter.method: [none, lora]\n  adapter.r: [8, 16]\nexclude:\n  - { adapter.method: none, adapter.r: 16 }\n");
    assert_eq!(groups(&expand(&g).unwrap()), vec!["none-r8", "lora-r8", "lora-r16"]);
}

#[test]
fn a_wrong_value_names_the_file_line_and_key() {
    let g = grid("name: t\nbase: {}\naxes:\n  adapter.r: [8, \"eight\"]\n");
    let err = expand(&g).unwrap_err().to_string();
    assert!(err.starts_with("test.yaml:4: `adapter.r`"), "{err}");
    assert!(err.contains("eight") && err.contains("positive integer"), "{err}");
    // A bad value in a block list is pointed at, not its key.
    let g = grid("name: t\nbase: {}\naxes:\n  adapter.r:\n    - 8\n    - -4\n");
    let err = expand(&g).unwrap_err().to_string();
    assert!(err.starts_with("test.yaml:6: `adapter.r`") && err.contains("got -4"), "{err}");
}

#[test]
fn unknown_tasks_fail_at_plan_time_naming_the_line() {
    let g = grid("name: t\nbase: { task: news-standfirst }\naxes:\n  task:\n    - mailing-list-topics\n    - samsun\n");
    let err = expand(&g).unwrap_err().to_string();
    assert!(err.starts_with("test.yaml:6:") && err.contains("unknown task `samsun`") && err.contains("news-standfirst"), "{err}");
    let g = grid("name: t\nbase:\n  task: samsun\n");
    let err = expand(&g).unwrap_err().to_string();
    assert!(err.starts_with("test.yaml:3:") && err.contains("unknown task `samsun`"), "{err}");
}

#[test]
fn an_exclusion_that_drops_nothing_is_an_error() {
    let g = grid("name: t\nbase: {}\naxes:\n  adapter.method: [none, lora]\nexclude:\n  - { adapter.method: dora }\n");
    let err = expand(&g).unwrap_err().to_string();
    assert!(err.starts_with("test.yaml:6:") && err.contains("matches no cell") && err.contains("none, lora"), "{err}");
}

#[test]
fn an_error_quoting_a_multi_line_value_stays_one_line() {
    // Found by the grid fuzzer (fuzz/regressions/24de0a844be7add9.yaml): a quoted
    // value's newline went into the message as is.
    let g = grid("name: g\nbase: {}\naxes:\n  adapter.method: [none]\nexclude:\n  - { adapter.method: \"lo\\nra\" }\n");
    let err = format!("{:#}", expand(&g).unwrap_err());
    assert!(err.starts_with("test.yaml:6:") && err.contains("`{ adapter.method: lo\\nra }` matches no cell") && !err.contains('\n'), "{err}");
}

#[test]
fn hash_is_stable_and_key_order_free() {
    let c = RunConfig::default();
    assert_eq!(config_hash(&c), config_hash(&c.clone()));
    let other = RunConfig { seed: 1, ..RunConfig::default() };
    assert_ne!(config_hash(&c), config_hash(&other));
}
