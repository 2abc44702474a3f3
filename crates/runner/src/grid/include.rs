//! `include:` in grid files. Grids of one profile share their `base:` and `bundles:`;
//! copies of those blocks had to stay identical by hand for cross-grid reuse (equal
//! config hashes) to hold, so a grid names the files it builds on instead:
//! `include: ../common/quick.yaml`, or a list, each path relative to the naming file.
//!
//! Merge order: the included files in list order, each over the one before, then the
//! including file over them all. Mappings merge key by key as axis values merge into
//! the base ([`merge`]); lists and scalars replace (a grid's `bundles:` replaces the
//! included bundles whole; `bundles: []` drops them). Included files may include
//! others, at most [`MAX_DEPTH`] deep and [`MAX_FILES`] files per grid; they may not set
//! `name` (two grids would share a results folder). The merged grid is checked as
//! strictly as a single file; an error in an included file names that file.

use crate::grid::merge::merge;
use crate::grid::parse_error::{located, missing_field};
use crate::grid::spec::GridSpec;
use loran_report::settings::ReportSpec;
use loran_train::config::RunConfig;
use anyhow::{anyhow, bail, Result};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// Deepest chain of includes below a grid file.
pub const MAX_DEPTH: usize = 8;
/// Most files one grid may include, counting repeats (a diamond of includes that each
/// list a file twice would otherwise read it exponentially often).
pub const MAX_FILES: usize = 32;
/// Largest included file: the grid file's own limit ([`crate::grid::file::MAX_BYTES`]).
pub use crate::grid::file::MAX_BYTES;

/// A file a grid includes, kept so errors about keys it sets can point at its lines.
#[derive(Debug, Clone)]
pub struct Included {
    /// The path as resolved (the including file's folder joined with the include path).
    pub path: PathBuf,
    /// Its text.
    pub text: String,
    /// The files that include it, from the grid file down.
    pub via: Vec<PathBuf>,
}

/// `(included from a.yaml)` or `(included from a.yaml via b.yaml)`: appended to errors
/// inside an included file, so the grid being read is named too.
pub fn included_from(via: &[PathBuf]) -> String {
    let names: Vec<String> = via.iter().map(|p| p.display().to_string()).collect();
    match names.split_first() {
        Some((grid, [])) => format!("(included from {grid})"),
        Some((grid, rest)) => format!("(included from {grid} via {})", rest.join(", ")),
        None => String::new(),
    }
}

/// The keys of a grid file, each optional, parsed strictly from one file's text so that
/// an error in it gets that file's line and column. Kept in step with [`GridSpec`] by a test.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // only parsed, for its errors
struct Layer {
    include: Option<Value>,
    name: Option<String>,
    base: Option<RunConfig>,
    axes: Option<Map<String, Value>>,
    bundles: Option<Vec<Map<String, Value>>>,
    exclude: Option<Vec<Map<String, Value>>>,
    seeds: Option<Vec<u64>>,
    report: Option<ReportSpec>,
    lr_sweep: Option<crate::grid::sweep::LrSweep>,
}

/// The top-level mapping of `text` when it has an `include` key (else the grid is read
/// as a single file). A text with a top-level `include:` line that does not read as YAML
/// values (a `.nan`, a syntax error) gives that error: the grid's own error would only
/// say that `include` is no grid key.
pub fn with_include(text: &str) -> Result<Option<Map<String, Value>>, serde_saphyr::Error> {
    match serde_saphyr::from_str::<Value>(text) {
        Ok(Value::Object(map)) if map.contains_key("include") => Ok(Some(map)),
        Err(e) if text.lines().any(|l| l.starts_with("include:")) => Err(e),
        _ => Ok(None),
    }
}

/// One file read so far: where it is, its text, and who included it.
struct Source {
    path: PathBuf,
    text: String,
    via: Vec<PathBuf>,
}

/// The grid at `path` (text `text`, top-level mapping `top`) merged over the files it
/// includes, and those files, the one whose keys win first.
pub fn resolve(path: &Path, text: &str, top: Map<String, Value>) -> Result<(GridSpec, Vec<Included>)> {
    let mut sources = Vec::new();
    let merged = layer(path, text, top, &mut Vec::new(), &mut sources)?;
    if let Some(field) = ["name", "base"].into_iter().find(|f| !merged.contains_key(*f)) {
        bail!("{}", missing_field(path, field));
    }
    let spec = serde_json::from_value::<GridSpec>(Value::Object(merged)).map_err(|e| anyhow!(blame(path, text, &sources, &e.to_string())))?;
    let included = sources.into_iter().rev().map(|s| Included { path: s.path, text: s.text, via: s.via }).collect();
    Ok((spec, included))
}

