//! A rank sweep of several methods compares methods at each rank (LoRAN − LoRA at
//! r = 4, at r = 8, …), not ranks of one method: the question is whether the
//! nonlinearity helps more at low rank.

use super::build::{rank_of, run_of_row, TableData};
use crate::load::LoadedRun;
use crate::settings::TableKind;

/// A row's (method label, registry label, rank, registry name).
type RowPoint = (String, String, usize, String);

/// For a rank table whose rows are `<method> r=<rank>`: the baseline method's label and,
/// per row, the baseline method's row at the same rank (`None` for the baseline's own rows
/// and ranks it lacks). The baseline method is `configured` (a method label or registry
/// name, e.g. `lora` or `qlora`), else the one method whose registry name is `lora`.
/// `None` for every other table.
pub fn same_rank_baseline(table: &TableData, runs: &[LoadedRun], configured: Option<&str>) -> Option<(String, Vec<Option<String>>)> {
    if table.kind != TableKind::Rank || !super::build::several_methods(runs) {
        return None;
    }
    let point = |row: &str| {
        let run = run_of_row(&table.members, runs, row)?;
        Some((run.result.identity.method_label(), run.result.identity.registry_label(), rank_of(run)?, run.result.identity.method.clone()))
    };
    let points: Vec<Option<RowPoint>> = table.rows.iter().map(|r| point(r)).collect();
    let methods = |fits: &dyn Fn(&RowPoint) -> bool| -> Vec<String> {
        let mut found: Vec<String> = points.iter().flatten().filter(|p| fits(p)).map(|p| p.0.clone()).collect();
        found.sort();
        found.dedup();
        found
    };
    let chosen = match configured {
        Some(wanted) => methods(&|p| p.0 == wanted || p.1 == wanted),
        None => methods(&|p| p.3 == "lora"),
    };
    let [method] = chosen.as_slice() else { return None };
    let against = points
        .iter()
        .map(|p| {
            let (label, _, rank, _) = p.as_ref()?;
            if label == method {
                return None;
            }
            table.rows.iter().zip(&points).find(|(_, q)| q.as_ref().is_some_and(|q| &q.0 == method && q.2 == *rank)).map(|(row, _)| row.clone())
        })
        .collect();
    Some((method.clone(), against))
}
