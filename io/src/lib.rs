//! Data files into the engine's [`DataFrame`]: CSV, SPSS `.sav`/`.zsav`, Parquet (one file
//! or part files) and Arrow IPC. [`read_data`] picks the reader by the file's first bytes,
//! then its name (see [`Format::detect`]), so that every command and the `.spec` `data`
//! statement read files the same way. The engine keeps no I/O of its own; this crate is
//! where files become columns (docs/data.md has the type mapping).
//!
//! The readers other than CSV share the Arrow crates, which dominate the build: they are
//! behind the `columnar` feature (on by default in the `mixspec` binary).

#[cfg(feature = "columnar")]
mod columns;
mod error;
mod format;
mod guard;
#[cfg(feature = "columnar")]
mod ipc;
#[cfg(feature = "columnar")]
mod parquet;
#[cfg(feature = "columnar")]
mod sav;

use std::io::BufReader;
use std::path::Path;

use mixspec_engine::{read_csv, DataFrame};

pub use error::{ReadError, WriteError};
pub use format::Format;

/// Reads the data file, folder of Parquet parts or Parquet glob pattern at `path`. Messages
/// name the path as given.
pub fn read_data(path: &Path) -> Result<DataFrame, ReadError> {
    let shown = path.display().to_string();
    match Format::detect(path)? {
        Format::Csv => csv(path, &shown),
        format => guard::guarded(&shown, format.name(), || columnar(path, &shown, format)),
    }
}

fn csv(path: &Path, shown: &str) -> Result<DataFrame, ReadError> {
    let file = std::fs::File::open(path).map_err(|e| ReadError::Open {
        path: shown.into(),
        message: e.to_string(),
    })?;
    Ok(read_csv(BufReader::new(file), shown)?)
}

#[cfg(feature = "columnar")]
fn columnar(path: &Path, shown: &str, format: Format) -> Result<DataFrame, ReadError> {
    let columns = match format {
        Format::Csv => return csv(path, shown),
        Format::Sav => sav::read(path, shown)?,
        Format::Parquet => parquet::read(path, shown)?,
        Format::ArrowFile => ipc::read(path, shown, false)?,
        Format::ArrowStream => ipc::read(path, shown, true)?,
    };
    // Parquet and Arrow allow repeated names; a model could not tell the columns apart.
    if let Some((i, _)) = columns
        .iter()
        .enumerate()
        .find(|(i, (name, _))| columns[..*i].iter().any(|(n, _)| n == name))
    {
        return Err(ReadError::DuplicateColumn {
            path: shown.into(),
            name: columns[i].0.clone(),
        });
    }
    Ok(DataFrame::new(shown, columns))
}

#[cfg(not(feature = "columnar"))]
fn columnar(_: &Path, shown: &str, format: Format) -> Result<DataFrame, ReadError> {
    Err(ReadError::NotBuilt {
        path: shown.into(),
        format: format.name(),
    })
}

/// A data set as the bytes of a Parquet file (see docs/data.md for the types written).
#[cfg(feature = "columnar")]
pub fn to_parquet(frame: &DataFrame) -> Result<Vec<u8>, WriteError> {
    parquet::to_parquet(frame)
}

/// Without the `columnar` feature there is no Parquet writer.
#[cfg(not(feature = "columnar"))]
pub fn to_parquet(_: &DataFrame) -> Result<Vec<u8>, WriteError> {
    Err(WriteError::NotBuilt)
}
