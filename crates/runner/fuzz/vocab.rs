//! The grid schema's vocabulary for strategy (b): every run-config key with the kind
//! of value it takes, pools of valid and invalid scalars, and YAML oddities (deep
//! nesting, long strings, tags, alias bombs). Values are YAML text, not parsed values,
//! so anything a person could type can be produced.

use proptest::prelude::*;
use proptest::sample::select;

/// What a key takes; each kind draws mostly fitting values, sometimes junk.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Int,
    Float,
    Bool,
    Str(Pool),
    StrList(Pool),
    Layers,
    Activation,
}

/// Texts a key accepts, and texts it rejects.
pub type Pool = (&'static [&'static str], &'static [&'static str]);

const TASKS: Pool = (&["news-standfirst", "mailing-list-topics", "samsum", "newsgroups20"], &["samsun", "\"\""]);
const METHODS: Pool = (&["none", "lora", "dora", "loran", "na-lora", "nolora", "sine-lora"], &["lroa", "LoRA"]);
const ACTIVATIONS: Pool =
    (&["identity", "sigmoid", "sigmoid-centered", "tanh", "relu", "leaky-relu", "silu", "swish", "gaussian", "cos", "sinter", "softsign"], &["nope", "Tanh"]);
const TARGETS: Pool = (&["q_proj", "v_proj", "k_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "self_attn.q_proj", "model.layers.2*.mlp.*", "*"], &["?", "zz", "\"\""]);
const PATHS: Pool = (&["/nonexistent", "data/x.csv", "train.csv", "HuggingFaceH4/x", "main"], &["\"\"", "~"]);

/// The run-config keys (dotted, as in `axes`) with the kind of value each takes.
pub const FIELDS: &[(&str, Kind)] = &[
    ("model", Kind::Str((&["smollm2-135m", "smollm2-360m", "models/x.gguf", "org/repo"], &["\"\"", "~"]))),
    ("task", Kind::Str(TASKS)),
    ("quant", Kind::Str((&["none", "nf4", "nf4-dq"], &["int8", "4"]))),
    ("seed", Kind::Int),
    ("data.split_seed", Kind::Int),
    ("data.validation_fraction", Kind::Float),
    ("data.test_fraction", Kind::Float),
    ("data.max_input_chars", Kind::Int),
    ("data.max_train_examples", Kind::Int),
    ("data.max_validation_examples", Kind::Int),
    ("data.max_test_examples", Kind::Int),
    ("data.prompt_style", Kind::Str((&["chatml", "plain"], &["chat"]))),
    ("data.news_standfirst.exclude_domains", Kind::StrList((&["bbc.co.uk", "example.com"], &["\"\""]))),
    ("data.news_standfirst.drop_lead_copies", Kind::Bool),
    ("data.mailing_list_topics.include_spam", Kind::Bool),
    ("data.mailing_list_topics.deduplicate", Kind::Bool),
    ("data.samsum.repo", Kind::Str(PATHS)),
    ("data.samsum.path", Kind::Str(PATHS)),
    ("data.newsgroups20.train_file", Kind::Str(PATHS)),
    ("data.newsgroups20.cache_dir", Kind::Str(PATHS)),
    ("adapter.method", Kind::Str(METHODS)),
    ("adapter.r", Kind::Int),
    ("adapter.alpha", Kind::Float),
    ("adapter.dropout", Kind::Float),
    ("adapter.targets", Kind::StrList(TARGETS)),
    ("adapter.layers", Kind::Layers),
    ("adapter.rslora", Kind::Bool),
    ("adapter.activation", Kind::Activation),
    ("adapter.activation.name", Kind::Str(ACTIVATIONS)),
    ("adapter.activation.omega", Kind::Float),
    ("adapter.activation.amplitude", Kind::Float),
    ("adapter.activation.beta", Kind::Float),
    ("adapter.sine.omega", Kind::Float),
    ("adapter.sine.gain", Kind::Float),
    ("adapter.na_lora.ema", Kind::Float),
    ("adapter.na_lora.mask", Kind::Str((&["hard", "soft"], &["medium"]))),
    ("adapter.na_lora.quantile", Kind::Float),
    ("adapter.na_lora.every", Kind::Int),
    ("adapter.na_lora.sigma_on", Kind::Float),
    ("adapter.na_lora.sigma_closed", Kind::Float),
    ("adapter.na_lora.scale_closed", Kind::Float),
    ("train.steps", Kind::Int),
    ("train.lr", Kind::Float),
    ("train.batch_size", Kind::Int),
    ("train.max_len", Kind::Int),
    ("train.max_target_tokens", Kind::Int),
    ("train.warmup_ratio", Kind::Float),
    ("train.schedule", Kind::Str((&["constant", "linear", "cosine"], &["step"]))),
    ("train.max_grad_norm", Kind::Float),
    ("train.beta2", Kind::Float),
    ("train.cache_frozen_prefix", Kind::Bool),
    ("train.gradient_checkpointing", Kind::Bool),
    ("train.save_adapter", Kind::Bool),
    ("eval.max_examples", Kind::Int),
    ("eval.max_new_tokens", Kind::Int),
    ("eval.rouge_stemmer", Kind::Bool),
    ("eval.batch_size", Kind::Int),
    ("eval.test_loss", Kind::Bool),
];

