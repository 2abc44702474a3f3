//! The grid YAML file: `name`, `base`, `axes`, `bundles`, `exclude`, `seeds`, `report`.
//!
//! Parsing is strict: unknown keys and wrong types are errors with file:line.

use crate::run::config::RunConfig;
use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

pub use crate::report::settings::{ReportSpec, TableKind};

/// A grid file as written, before expansion.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridSpec {
    /// Results go to `results/<name>/`.
    pub name: String,
    /// One full run config; omitted keys take their documented defaults.
    #[serde(default)]
    pub base: RunConfig,
    /// Cartesian product over dotted keys (`adapter.method: [lora, loran]`), in file order.
    #[serde(default)]
    pub axes: Map<String, Value>,
    /// Variants of values applied together (see [`crate::grid::expand`]).
    #[serde(default)]
    pub bundles: Vec<Map<String, Value>>,
    /// Partial assignments; a cell matching every key of one entry is dropped.
    #[serde(default)]
    pub exclude: Vec<Map<String, Value>>,
    /// One run per seed (default `[0]`).
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    /// Which table and figures to render.
    #[serde(default)]
    pub report: ReportSpec,
}

fn default_seeds() -> Vec<u64> {
    vec![0]
}

/// A parsed grid and the file it came from.
#[derive(Debug, Clone)]
pub struct GridFile {
    /// Path of the YAML file.
    pub path: PathBuf,
    /// Its text, kept to point at lines in later errors.
    pub text: String,
    /// The parsed content.
    pub spec: GridSpec,
}

/// Reads and strictly parses a grid file.
pub fn read_grid(path: &Path) -> Result<GridFile> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read the grid file", path.display()))?;
    let spec: GridSpec = serde_saphyr::from_str(&text).map_err(|e| anyhow!("{}", located(path, &e.to_string())))?;
    let file = GridFile { path: path.to_path_buf(), text, spec };
    file.check_shape()?;
    Ok(file)
}

/// `file:line:column: message` from a parser message such as
/// `error: line 3 column 22: unknown field ...` followed by a source excerpt.
fn located(path: &Path, msg: &str) -> String {
    let first = msg.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let position = first.strip_prefix("line ").and_then(|rest| {
        let (line, rest) = rest.split_once(" column ")?;
        let (column, message) = rest.split_once(": ")?;
        Some((line.parse::<usize>().ok()?, column.parse::<usize>().ok()?, message))
    });
    match position {
        Some((line, column, message)) => format!("{}:{line}:{column}: {message}", path.display()),
        None => format!("{}: {first}", path.display()),
    }
}

impl GridFile {
    /// `file:line` of the first line that mentions `key:` (best effort), for errors.
    pub fn locate(&self, key: &str) -> String {
        let needle = format!("{key}:");
        let line = self.text.lines().position(|l| l.trim_start().starts_with(&needle) || l.contains(&format!(" {needle}")) || l.contains(&format!("{{{needle}")));
        match line {
            Some(i) => format!("{}:{}", self.path.display(), i + 1),
            None => self.path.display().to_string(),
        }
    }

    fn check_shape(&self) -> Result<()> {
        let spec = &self.spec;
        if spec.name.trim().is_empty() || spec.name.contains(['/', '\\']) {
            bail!("{}: `name` must be a non-empty folder name without slashes", self.locate("name"));
        }
        if spec.seeds.is_empty() {
            bail!("{}: `seeds` is empty; give at least one seed, e.g. [0]", self.locate("seeds"));
        }
        for (key, values) in &spec.axes {
            match values {
                Value::Array(v) if !v.is_empty() => {}
                _ => bail!("{}: axis `{key}` must be a non-empty list of values", self.locate(key)),
            }
            if key == "seed" {
                bail!("{}: use the top-level `seeds:` list instead of a `seed` axis", self.locate(key));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<GridFile> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grid.yaml");
        std::fs::write(&path, text).unwrap();
        read_grid(&path).map_err(|e| anyhow!(e.to_string().replace(&dir.path().display().to_string(), "DIR")))
    }

    #[test]
    fn a_misspelt_key_is_an_error_with_file_and_line() {
        let err = parse("name: g\nbase:\n  train: { steps: 3, lerning_rate: 0.1 }\n").unwrap_err().to_string();
        assert!(err.starts_with("DIR/grid.yaml:"), "{err}");
        assert!(err.starts_with("DIR/grid.yaml:3:"), "{err}");
        assert!(err.contains("unknown field `lerning_rate`") && err.contains("lr"), "{err}");
        assert!(!err.contains('\n'), "{err}");
        let err = parse("name: g\naxis:\n  task: [a]\n").unwrap_err().to_string();
        assert!(err.starts_with("DIR/grid.yaml:2:") && err.contains("axis"), "{err}");
    }

    #[test]
    fn a_misspelt_axis_key_is_named_with_its_line() {
        let g = parse("name: g\naxes:\n  adapter.rank: [8, 16]\n").unwrap();
        let err = crate::grid::expand(&g).unwrap_err().to_string();
        assert!(err.contains("grid.yaml:3: "), "{err}");
        assert!(err.contains("unknown field `rank`") && err.contains("`r`"), "{err}");
    }

    #[test]
    fn shape_errors_name_the_key() {
        let err = parse("name: g\naxes:\n  task: news-standfirst\n").unwrap_err().to_string();
        assert!(err.contains("grid.yaml:3") && err.contains("non-empty list"), "{err}");
        let err = parse("name: g\nseeds: []\n").unwrap_err().to_string();
        assert!(err.contains("grid.yaml:2") && err.contains("seeds"), "{err}");
    }

    #[test]
    fn defaults_fill_a_minimal_grid() {
        let g = parse("name: minimal\n").unwrap();
        assert_eq!(g.spec.seeds, vec![0]);
        assert_eq!(g.spec.base, RunConfig::default());
        assert_eq!(g.spec.report.table, TableKind::Main);
    }
}
