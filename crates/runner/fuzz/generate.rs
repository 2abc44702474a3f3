//! Strategy (b): whole grids assembled from the schema's vocabulary, valid and not,
//! so that `expand` (axes × bundles − exclude × seeds, merging, the config
//! resolver) runs, not only the YAML parser. Bundle and exclude entries often copy a
//! value an axis takes, so they select and drop real cells; twists add anchors and
//! aliases, a merge key, a duplicated key, an unknown key, reordering and flow style.

use super::vocab::{field, junk, mix, nest, unique, value, Kind, Yaml, BAD_KEYS, CORE, FIELDS, SECTIONS};
use proptest::prelude::*;
use proptest::sample::{select, Index};

/// One axis: key, values, block style, written as a bare scalar instead of a list.
#[derive(Debug, Clone)]
pub struct Axis {
    key: String,
    values: Vec<Yaml>,
    block: bool,
    scalar: bool,
}

/// An entry of a bundle or an exclusion: the value of one axis, or any field.
#[derive(Debug, Clone)]
pub enum Item {
    FromAxis(Index, Index),
    Field(String, Yaml),
}

/// Variations applied when rendering.
#[derive(Debug, Clone)]
pub struct Twists {
    alias: bool,
    merge: bool,
    duplicate: Option<Index>,
    rotate: usize,
    unknown: Option<(&'static str, Yaml)>,
    flow_document: bool,
}

/// A grid before rendering.
#[derive(Debug, Clone)]
pub struct Grid {
    name: Option<Yaml>,
    base: Option<Yaml>,
    axes: Vec<Axis>,
    bundles: Vec<Vec<Item>>,
    exclude: Vec<Vec<Item>>,
    seeds: Option<Yaml>,
    report: Option<Yaml>,
    twists: Twists,
    /// Exclusions of a clean grid name axis values only.
    dirty: bool,
}

/// Whole grids: half of them clean (every scalar fits its key, the structure varies,
/// so most reach `expand`), half dirty (junk, misspellings, wrong types, twists).
pub fn strategy() -> impl Strategy<Value = Grid> {
    any::<bool>().prop_flat_map(grid)
}

fn grid(dirty: bool) -> impl Strategy<Value = Grid> {
    let lists = (prop::collection::vec(axis(dirty), 0..5), prop::collection::vec(items(dirty, true), 0..4), prop::collection::vec(items(dirty, dirty), 0..3));
    (name(dirty), base(dirty), lists, seeds(dirty), report(dirty), twists(dirty)).prop_map(move |(name, base, (axes, bundles, exclude), seeds, report, twists)| Grid {
        name,
        base,
        axes,
        bundles,
        exclude,
        seeds,
        report,
        twists,
        dirty,
    })
}

/// `Some(raw)` for each text.
fn raws(texts: &'static [&'static str]) -> BoxedStrategy<Option<Yaml>> {
    select(texts).prop_map(|s| Some(Yaml::raw(s))).boxed()
}

fn name(dirty: bool) -> BoxedStrategy<Option<Yaml>> {
    let good = raws(&["g", "table-main", "quick-ablation", "日本", "a.b", "x y"]);
    let bad = prop_oneof![
        1 => Just(None),
        2 => raws(&["a/b", "\"\"", "\".\"", "..", "\" \"", "\"a\\nb\"", "~", "8", "[a]", "{a: 1}", "'a\\b'"]),
        1 => junk().prop_map(Some),
    ];
    mix(dirty, 8, good, bad.boxed())
}

fn base(dirty: bool) -> BoxedStrategy<Option<Yaml>> {
    let fields = (prop::collection::vec(field("", false, dirty), 0..5), mix(dirty, 20, Just(false).boxed(), Just(true).boxed()), any::<bool>())
        .prop_map(move |(fields, dotted, block)| {
            let fields = if dirty { fields } else { unique(fields) };
            Some(if dotted { Yaml::Map(fields, block) } else { nest(fields, block) })
        });
    mix(dirty, 16, fields.boxed(), prop_oneof![Just(None), junk().prop_map(Some)].boxed())
}

