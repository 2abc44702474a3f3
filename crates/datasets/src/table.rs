//! Tabular data files read as text columns: CSV (polars; quoted fields may
//! span lines), JSON (an array of objects), JSON lines (one object a line;
//! a `.json` file that does not start with `[` is read as JSON lines, as
//! Hugging Face `datasets` writes them), and parquet (polars, with the
//! `parquet` feature).
//!
//! Every value is read as text: strings as they are, numbers and booleans
//! in their JSON spelling, missing values and nulls as "" (a missing value,
//! as an empty CSV cell). In JSON, a field listed in [`Wanted::text`] must
//! hold a string or null, and no field may hold an array or an object: such
//! a value is a [`DatasetError::FieldType`] naming the record and the field.
//! Records are numbered from 1; blank lines of JSON lines are not counted.

use crate::error::DatasetError;
use loran_io::one_line;
use polars::prelude::{CsvReadOptions, DataFrame, SerReader};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::io::Cursor;
use std::path::Path;

/// A file format [`read_table`] knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.csv`, with a header row.
    Csv,
    /// `.json`: an array of objects, or else JSON lines.
    Json,
    /// `.jsonl` / `.ndjson`: one object a line.
    JsonLines,
    /// `.parquet`.
    Parquet,
}

impl Format {
    /// The format of `path`, from its extension.
    pub fn of(path: &Path) -> Result<Self, DatasetError> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            "jsonl" | "ndjson" => Ok(Format::JsonLines),
            "parquet" => Ok(Format::Parquet),
            _ => Err(DatasetError::FileFormat {
                path: path.display().to_string(),
                detail: "unknown extension; name the file .csv, .json, .jsonl or .parquet"
                    .to_string(),
            }),
        }
    }
}

/// Some columns of a data file, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Number of rows (records).
    pub rows: usize,
    /// The columns read, by name; an optional column the file lacks is absent.
    pub columns: HashMap<String, Vec<String>>,
}

impl Table {
    /// A column read, if the file has it.
    pub fn column(&self, name: &str) -> Option<&[String]> {
        self.columns.get(name).map(Vec::as_slice)
    }
}

/// What [`read_table`] must find, and whom to name when it does not.
#[derive(Debug, Clone, Copy)]
pub struct Wanted<'a> {
    /// The task reading the file (named in errors).
    pub task: &'a str,
    /// Columns that must be there.
    pub required: &'a [&'a str],
    /// Columns read when they are there.
    pub optional: &'a [&'a str],
    /// Columns (among the above) that hold text: in JSON, a string or null.
    pub text: &'a [&'a str],
}

