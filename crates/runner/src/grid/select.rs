//! `--only TEXT`: the cells whose run id contains the text. A text that matches nothing
//! is an error listing a few run ids, not a quiet run of no cell.

use crate::grid::Cell;
use std::path::Path;

/// How many run ids a no-match error shows.
const SHOWN: usize = 3;

/// The cells of `cells` that `only` selects (all of them without `only`).
pub fn select<'a>(cells: &'a [Cell], only: Option<&str>) -> Vec<&'a Cell> {
    cells.iter().filter(|c| only.is_none_or(|text| c.run_id.contains(text))).collect()
}

/// The one-line error for `--only only` matching no cell of `files`, with a few of the
/// run ids of `cells` to show what the text is matched against.
pub fn no_match(only: &str, files: &[&Path], cells: &[&Cell]) -> String {
    let files: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let shown: Vec<String> = cells.iter().take(SHOWN).map(|c| format!("`{}`", c.run_id)).collect();
    let more = match cells.len().saturating_sub(SHOWN) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    let ids = if shown.is_empty() { "it has no cells".to_string() } else { format!("its run ids look like {}{more}", shown.join(", ")) };
    format!(
        "--only `{only}` matches no cell of {} ({ids}); pass part of a run id, as `loran grid plan {}` lists them",
        files.join(" or "),
        files.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::expand;
    use crate::grid::spec::parse_grid;

    #[test]
    fn a_text_matching_nothing_names_the_file_and_a_few_ids() {
        let text = "name: g\nbase: {}\naxes:\n  adapter.r: [2, 4, 8, 16, 32]\n";
        let grid = parse_grid(Path::new("g.yaml"), text).unwrap();
        let cells = expand(&grid).unwrap();
        assert_eq!(select(&cells, None).len(), 5);
        assert_eq!(select(&cells, Some("r16")).len(), 1);
        assert!(select(&cells, Some("nothing")).is_empty());
        let all: Vec<&Cell> = cells.iter().collect();
        let line = no_match("nothing", &[Path::new("g.yaml")], &all);
        let first = format!("`{}`", cells[0].run_id);
        assert!(line.starts_with("--only `nothing` matches no cell of g.yaml (its run ids look like "), "{line}");
        assert!(line.contains(&first) && line.contains(" and 2 more)") && line.contains("`loran grid plan g.yaml`"), "{line}");
        assert!(!line.contains(&cells[3].run_id), "{line}");
    }
}
