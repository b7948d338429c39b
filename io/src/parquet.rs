//! Parquet: one file, or a data set split into part files (a folder of `*.parquet`, or a
//! pattern such as `cohort/part-*.parquet`), read in name order; and writing a data set.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, DictionaryArray, Float64Array, Int32Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use mixspec_engine::data::NA_CODE;
use mixspec_engine::{Column, DataFrame};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::columns::{read_alike, Columns};
use crate::error::{ReadError, WriteError};
use crate::format::is_pattern;

/// Rows per batch as the files are decoded.
const BATCH_ROWS: usize = 64 * 1024;

/// Reads the Parquet file, folder or pattern at `path` into columns.
pub(crate) fn read(path: &Path, shown: &str) -> Result<Vec<(String, Column)>, ReadError> {
    let files = parts(path, shown)?;
    let mut first: Option<(SchemaRef, String, Columns)> = None;
    for file in &files {
        let name = file.display().to_string();
        let corrupt = |e: &dyn std::fmt::Display| ReadError::Corrupt {
            path: name.clone(),
            format: "Parquet",
            message: e.to_string(),
        };
        let opened = File::open(file).map_err(|e| ReadError::Open {
            path: name.clone(),
            message: e.to_string(),
        })?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(opened).map_err(|e| corrupt(&e))?;
        let schema = builder.schema().clone();
        let columns = match &mut first {
            None => {
                let columns = Columns::new(&schema, &name)?;
                &mut first.insert((schema, name.clone(), columns)).2
            }
            Some((expected, first_name, columns)) => {
                if let Some(difference) = difference(expected, &schema) {
                    return Err(ReadError::PartsDiffer {
                        path: name.clone(),
                        first: first_name.clone(),
                        difference,
                    });
                }
                columns
            }
        };
        let reader = builder
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(|e| corrupt(&e))?;
        for batch in reader {
            columns.push(&batch.map_err(|e| corrupt(&e))?);
        }
    }
    let (_, _, columns) = first.expect("`parts` returns at least one file");
    Ok(columns.finish())
}

/// How the columns of a part file differ from the first's, if they do.
fn difference(first: &Schema, this: &Schema) -> Option<String> {
    let names = |s: &Schema| {
        s.fields()
            .iter()
            .map(|f| f.name().clone())
            .collect::<Vec<_>>()
    };
    let (expected, found) = (names(first), names(this));
    if expected != found {
        let missing: Vec<&str> = expected
            .iter()
            .filter(|n| !found.contains(n))
            .map(String::as_str)
            .collect();
        let extra: Vec<&str> = found
            .iter()
            .filter(|n| !expected.contains(n))
            .map(String::as_str)
            .collect();
        return Some(match (missing.is_empty(), extra.is_empty()) {
            (true, true) => "the same columns in another order".into(),
            (false, true) => format!("no {} here", missing.join(", ")),
            (true, false) => format!("{} only here", extra.join(", ")),
            (false, false) => format!(
                "no {} here; {} only here",
                missing.join(", "),
                extra.join(", ")
            ),
        });
    }
    first
        .fields()
        .iter()
        .zip(this.fields())
        .find(|(a, b)| !read_alike(a.data_type(), b.data_type()))
        .map(|(a, b)| {
            format!(
                "column `{}` is {} here, {} there",
                a.name(),
                b.data_type(),
                a.data_type()
            )
        })
}

/// The files of a data set: the file itself, the `*.parquet` files of a folder (without
/// hidden and `_`-prefixed ones, such as Spark's `_SUCCESS`), or the files matching a
/// pattern in its last part; in name order.
fn parts(path: &Path, shown: &str) -> Result<Vec<PathBuf>, ReadError> {
    let listing = |dir: &Path, keep: &dyn Fn(&str) -> bool| -> Result<Vec<PathBuf>, ReadError> {
        let entries = std::fs::read_dir(dir).map_err(|e| ReadError::Open {
            path: dir.display().to_string(),
            message: e.to_string(),
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(keep))
            .collect();
        files.sort();
        Ok(files)
    };
    let files = if path.is_dir() {
        listing(path, &|name| {
            !name.starts_with(['.', '_']) && name.to_ascii_lowercase().ends_with(".parquet")
        })?
    } else if is_pattern(path) {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let pattern = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a pattern is a file name in UTF-8");
        listing(dir, &|name| matches(pattern.as_bytes(), name.as_bytes()))?
    } else {
        return Ok(vec![path.to_path_buf()]);
    };
    if files.is_empty() {
        return Err(ReadError::NoParts { path: shown.into() });
    }
    Ok(files)
}

/// Whether `name` matches a glob `pattern` of literal bytes, `*` (any run) and `?` (one).
fn matches(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((&b'*', rest)) => (0..=name.len()).any(|skip| matches(rest, &name[skip..])),
        Some((&p, rest)) => name
            .split_first()
            .is_some_and(|(&c, tail)| (p == b'?' || p == c) && matches(rest, tail)),
    }
}

/// A data set as Parquet bytes: numeric columns as doubles, factors dictionary-encoded with
/// their levels in order (a reader sees the same levels), missing values as nulls;
/// Snappy-compressed.
pub(crate) fn to_parquet(frame: &DataFrame) -> Result<Vec<u8>, WriteError> {
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for name in frame.names() {
        let column = frame.column(name).expect("a frame's names are its columns");
        let array: ArrayRef = match column {
            Column::Numeric(v) => Arc::new(Float64Array::from_iter(
                v.iter().map(|x| (!x.is_nan()).then_some(*x)),
            )),
            Column::Factor(f) => {
                let keys = Int32Array::from_iter(
                    f.codes.iter().map(|&c| (c != NA_CODE).then_some(c as i32)),
                );
                let values: ArrayRef = Arc::new(StringArray::from_iter_values(&f.levels));
                let dict = DictionaryArray::<Int32Type>::try_new(keys, values)
                    .map_err(|e| WriteError::Parquet(e.to_string()))?;
                Arc::new(dict)
            }
        };
        let data_type: DataType = array.data_type().clone();
        fields.push(Field::new(name, data_type, true));
        arrays.push(array);
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays)
        .map_err(|e| WriteError::Parquet(e.to_string()))?;
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut bytes = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut bytes, schema, Some(properties))
        .map_err(|e| WriteError::Parquet(e.to_string()))?;
    writer
        .write(&batch)
        .and_then(|()| writer.close().map(drop))
        .map_err(|e| WriteError::Parquet(e.to_string()))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_patterns() {
        assert!(matches(b"part-*.parquet", b"part-0.parquet"));
        assert!(matches(b"part-?.parquet", b"part-1.parquet"));
        assert!(matches(b"*", b""));
        assert!(!matches(b"part-?.parquet", b"part-10.parquet"));
        assert!(!matches(b"*.parquet", b"part-0.csv"));
    }
}