/// The keys that shape a run most, drawn more often than the rest of [`FIELDS`].
pub const CORE: &[&str] =
    &["model", "task", "quant", "adapter.method", "adapter.r", "adapter.activation", "adapter.targets", "adapter.layers", "adapter.dropout", "train.steps", "train.lr"];

/// Misspelt and unknown keys, drawn less often than [`FIELDS`].
pub const MISSPELT: &[(&str, Kind)] = &[("adapter.rank", Kind::Int), ("train.lerning_rate", Kind::Float), ("adapter.activation.nope", Kind::Float), ("foo", Kind::Int)];

/// Sections that can be an axis or a bundle key as a whole mapping.
pub const SECTIONS: &[&str] = &["adapter", "train", "eval", "data", "adapter.activation", "adapter.na_lora", "adapter.sine", "data.samsum"];

/// Keys that are neither fields nor sections.
pub const BAD_KEYS: &[&str] = &["seed", "\"\"", "a..b", "adapter.", ".r", "model.x", "seed.x", "adapter.r.x", "\"a\\nb\"", "日本", "<<"];

/// Whole numbers every count accepts, and ones that break some rule or type.
pub const INTS: Pool =
    (&["0", "1", "2", "3", "4", "8", "16", "64", "200"], &["-1", "-4", "18446744073709551615", "18446744073709551616", "2.5", "1e3", "0x10", "+3", "1_000", "~"]);
/// Numbers, plain and extreme.
pub const FLOATS: Pool = (
    &["0", "0.1", "0.2", "0.5", "0.9", "0.95", "0.999", "1", "2", "2.0e-4", "3.0e-3", "1e-8", "5.0e-5", "1.0e4", "25", "100"],
    &["-0.0", "-1", "1e309", "1e-400", ".nan", ".inf", "-.inf", "0x1p3"],
);
const BOOLS: Pool = (&["true", "false"], &["yes", "no", "True", "1", "\"true\""]);
const JUNK: &[&str] = &[
    "~", "[]", "{}", "\"\"", "[1, [2, [3]]]", "{a: 1}", "!!str 8", "!!int \"8\"", "!!float 1", "!!binary aGk=", "!!null \"\"", "!custom x", "\"a\\nb\"",
    "\"\\u0000\\t\\r\"", "'it''s'", "日本", "🦀", "\"\\u2028\"", "{ name: sinter, omega: 1 }", "[lora, 8, true]", "\"8\"", "-0", "0o17",
];

/// A YAML node; scalars are kept as written.
#[derive(Debug, Clone)]
pub enum Yaml {
    Raw(String),
    Seq(Vec<Yaml>, bool),
    /// Entries in order; `true` for block style.
    Map(Vec<(String, Yaml)>, bool),
    Anchor(String, Box<Yaml>),
}

