use super::*;
use crate::grid::spec::{read_grid, GridFile};
use crate::grid::{expand, Cell};

/// Files under a temporary folder, by path relative to it.
struct Tree(tempfile::TempDir);

impl Tree {
    fn new(files: &[(&str, &str)]) -> Self {
        let tree = Tree(tempfile::tempdir().unwrap());
        for (name, text) in files {
            let path = tree.0.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        tree
    }

    fn read(&self, name: &str) -> Result<GridFile> {
        read_grid(&self.0.path().join(name)).map_err(|e| anyhow!(self.plain(&e.to_string())))
    }

    /// The error of reading `name`, or of expanding it, with the folder written `DIR`.
    fn err(&self, name: &str) -> String {
        let e = match self.read(name) {
            Ok(grid) => self.plain(&expand(&grid).unwrap_err().to_string()),
            Err(e) => e.to_string(),
        };
        assert!(!e.contains('\n'), "{e}");
        e
    }

    fn plain(&self, text: &str) -> String {
        text.replace(&self.0.path().display().to_string(), "DIR")
    }
}

fn runs(cells: &[Cell]) -> Vec<(String, String)> {
    cells.iter().map(|c| (c.run_id.clone(), c.config_hash.clone())).collect()
}

const SHARED: &str = "\
base:
  task: news-standfirst
  quant: nf4
  adapter: { method: lora, r: 16, targets: [q_proj, v_proj], activation: { name: sinter, amplitude: 1.0e-4, omega: 10.0 } }
  train: { steps: 7, lr: 0.5 }
bundles:
  - task: mailing-list-topics
    train: { steps: 9 }
";

#[test]
fn the_grid_merges_over_the_included_file() {
    let grid = "include: shared.yaml\nname: g\nbase:\n  adapter: { method: loran, targets: [gate_proj] }\n  train: { lr: 0.25 }\naxes:\n  task: [news-standfirst, mailing-list-topics]\n";
    let tree = Tree::new(&[("shared.yaml", SHARED), ("g.yaml", grid)]);
    let g = tree.read("g.yaml").unwrap();
    let base = &g.spec.base;
    // Mappings merge key by key; scalars and lists replace.
    assert_eq!((base.adapter.method.as_str(), base.adapter.r, base.adapter.targets.clone()), ("loran", 16, vec!["gate_proj".to_string()]));
    assert_eq!((base.train.steps, base.train.lr), (7, 0.25));
    assert_eq!(loran_adapters::loran::activation(&base.adapter).params["omega"], 10.0);
    // The included bundle applies to the grid's cells.
    let cells = expand(&g).unwrap();
    assert_eq!(cells.iter().map(|c| c.config.train.steps).collect::<Vec<_>>(), vec![7, 9]);
    // The grid's own `bundles:` replaces the included list whole.
    let tree = Tree::new(&[("shared.yaml", SHARED), ("g.yaml", &format!("{grid}bundles: []\n"))]);
    let cells = expand(&tree.read("g.yaml").unwrap()).unwrap();
    assert_eq!(cells.iter().map(|c| c.config.train.steps).collect::<Vec<_>>(), vec![7, 7]);
}

#[test]
fn an_included_grid_gives_the_same_runs_as_the_grid_written_out() {
    let own = "name: g\naxes:\n  task: [news-standfirst, mailing-list-topics]\n  adapter.method: [lora, loran]\nseeds: [0, 1]\n";
    let tree = Tree::new(&[("shared.yaml", SHARED), ("g.yaml", &format!("include: shared.yaml\n{own}")), ("flat.yaml", &format!("{SHARED}{own}"))]);
    let included = runs(&expand(&tree.read("g.yaml").unwrap()).unwrap());
    assert_eq!(included.len(), 8);
    assert_eq!(included, runs(&expand(&tree.read("flat.yaml").unwrap()).unwrap()));
}

#[test]
fn a_partial_mapping_that_is_only_whole_once_merged_is_accepted() {
    // Alone, an activation mapping without `name` does not parse; merged over sinter it does.
    let tree = Tree::new(&[("shared.yaml", SHARED), ("g.yaml", "include: shared.yaml\nname: g\nbase:\n  adapter: { activation: { omega: 20.0 } }\n")]);
    let activation = loran_adapters::loran::activation(&tree.read("g.yaml").unwrap().spec.base.adapter);
    assert_eq!((activation.name.as_str(), activation.params["omega"], activation.params["amplitude"]), ("sinter", 20.0, 1.0e-4));
}

#[test]
fn includes_nest_and_later_files_win() {
    let tree = Tree::new(&[
        ("c.yaml", "base: { train: { steps: 1, lr: 0.1, batch_size: 3 } }\nseeds: [5]\n"),
        ("b.yaml", "include: c.yaml\nbase: { train: { steps: 2 } }\n"),
        ("d.yaml", "base: { train: { lr: 0.4 } }\n"),
        ("a.yaml", "include: [b.yaml, d.yaml]\nname: a\nbase: { train: { batch_size: 6 } }\n"),
    ]);
    let g = tree.read("a.yaml").unwrap();
    let t = &g.spec.base.train;
    assert_eq!((t.steps, t.lr, t.batch_size), (2, 0.4, 6));
    assert_eq!(g.spec.seeds, vec![5]);
    // The file whose keys win first.
    let order: Vec<String> = g.included.iter().map(|f| tree.plain(&f.path.display().to_string())).collect();
    assert_eq!(order, ["DIR/d.yaml", "DIR/b.yaml", "DIR/c.yaml"]);
}

#[test]
fn paths_are_relative_to_the_file_that_names_them() {
    let tree = Tree::new(&[
        ("common/base.yaml", "include: more.yaml\nbase: { task: mailing-list-topics }\n"),
        ("common/more.yaml", "base: { train: { steps: 11 } }\n"),
        // A decoy beside the grid: `more.yaml` from common/ must not find it.
        ("grids/more.yaml", "base: { train: { steps: 99 } }\n"),
        ("grids/g.yaml", "include: ../common/base.yaml\nname: g\n"),
    ]);
    let g = tree.read("grids/g.yaml").unwrap();
    assert_eq!((g.spec.base.task.as_str(), g.spec.base.train.steps), ("mailing-list-topics", 11));
}

#[test]
fn a_cycle_is_an_error_naming_the_chain() {
    let tree = Tree::new(&[("a.yaml", "include: b.yaml\nname: a\nbase: {}\n"), ("b.yaml", "# b\ninclude: a.yaml\n")]);
    let e = tree.err("a.yaml");
    assert!(e.starts_with("DIR/b.yaml:2: `include: a.yaml` makes a cycle (DIR/a.yaml → DIR/b.yaml → DIR/a.yaml)"), "{e}");
    assert!(e.ends_with("remove one of these includes (included from DIR/a.yaml)"), "{e}");
    let tree = Tree::new(&[("a.yaml", "name: a\nbase: {}\ninclude: [./a.yaml]\n")]);
    let e = tree.err("a.yaml");
    assert!(e.starts_with("DIR/a.yaml:3: `include: ./a.yaml` makes a cycle (DIR/a.yaml → DIR/./a.yaml)"), "{e}");
}

#[test]
fn a_missing_include_names_the_including_file_the_key_and_the_path_tried() {
    let tree = Tree::new(&[("grids/g.yaml", "name: g\nbase: {}\ninclude:\n  - ../common/nope.yaml\n")]);
    let e = tree.err("grids/g.yaml");
    assert!(e.starts_with("DIR/grids/g.yaml:4: `include`: cannot read `DIR/grids/../common/nope.yaml` ("), "{e}");
    assert!(e.contains("relative to the folder of the file that names it"), "{e}");
    // Deeper down, the error names the file whose include is missing and the grid.
    let tree = Tree::new(&[("g.yaml", "include: b.yaml\nname: g\n"), ("b.yaml", "include: nope.yaml\n")]);
    let e = tree.err("g.yaml");
    assert!(e.starts_with("DIR/b.yaml:1: `include`: cannot read `DIR/nope.yaml`") && e.ends_with("(included from DIR/g.yaml)"), "{e}");
}

#[test]
fn an_error_in_an_included_file_names_that_file() {
    let grid = "include: shared.yaml\nname: g\nbase: {}\naxes:\n  task: [news-standfirst, mailing-list-topics]\n";
    let with = |shared: &str| Tree::new(&[("shared.yaml", shared), ("g.yaml", grid)]).err("g.yaml");
    let e = with("base:\n  train: { steps: 3, lerning_rate: 0.1 }\n");
    assert!(e.starts_with("DIR/shared.yaml:2:") && e.contains("unknown field `lerning_rate`") && e.ends_with("(included from DIR/g.yaml)"), "{e}");
    let e = with("base:\n  train:\n    steps: many\n");
    assert!(e.starts_with("DIR/shared.yaml:3:") && e.contains("`base.train.steps`") && e.contains("(included from DIR/g.yaml)"), "{e}");
    let e = with("base: { train: [1\n");
    assert!(e.starts_with("DIR/shared.yaml:1:16:") && e.contains("unclosed bracket") && e.ends_with("(included from DIR/g.yaml)"), "{e}");
    let e = with("bundles:\n  - { seed: 3 }\n");
    assert!(e.starts_with("DIR/shared.yaml:2: bundle 1 sets `seed`") && e.ends_with("(included from DIR/g.yaml)"), "{e}");
    let e = with("base:\n  adapter: { method: loranx }\n");
    assert!(e.starts_with("DIR/shared.yaml:2: cell `news-standfirst`: adapter.method: unknown method `loranx`") && e.ends_with("(included from DIR/g.yaml)"), "{e}");
    let e = with("- base: {}\n");
    assert!(e.starts_with("DIR/shared.yaml: an included file must be a mapping of grid keys") && e.contains("(included from DIR/g.yaml)"), "{e}");
    let e = with("name: other\n");
    assert!(e.starts_with("DIR/shared.yaml:1: `name` in an included file") && e.contains("set `name:` in each grid file"), "{e}");
}

#[test]
fn the_merged_grid_is_as_strict_as_one_file() {
    let tree = Tree::new(&[("shared.yaml", "bundles: [{ task: mailing-list-topics }]\n"), ("g.yaml", "include: shared.yaml\nname: g\n")]);
    let e = tree.err("g.yaml");
    assert!(e.starts_with("DIR/g.yaml: missing field `base`") && e.contains("add `base: {}`"), "{e}");
    let tree = Tree::new(&[("shared.yaml", SHARED), ("g.yaml", "include: shared.yaml\nname: g\nbase: { tarin: { steps: 3 } }\n")]);
    let e = tree.err("g.yaml");
    assert!(e.starts_with("DIR/g.yaml:3:") && e.contains("unknown field `tarin`"), "{e}");
    let tree = Tree::new(&[("g.yaml", "include: { a: 1 }\nname: g\nbase: {}\n")]);
    assert!(tree.err("g.yaml").starts_with("DIR/g.yaml:1: `include` must be a path or a list of paths"));
    let tree = Tree::new(&[("g.yaml", "include: [\"\"]\nname: g\nbase: {}\n")]);
    assert!(tree.err("g.yaml").contains("`include` lists ``, which is not a file path"));
}

#[test]
fn includes_are_bounded_in_depth_count_and_kind_of_file() {
    let mut files: Vec<(String, String)> = (0..12).map(|i| (format!("f{i}.yaml"), format!("include: f{}.yaml\n", i + 1))).collect();
    files.push(("f12.yaml".into(), "seeds: [1]\n".into()));
    files.push(("g.yaml".into(), "include: f0.yaml\nname: g\nbase: {}\n".into()));
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let e = Tree::new(&refs).err("g.yaml");
    assert!(e.starts_with("DIR/f7.yaml:1: `include: f8.yaml` nests includes deeper than 8 files"), "{e}");
    let many = format!("include: [{}]\nname: g\nbase: {{}}\n", vec!["s.yaml"; 40].join(", "));
    let e = Tree::new(&[("s.yaml", "seeds: [1]\n"), ("g.yaml", &many)]).err("g.yaml");
    assert!(e.contains("goes over 32 included files"), "{e}");
    let e = Tree::new(&[("dir/x.yaml", "seeds: [1]\n"), ("g.yaml", "include: dir\nname: g\nbase: {}\n")]).err("g.yaml");
    assert!(e.contains("cannot read `DIR/dir` (it is a directory, not a regular file); give the path of a YAML file"), "{e}");
    let big = format!("seeds: [1]\n#{}\n", "x".repeat(MAX_BYTES as usize));
    let e = Tree::new(&[("big.yaml", &big), ("g.yaml", "include: big.yaml\nname: g\nbase: {}\n")]).err("g.yaml");
    assert!(e.contains("(larger than 1 MiB, the limit for a grid file)"), "{e}");
    let tree = Tree::new(&[("g.yaml", "include: latin1.yaml\nname: g\nbase: {}\n")]);
    std::fs::write(tree.0.path().join("latin1.yaml"), b"seeds: [1]\n# caf\xe9\n").unwrap();
    let e = tree.err("g.yaml");
    assert!(e.contains("cannot read `DIR/latin1.yaml` (not UTF-8 text: byte 0xe9 at byte offset 16); save the file as UTF-8"), "{e}");
}

#[test]
fn layer_has_every_grid_key() {
    // serde lists a struct's fields in its unknown-field error.
    let fields = |e: String| -> Vec<String> {
        let list = e.split("expected one of").nth(1).unwrap_or_else(|| panic!("{e}"));
        list.split(',').map(|f| f.trim().trim_matches(|c: char| !c.is_alphanumeric() && c != '_').to_string()).filter(|f| !f.is_empty()).collect()
    };
    let grid = fields(serde_json::from_str::<GridSpec>(r#"{"zz": 1}"#).unwrap_err().to_string());
    let layer = fields(serde_json::from_str::<Layer>(r#"{"zz": 1}"#).err().unwrap().to_string());
    assert!(grid.len() >= 7, "{grid:?}");
    assert_eq!(layer, [vec!["include".to_string()], grid].concat());
}