/// Values for an axis or bundle key: a field's kind, a section's fields, or anything.
fn values_for(key: &'static str, dirty: bool) -> BoxedStrategy<Yaml> {
    if let Some((_, kind)) = FIELDS.iter().find(|(k, _)| *k == key) {
        return value(*kind, dirty);
    }
    if key == "adapter.activation" {
        return value(Kind::Activation, dirty);
    }
    if SECTIONS.contains(&key) {
        let prefix = format!("{key}.");
        return prop::collection::vec(field(&prefix, true, dirty), 1..4)
            .prop_map(move |fields| {
                let fields = fields.into_iter().map(|(k, v)| (k[prefix.len()..].to_string(), v)).collect();
                nest(if dirty { fields } else { unique(fields) }, false)
            })
            .boxed();
    }
    prop_oneof![field("", true, dirty).prop_map(|(_, v)| v), junk()].boxed()
}

fn axis(dirty: bool) -> impl Strategy<Value = Axis> {
    let keys: Vec<&str> = FIELDS.iter().map(|(k, _)| *k).filter(|k| dirty || *k != "seed").collect();
    let fields = prop_oneof![2 => select(keys), 2 => select(CORE), 1 => select(SECTIONS)].boxed();
    let key = mix(dirty, 10, fields, select(BAD_KEYS).boxed());
    let count = mix(dirty, 12, prop_oneof![4 => 1usize..4, 1 => 4usize..9].boxed(), Just(0usize).boxed());
    (key, count, any::<bool>(), mix(dirty, 20, Just(false).boxed(), Just(true).boxed())).prop_flat_map(move |(key, n, block, scalar)| {
        prop::collection::vec(values_for(key, dirty), n).prop_map(move |mut values| {
            if !dirty {
                let mut seen = Vec::new();
                values.retain(|v| !seen.contains(&v.flow()) && (seen.push(v.flow()), true).1);
            }
            Axis { key: key.to_string(), values, block, scalar }
        })
    })
}

/// Bundle or exclude entries; `fields`: also entries that set any field.
fn items(dirty: bool, fields: bool) -> BoxedStrategy<Vec<Item>> {
    let from_axis = (any::<Index>(), any::<Index>()).prop_map(|(a, v)| Item::FromAxis(a, v));
    if !fields {
        return prop::collection::vec(from_axis, 1..3).boxed();
    }
    let item = prop_oneof![
        3 => from_axis,
        1 => field("", true, dirty).prop_map(|(k, v)| Item::Field(k, v)),
        1 => select(SECTIONS).prop_flat_map(move |k| values_for(k, dirty).prop_map(move |v| Item::Field(k.to_string(), v))),
    ];
    mix(dirty, 16, prop::collection::vec(item, 1..4).boxed(), Just(Vec::new()).boxed())
}

fn seeds(dirty: bool) -> BoxedStrategy<Option<Yaml>> {
    let listed = (prop::collection::hash_set(0u64..20, 1..6), any::<bool>()).prop_map(|(v, b)| Some(Yaml::Seq(v.iter().map(|s| Yaml::raw(s.to_string())).collect(), b)));
    let good = prop_oneof![4 => Just(None), 4 => raws(&["[0]", "[0, 1, 2]", "[1, 0]", "[7]"]), 1 => listed];
    let bad = raws(&["[]", "[0, 0]", "[-1]", "[1.5]", "x", "[18446744073709551615, 0]", "{a: 1}", "0", "[~]", "[0, 1, 0]"]);
    mix(dirty, 8, good.boxed(), bad)
}

fn report(dirty: bool) -> BoxedStrategy<Option<Yaml>> {
    let table = mix(dirty, 8, select(&["main", "ablation", "rank"][..]).boxed(), select(&["x", "~", "Main"][..]).boxed());
    let entry = prop_oneof![
        table.prop_map(|t| ("table".to_string(), Yaml::raw(t))),
        select(&["lora", "qlora", "identity", "nolora", "\"nolora-style (reconstructed)\"", "x"][..]).prop_map(|b| ("baseline".to_string(), Yaml::raw(b))),
        prop::collection::vec(select(&["\"a note\"", "note", "\"\"", "'x: y'"][..]).prop_map(Yaml::raw), 0..3).prop_map(|n| ("notes".to_string(), Yaml::Seq(n, true))),
        value(Kind::Int, dirty).prop_map(|n| ("resamples".to_string(), n)),
        select(&["0.5", "0.9", "0.95", "0.99"][..]).prop_map(|c| ("confidence".to_string(), Yaml::raw(c))),
    ];
    let section = (prop::collection::vec(entry, 0..4), any::<bool>()).prop_map(|(e, block)| Some(Yaml::Map(e, block)));
    let good = prop_oneof![Just(None), section];
    let bad = prop_oneof![
        junk().prop_map(Some),
        value(Kind::Float, true).prop_map(|c| Some(Yaml::Map(vec![("confidence".into(), c)], false))),
        value(Kind::Int, true).prop_map(|v| Some(Yaml::Map(vec![("colour".into(), v)], false))),
    ];
    mix(dirty, 8, good.boxed(), bad.boxed())
}