impl Yaml {
    /// A scalar node.
    pub fn raw(text: impl Into<String>) -> Self {
        Yaml::Raw(text.into())
    }

    /// Flow-style text.
    pub fn flow(&self) -> String {
        match self {
            Yaml::Raw(s) => s.clone(),
            Yaml::Seq(items, _) => format!("[{}]", items.iter().map(Yaml::flow).collect::<Vec<_>>().join(", ")),
            Yaml::Map(entries, _) => format!("{{ {} }}", entries.iter().map(|(k, v)| format!("{k}: {}", v.flow())).collect::<Vec<_>>().join(", ")),
            Yaml::Anchor(name, v) => format!("&{name} {}", v.flow()),
        }
    }

    /// Appends `key: self` at `indent`, in block style where the node asks for it.
    pub fn write_entry(&self, out: &mut String, indent: usize, key: &str) {
        let pad = " ".repeat(indent);
        let (anchor, inner) = match self {
            Yaml::Anchor(name, v) => (format!(" &{name}"), &**v),
            v => (String::new(), v),
        };
        match inner {
            Yaml::Map(entries, true) if !entries.is_empty() => {
                out.push_str(&format!("{pad}{key}:{anchor}\n"));
                entries.iter().for_each(|(k, v)| v.write_entry(out, indent + 2, k));
            }
            Yaml::Seq(items, true) if !items.is_empty() => {
                out.push_str(&format!("{pad}{key}:{anchor}\n"));
                items.iter().for_each(|item| out.push_str(&format!("{pad}  - {}\n", item.flow())));
            }
            _ => out.push_str(&format!("{pad}{key}: {}\n", self.flow())),
        }
    }
}

/// Junk of every type: wrong scalars, deep nesting, long strings, alias bombs.
pub fn junk() -> BoxedStrategy<Yaml> {
    prop_oneof![
        6 => select(JUNK).prop_map(Yaml::raw),
        1 => (1usize..100).prop_map(|d| Yaml::Raw(format!("{}x{}", "[".repeat(d), "]".repeat(d)))),
        1 => (1usize..100).prop_map(|d| Yaml::Raw(format!("{}1{}", "{a: ".repeat(d), "}".repeat(d)))),
        1 => (1usize..50_000).prop_map(|n| Yaml::Raw("x".repeat(n))),
        1 => (2usize..8, 1usize..7, select(&["x", "lora", "8", "{a: 1}"][..])).prop_map(|(w, d, leaf)| bomb(w, d, leaf)),
    ]
    .boxed()
}

/// `d` nested levels of anchored lists, each holding the previous level `w` times
/// (once written, then aliased): `w^d` leaves from a few hundred bytes.
fn bomb(w: usize, d: usize, leaf: &str) -> Yaml {
    let mut text = format!("&b0 [{}]", vec![leaf; w].join(", "));
    for level in 1..d {
        let aliases = vec![format!("*b{}", level - 1); w - 1].join(", ");
        text = format!("&b{level} [{text}, {aliases}]");
    }
    Yaml::Raw(text)
}

/// `clean`, or when `dirty` mostly `clean` and one in `odds` times `bad`.
pub fn mix<T: std::fmt::Debug + 'static>(dirty: bool, odds: u32, clean: BoxedStrategy<T>, bad: BoxedStrategy<T>) -> BoxedStrategy<T> {
    if dirty { prop_oneof![odds - 1 => clean, 1 => bad].boxed() } else { clean }
}