impl Wanted<'_> {
    fn names(&self) -> impl Iterator<Item = &&str> {
        self.required.iter().chain(self.optional)
    }

    fn missing(&self, path: &str, field: &str, found: Vec<String>) -> DatasetError {
        DatasetError::MissingField {
            task: self.task.to_string(),
            path: path.to_string(),
            field: field.to_string(),
            found: found.join(", "),
            needed: self
                .names()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// Reads the wanted columns of `bytes`, which came from `path` (its
/// extension decides the format).
pub fn read_table(path: &Path, bytes: Vec<u8>, wanted: Wanted) -> Result<Table, DatasetError> {
    let origin = path.display().to_string();
    match Format::of(path)? {
        Format::Csv => from_frame(&origin, &read_csv(&origin, bytes)?, wanted),
        Format::Parquet => from_frame(&origin, &read_parquet(&origin, bytes)?, wanted),
        Format::Json if first_char(&bytes) == Some(b'[') => {
            let records: Vec<Value> = serde_json::from_slice(&bytes)
                .map_err(|e| bad(&origin, format!("invalid JSON: {e}")))?;
            from_records(&origin, records.into_iter().map(Ok), wanted)
        }
        Format::Json | Format::JsonLines => {
            let text = std::str::from_utf8(&bytes).map_err(|e| bad(&origin, e.to_string()))?;
            let records = text
                .lines()
                .enumerate()
                .filter(|(_, line)| !line.trim().is_empty())
                .map(|(i, line)| {
                    serde_json::from_str(line)
                        .map_err(|e| bad(&origin, format!("line {}: invalid JSON: {e}", i + 1)))
                });
            from_records(&origin, records, wanted)
        }
    }
}

fn bad(origin: &str, detail: String) -> DatasetError {
    DatasetError::DataFile {
        path: origin.to_string(),
        detail: one_line(&detail),
    }
}

fn first_char(bytes: &[u8]) -> Option<u8> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    bytes.iter().copied().find(|b| !b.is_ascii_whitespace())
}

fn read_csv(origin: &str, bytes: Vec<u8>) -> Result<DataFrame, DatasetError> {
    CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .into_reader_with_file_handle(Cursor::new(bytes))
        .finish()
        .map_err(|e| bad(origin, e.to_string()))
}

#[cfg(feature = "parquet")]
fn read_parquet(origin: &str, bytes: Vec<u8>) -> Result<DataFrame, DatasetError> {
    polars::prelude::ParquetReader::new(Cursor::new(bytes))
        .finish()
        .map_err(|e| bad(origin, e.to_string()))
}

#[cfg(not(feature = "parquet"))]
fn read_parquet(origin: &str, _bytes: Vec<u8>) -> Result<DataFrame, DatasetError> {
    Err(DatasetError::FileFormat {
        path: origin.to_string(),
        detail:
            "parquet needs the `parquet` feature (build with `--features loran-runner/parquet`, \
                 or `loran-datasets/parquet`), or use the dataset's CSV or JSON files"
                .to_string(),
    })
}

fn from_frame(origin: &str, df: &DataFrame, wanted: Wanted) -> Result<Table, DatasetError> {
    let present: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let mut columns = HashMap::new();
    for name in wanted.names() {
        let Ok(column) = df.column(name) else {
            if wanted.required.contains(name) {
                return Err(wanted.missing(origin, name, present));
            }
            continue;
        };
        let text = column
            .cast(&polars::prelude::DataType::String)
            .map_err(|e| bad(origin, format!("column `{name}`: {e}")))?;
        let values = text
            .str()
            .map_err(|e| bad(origin, format!("column `{name}`: {e}")))?
            .iter()
            .map(|v| v.unwrap_or("").to_string())
            .collect();
        columns.insert(name.to_string(), values);
    }
    Ok(Table {
        rows: df.height(),
        columns,
    })
}

fn value_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn from_records(
    origin: &str,
    records: impl Iterator<Item = Result<Value, DatasetError>>,
    wanted: Wanted,
) -> Result<Table, DatasetError> {
    let mut columns: HashMap<String, Vec<String>> = HashMap::new();
    let mut rows = 0;
    for (i, record) in records.enumerate() {
        let record = record?;
        let Value::Object(object) = record else {
            return Err(bad(origin, format!("record {}: not a JSON object", i + 1)));
        };
        check_required(origin, i, &object, wanted)?;
        check_types(origin, i, &object, wanted)?;
        for name in wanted.names() {
            if object.contains_key(*name) || wanted.required.contains(name) {
                columns
                    .entry(name.to_string())
                    .or_insert_with(|| vec![String::new(); rows])
                    .push(value_text(object.get(*name)));
            }
        }
        rows += 1;
        for values in columns.values_mut() {
            values.resize(rows, String::new());
        }
    }
    for name in wanted.required {
        columns.entry(name.to_string()).or_default();
    }
    Ok(Table { rows, columns })
}

fn check_required(
    origin: &str,
    index: usize,
    object: &Map<String, Value>,
    wanted: Wanted,
) -> Result<(), DatasetError> {
    match wanted.required.iter().find(|n| !object.contains_key(**n)) {
        Some(name) => Err(wanted.missing(
            &format!("{origin} (record {})", index + 1),
            name,
            object.keys().cloned().collect(),
        )),
        None => Ok(()),
    }
}

/// Text fields hold strings or null; no field holds an array or an object.
fn check_types(
    origin: &str,
    index: usize,
    object: &Map<String, Value>,
    wanted: Wanted,
) -> Result<(), DatasetError> {
    for name in wanted.names() {
        let is_text = wanted.text.contains(name);
        let found = match object.get(*name) {
            Some(Value::Number(_)) if is_text => "a number",
            Some(Value::Bool(_)) if is_text => "a boolean",
            Some(Value::Array(_)) => "an array",
            Some(Value::Object(_)) => "an object",
            _ => continue,
        };
        let expected = if is_text {
            "a string (or null for a missing value)"
        } else {
            "a string or a number (or null for a missing value)"
        };
        return Err(DatasetError::FieldType {
            task: wanted.task.to_string(),
            path: origin.to_string(),
            record: index + 1,
            field: name.to_string(),
            found,
            expected,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const WANT: Wanted = Wanted {
        task: "samsum",
        required: &["id", "summary"],
        optional: &["extra"],
        text: &["summary"],
    };

    fn read(name: &str, text: &str) -> Result<Table, DatasetError> {
        read_table(Path::new(name), text.as_bytes().to_vec(), WANT)
    }

    #[test]
    fn the_formats_read_the_same_table() {
        let csv = read(
            "a.csv",
            "id,summary,other\n1,\"two\nlines, quoted\",x\n2,,y\n",
        )
        .unwrap();
        let jsonl = read(
            "a.jsonl",
            "{\"id\": 1, \"summary\": \"two\\nlines, quoted\"}\n\n{\"id\": \"2\", \"summary\": null}\n",
        )
        .unwrap();
        let array = read(
            "a.json",
            "[{\"id\": \"1\", \"summary\": \"two\\nlines, quoted\"}, {\"id\": 2, \"summary\": \"\"}]",
        )
        .unwrap();
        let json_lines_named_json = read(
            "a.json",
            "{\"id\": \"1\", \"summary\": \"two\\nlines, quoted\"}\n{\"id\": 2}\n",
        );
        assert!(
            json_lines_named_json.is_err(),
            "a record without `summary` is an error"
        );
        for table in [&csv, &jsonl, &array] {
            assert_eq!(table.rows, 2);
            assert_eq!(table.column("id").unwrap(), ["1", "2"]);
            assert_eq!(table.column("summary").unwrap(), ["two\nlines, quoted", ""]);
            assert_eq!(table.column("extra"), None);
        }
    }

    #[test]
    fn optional_columns_fill_gaps() {
        let t = read(
            "a.jsonl",
            "{\"id\": 1, \"summary\": \"s\"}\n{\"id\": 2, \"summary\": \"t\", \"extra\": 5}\n",
        )
        .unwrap();
        assert_eq!(t.column("extra").unwrap(), ["", "5"]);
    }

    #[test]
    fn missing_fields_name_file_field_and_what_is_there() {
        let err = read("dir/a.csv", "id,dialogue\n1,hi\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("dir/a.csv: field `summary` is missing (it has: id, dialogue)"),
            "{err}"
        );
        assert!(
            err.contains("`id`, `summary`, `extra`") && err.contains("data.samsum.path"),
            "{err}"
        );
        let err = read("a.jsonl", "{\"id\": 1, \"summary\": \"s\"}\n{\"id\": 2}\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("a.jsonl (record 2): field `summary` is missing (it has: id)"),
            "{err}"
        );
    }

    #[test]
    fn bad_files_say_where() {
        let err = read("a.jsonl", "{\"id\": 1, \"summary\": \"s\"}\nnot json\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("a.jsonl") && err.contains("line 2"), "{err}");
        assert!(read("a.txt", "")
            .unwrap_err()
            .to_string()
            .contains(".jsonl"));
        assert!(read("a.json", "[1]")
            .unwrap_err()
            .to_string()
            .contains("record 1"));
    }
}
