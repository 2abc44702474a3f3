//! The task registry: names the runner and the YAML grids use.
//! Adding a task is one loader module plus one [`TASKS`] entry.

use crate::error::DatasetError;
use crate::loaders::{mailing_list_topics, news_standfirst, newsgroups20, samsum};
pub use crate::options::{MailingListOptions, NewsStandfirstOptions, TaskOptions};
use crate::task::LoadedTask;
use loran_assets::Store;

/// A registered task.
#[derive(Debug, Clone, Copy)]
pub struct TaskInfo {
    /// Registry name.
    pub name: &'static str,
    /// The paper dataset it stands in for (empty for the paper's own datasets).
    pub stands_in_for: &'static str,
    /// The `crates/assets` key of its data (`None` for hub-backed tasks,
    /// which read the Hugging Face hub cache instead).
    pub asset: Option<&'static str>,
    /// One line on what the task is.
    pub description: &'static str,
    /// Loads it.
    pub load: fn(&Store, &TaskOptions) -> Result<LoadedTask, DatasetError>,
}

/// Every task [`load_task`] knows.
pub const TASKS: &[TaskInfo] = &[
    TaskInfo {
        name: news_standfirst::TASK,
        stands_in_for: "SAMSum",
        asset: Some(news_standfirst::ASSET),
        description:
            "news article -> its one-sentence standfirst (NewsArticles, Feb 2017, BBC excluded)",
        load: news_standfirst::load,
    },
    TaskInfo {
        name: mailing_list_topics::TASK,
        stands_in_for: "20 Newsgroups",
        asset: Some(mailing_list_topics::ASSET),
        description: "mailing-list post body -> which of 7 lists it was sent to (SpamAssassin ham)",
        load: mailing_list_topics::load,
    },
    TaskInfo {
        name: samsum::TASK,
        stands_in_for: "",
        asset: None,
        description: "dialogue -> its abstractive summary (SAMSum, hub dataset knkarthick/samsum)",
        load: samsum::load,
    },
    TaskInfo {
        name: newsgroups20::TASK,
        stands_in_for: "",
        asset: None,
        description: "newsgroup post -> which of the 20 newsgroups (hub dataset SetFit/20_newsgroups, or sklearn's folders)",
        load: newsgroups20::load,
    },
];

/// The registered task names.
pub fn task_names() -> Vec<&'static str> {
    TASKS.iter().map(|t| t.name).collect()
}

/// Looks a task up by name.
pub fn find_task(name: &str) -> Result<&'static TaskInfo, DatasetError> {
    TASKS
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| DatasetError::UnknownTask {
            name: name.to_string(),
            known: task_names().join(", "),
        })
}

/// Loads task `name` from `store` with `opts`.
pub fn load_task(
    name: &str,
    store: &Store,
    opts: &TaskOptions,
) -> Result<LoadedTask, DatasetError> {
    let info = find_task(name)?;
    opts.validate()?;
    (info.load)(store, opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_task_lists_the_known_ones() {
        let store = Store::new("/nonexistent");
        let err = load_task("samsum-typo", &store, &TaskOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("samsum-typo"), "{err}");
        assert!(
            err.contains("news-standfirst") && err.contains("mailing-list-topics"),
            "{err}"
        );
    }

    #[test]
    fn missing_assets_say_how_to_fetch_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        // Hub-backed tasks read the hub cache instead (tests/samsum.rs, tests/newsgroups20.rs).
        for name in TASKS.iter().filter(|t| t.asset.is_some()).map(|t| t.name) {
            let err = load_task(name, &store, &TaskOptions::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("just assets"), "{name}: {err}");
        }
    }

    #[test]
    fn every_task_asset_is_in_the_catalog() {
        for asset in TASKS.iter().filter_map(|t| t.asset) {
            assert!(loran_assets::find(asset).is_some(), "{asset}");
        }
    }
}