/// A value for a key of `kind`: fitting, and when `dirty` sometimes of the right type
/// but out of range or spelt oddly, sometimes junk.
pub fn value(kind: Kind, dirty: bool) -> BoxedStrategy<Yaml> {
    let scalars = move |(good, bad): Pool| mix(dirty, 8, select(good).boxed(), select(bad).boxed()).prop_map(Yaml::raw);
    let fitting: BoxedStrategy<Yaml> = match kind {
        Kind::Int => scalars(INTS).boxed(),
        Kind::Float => scalars(FLOATS).boxed(),
        Kind::Bool => scalars(BOOLS).boxed(),
        Kind::Str(pool) => scalars(pool).boxed(),
        Kind::StrList(pool) => (prop::collection::vec(scalars(pool), 0..4), any::<bool>()).prop_map(|(v, b)| Yaml::Seq(v, b)).boxed(),
        Kind::Layers => prop_oneof![
            4 => scalars(INTS).prop_map(|n| Yaml::Map(vec![("last".into(), n)], false)),
            4 => prop::collection::vec(scalars(INTS), 0..4).prop_map(|v| Yaml::Seq(v, false)),
            1 => Just(Yaml::raw("{ first: 2 }")),
        ]
        .boxed(),
        Kind::Activation => prop_oneof![
            scalars(ACTIVATIONS),
            (scalars(ACTIVATIONS), prop::collection::vec((select(&["omega", "amplitude", "beta", "slope", "gamma"][..]), scalars(FLOATS)), 0..3))
                .prop_map(|(name, params)| {
                    let mut entries = vec![("name".to_string(), name)];
                    entries.extend(params.into_iter().map(|(k, v)| (k.to_string(), v)));
                    Yaml::Map(entries, false)
                }),
        ]
        .boxed(),
    };
    mix(dirty, 20, fitting, junk())
}

/// One `(dotted key, value)` among [`FIELDS`] (when `dirty`, one in twenty from
/// [`MISSPELT`]) whose key starts with `prefix`; `activation.<param>` keys only when
/// `params` (a base cannot set a parameter without the activation's name, an axis can).
pub fn field(prefix: &str, params: bool, dirty: bool) -> BoxedStrategy<(String, Yaml)> {
    let pick = |list: &[(&'static str, Kind)]| -> Vec<(&'static str, Kind)> {
        list.iter().copied().filter(|(k, _)| k.starts_with(prefix) && (params || !k.contains("activation.") || k.ends_with(".name"))).collect()
    };
    let (fields, misspelt) = (pick(FIELDS), pick(MISSPELT));
    let core: Vec<(&str, Kind)> = fields.iter().copied().filter(|(k, _)| CORE.contains(k)).collect();
    let fields = if core.is_empty() { select(fields).boxed() } else { prop_oneof![select(fields), select(core)].boxed() };
    let chosen = if misspelt.is_empty() { fields } else { mix(dirty, 20, fields, select(misspelt).boxed()) };
    chosen.prop_flat_map(move |(k, kind)| value(kind, dirty).prop_map(move |v| (k.to_string(), v))).boxed()
}

/// The entries with each key once (the first), for clean grids.
pub fn unique(entries: Vec<(String, Yaml)>) -> Vec<(String, Yaml)> {
    let mut out: Vec<(String, Yaml)> = Vec::new();
    for (k, v) in entries {
        if !out.iter().any(|(u, _)| *u == k) {
            out.push((k, v));
        }
    }
    out
}

/// Dotted assignments as nested mappings (`adapter.r: 8` → `adapter: { r: 8 }`); keys
/// sharing a section go into one mapping, a key given twice stays twice.
pub fn nest(assignments: Vec<(String, Yaml)>, block: bool) -> Yaml {
    let split = |k: &str| k.split_once('.').map_or((k.to_string(), None), |(h, r)| (h.to_string(), Some(r.to_string())));
    let mut heads: Vec<String> = Vec::new();
    for (k, _) in &assignments {
        let (head, _) = split(k);
        if !heads.contains(&head) {
            heads.push(head);
        }
    }
    let mut entries = Vec::new();
    for head in heads {
        let mut inner = Vec::new();
        for (k, v) in &assignments {
            match split(k) {
                (h, None) if h == head => entries.push((h, v.clone())),
                (h, Some(rest)) if h == head => inner.push((rest, v.clone())),
                _ => {}
            }
        }
        if !inner.is_empty() {
            entries.push((head, nest(inner, false)));
        }
    }
    Yaml::Map(entries, block)
}