fn twists(dirty: bool) -> impl Strategy<Value = Twists> {
    let duplicate = mix(dirty, 20, Just(None).boxed(), any::<Index>().prop_map(Some).boxed());
    let unknown = mix(dirty, 20, Just(None).boxed(), (select(&["axis", "seed", "Base", "names", "~"][..]), junk()).prop_map(Some).boxed());
    (prop::bool::weighted(0.2), prop::bool::weighted(0.1), duplicate, prop_oneof![9 => Just(0usize), 1 => 1usize..7], unknown, prop::bool::weighted(0.05))
        .prop_map(|(alias, merge, duplicate, rotate, unknown, flow_document)| Twists { alias, merge, duplicate, rotate, unknown, flow_document })
}

/// The grid as YAML text.
pub fn render(g: &Grid) -> String {
    let t = &g.twists;
    let mut entries: Vec<(String, Yaml)> = Vec::new();
    if let Some(name) = &g.name {
        entries.push(("name".into(), name.clone()));
    }
    if let Some(base) = &g.base {
        let base = if t.merge { Yaml::Anchor("base0".into(), Box::new(base.clone())) } else { base.clone() };
        entries.push(("base".into(), base));
    }
    if !g.axes.is_empty() {
        let axes = g.axes.iter().enumerate().map(|(i, a)| {
            let mut values = a.values.clone();
            if t.alias && i == 0 && !values.is_empty() {
                values[0] = Yaml::Anchor("v0".into(), Box::new(values[0].clone()));
            }
            let v = if a.scalar { values.first().cloned().unwrap_or_else(|| Yaml::raw("x")) } else { Yaml::Seq(values, a.block) };
            (a.key.clone(), v)
        });
        entries.push(("axes".into(), Yaml::Map(axes.collect(), true)));
    }
    let resolve = |items: &Vec<Item>| -> Yaml {
        let pairs = items.iter().map(|item| match item {
            Item::FromAxis(a, v) if !g.axes.is_empty() => {
                let i = a.index(g.axes.len());
                let axis = &g.axes[i];
                if axis.values.is_empty() {
                    return (axis.key.clone(), Yaml::raw("x"));
                }
                let j = v.index(axis.values.len());
                let value = if t.alias && i == 0 && j == 0 { Yaml::raw("*v0") } else { axis.values[j].clone() };
                (axis.key.clone(), value)
            }
            Item::FromAxis(..) => ("task".into(), Yaml::raw("news-standfirst")),
            Item::Field(k, v) => (k.clone(), v.clone()),
        });
        // A key once per entry (the duplicate-key twist covers the YAML error).
        Yaml::Map(unique(pairs.collect()), false)
    };
    let mut bundles: Vec<Yaml> = g.bundles.iter().map(resolve).collect();
    if t.merge && g.base.is_some() {
        match bundles.first_mut() {
            Some(Yaml::Map(first, _)) => first.insert(0, ("<<".into(), Yaml::raw("*base0"))),
            _ => bundles.push(Yaml::Map(vec![("<<".into(), Yaml::raw("*base0"))], false)),
        }
    }
    if !bundles.is_empty() {
        entries.push(("bundles".into(), Yaml::Seq(bundles, true)));
    }
    if !g.exclude.is_empty() && (g.dirty || !g.axes.is_empty()) {
        entries.push(("exclude".into(), Yaml::Seq(g.exclude.iter().map(resolve).collect(), true)));
    }
    entries.extend(g.seeds.clone().map(|s| ("seeds".to_string(), s)));
    entries.extend(g.report.clone().map(|r| ("report".to_string(), r)));
    entries.extend(t.unknown.clone().map(|(k, v)| (k.to_string(), v)));
    if let (Some(d), false) = (t.duplicate, entries.is_empty()) {
        let i = d.index(entries.len());
        entries.insert(i, entries[i].clone());
    }
    if !entries.is_empty() {
        let r = t.rotate % entries.len();
        entries.rotate_left(r);
    }
    if t.flow_document {
        return format!("{}\n", Yaml::Map(entries, false).flow());
    }
    let mut out = String::new();
    entries.iter().for_each(|(k, v)| v.write_entry(&mut out, 0, k));
    out
}