/// The file `path` merged over its includes; `chain` holds the files including it (its
/// path as named and its identity), `sources` collects the included files in merge order.
fn layer(path: &Path, text: &str, mut map: Map<String, Value>, chain: &mut Vec<(PathBuf, PathBuf)>, sources: &mut Vec<Source>) -> Result<Map<String, Value>> {
    let origin = |chain: &[(PathBuf, PathBuf)]| {
        let via: Vec<PathBuf> = chain.iter().map(|(p, _)| p.clone()).collect();
        if via.is_empty() { String::new() } else { format!(" {}", included_from(&via)) }
    };
    let here = origin(chain);
    let paths = include_paths(path, text, map.remove("include"), &here)?;
    chain.push((path.to_path_buf(), identity(path)));
    let mut merged = Map::new();
    for name in paths {
        let at = include_line(path, text, &name);
        let target = path.parent().unwrap_or(Path::new("")).join(&name);
        let id = identity(&target);
        if let Some(start) = chain.iter().position(|(_, c)| *c == id) {
            let cycle: Vec<String> = chain[start..].iter().map(|(p, _)| p.display().to_string()).chain([target.display().to_string()]).collect();
            bail!("{at}: `include: {name}` makes a cycle ({}); remove one of these includes{here}", cycle.join(" → "));
        }
        if chain.len() > MAX_DEPTH {
            bail!("{at}: `include: {name}` nests includes deeper than {MAX_DEPTH} files; merge some of them into one{here}");
        }
        if sources.len() >= MAX_FILES {
            bail!("{at}: `include: {name}` goes over {MAX_FILES} included files for one grid; include fewer files{here}");
        }
        let child = crate::grid::file::read_text(&target).map_err(|e| {
            let hint = if Path::new(&name).is_relative() && e.is_not_found() {
                "an include path is relative to the folder of the file that names it"
            } else {
                e.fix()
            };
            anyhow!("{at}: `include`: cannot read `{}` ({}); {hint}{here}", target.display(), e.why())
        })?;
        let inner = origin(chain);
        let child_map = match serde_saphyr::from_str::<Value>(&child) {
            Ok(Value::Object(m)) => m,
            Ok(other) => bail!(
                "{}: an included file must be a mapping of grid keys such as `base:` and `bundles:`, not {}{inner}",
                target.display(),
                if other.is_null() { "empty" } else { "a list or a scalar" }
            ),
            Err(e) => bail!("{}{inner}", located(&target, &child, &e)),
        };
        if child_map.contains_key("name") {
            let line = child.lines().position(|l| l.starts_with("name:")).map(|i| format!(":{}", i + 1)).unwrap_or_default();
            bail!(
                "{}{line}: `name` in an included file would give every grid that includes it one results folder; set `name:` in each grid file instead{inner}",
                target.display()
            );
        }
        let child_merged = layer(&target, &child, child_map, chain, sources)?;
        merge_keys(&mut merged, child_merged);
        sources.push(Source { path: target, text: child, via: chain.iter().map(|(p, _)| p.clone()).collect() });
    }
    chain.pop();
    merge_keys(&mut merged, map);
    Ok(merged)
}

/// Merges a file's top-level keys over `into` key by key. (Not [`merge`] on the whole
/// document: a grid's `name` would count as renaming a registry entry and replace it all.)
fn merge_keys(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (k, v) in from {
        match into.get_mut(&k) {
            Some(slot) => merge(slot, v),
            None => {
                into.insert(k, v);
            }
        }
    }
}

/// The paths of an `include:` value: one path or a list of them.
fn include_paths(path: &Path, text: &str, value: Option<Value>, origin: &str) -> Result<Vec<String>> {
    let at = || include_line(path, text, "");
    let items = match value {
        None => return Ok(Vec::new()),
        Some(Value::String(s)) => vec![Value::String(s)],
        Some(Value::Array(items)) => items,
        Some(_) => bail!("{}: `include` must be a path or a list of paths, e.g. `include: ../common/quick.yaml`{origin}", at()),
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::String(s) if !s.trim().is_empty() => Ok(s),
            other => Err(anyhow!(
                "{}: `include` lists `{}`, which is not a file path; give paths relative to this file, e.g. `include: [../common/quick.yaml]`{origin}",
                at(),
                crate::grid::validate::flow(&other)
            )),
        })
        .collect()
}

/// `file:line` of the `include:` entry naming `name` (the `include:` line itself when
/// `name` is empty or not found).
fn include_line(path: &Path, text: &str, name: &str) -> String {
    let key = text.lines().position(|l| l.starts_with("include:"));
    let entry = key.and_then(|k| text.lines().enumerate().skip(k).find(|(_, l)| !name.is_empty() && l.contains(name)).map(|(i, _)| i));
    match entry.or(key) {
        Some(i) => format!("{}:{}", path.display(), i + 1),
        None => path.display().to_string(),
    }
}

/// What makes two paths the same file, for cycles: the canonical path when there is one
/// (a grid parsed from memory may name a file that does not exist).
fn identity(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The one-line error for a merged grid that does not deserialize: the first file
/// (in merge order) whose own keys fail to parse with the same message, else the first
/// that fails at all, else the grid file.
/// Files are parsed alone only here: alone, a partial mapping that is fine once merged
/// (an activation without its `name`) fails. `message` is serde_json's, which has no kind
/// to compare (`serde_json::Error` tells only its category: syntax, data, I/O or end of
/// input), so it is matched to a file's error by its text.
fn blame(path: &Path, text: &str, sources: &[Source], message: &str) -> String {
    let mut first = None;
    let files = sources.iter().map(|s| (s.path.as_path(), s.text.as_str(), s.via.as_slice())).chain([(path, text, &[][..])]);
    for (p, t, via) in files {
        if let Err(e) = serde_saphyr::from_str::<Layer>(t) {
            let origin = if via.is_empty() { String::new() } else { format!(" {}", included_from(via)) };
            let error = format!("{}{origin}", located(p, t, &e));
            if e.to_string().contains(message) {
                return error;
            }
            first.get_or_insert(error);
        }
    }
    first.unwrap_or_else(|| format!("{}: {message}", path.display()))
}

#[cfg(test)]
#[path = "include_tests.rs"]
mod tests;
