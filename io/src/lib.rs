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
#[cfg(feature = "columnar")]
mod ipc;
#[cfg(feature = "columnar")]
mod parquet;
#[cfg(feature = "columnar")]
mod sav;

use std::io::BufReader;
use std::path::Path;

use mixspec_engine::{read_csv, Column, DataFrame};

pub use error::{ReadError, WriteError};
pub use format::Format;

/// Reads the data file, folder of Parquet parts or Parquet glob pattern at `path`. Messages
/// name the path as given.
pub fn read_data(path: &Path) -> Result<DataFrame, ReadError> {
    let shown = path.display().to_string();
    let format = Format::detect(path)?;
    let columns = match format {
        Format::Csv => {
            let file = std::fs::File::open(path).map_err(|e| ReadError::Open {
                path: shown.clone(),
                message: e.to_string(),
            })?;
            return Ok(read_csv(BufReader::new(file), &shown)?);
        }
        #[cfg(feature = "columnar")]
        Format::Sav => sav::read(path, &shown)?,
        #[cfg(feature = "columnar")]
        Format::Parquet => parquet::read(path, &shown)?,
        #[cfg(feature = "columnar")]
        Format::ArrowFile | Format::ArrowStream => {
            ipc::read(path, &shown, format == Format::ArrowStream)?
        }
        #[cfg(not(feature = "columnar"))]
        _ => {
            return Err(ReadError::NotBuilt {
                path: shown,
                format: format.name(),
            })
        }
    };
    frame(columns, &shown)
}

/// The columns as a data set, once their names are known to be distinct (Parquet and Arrow
/// allow repeated names; a model could not tell them apart).
#[cfg_attr(not(feature = "columnar"), allow(dead_code))]
fn frame(columns: Vec<(String, Column)>, shown: &str) -> Result<DataFrame, ReadError> {
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

/// A data set as the bytes of a Parquet file (see docs/data.md for the types written).
pub fn to_parquet(frame: &DataFrame) -> Result<Vec<u8>, WriteError> {
    #[cfg(feature = "columnar")]
    return parquet::to_parquet(frame);
    #[cfg(not(feature = "columnar"))]
    {
        let _ = frame;
        Err(WriteError::NotBuilt)
    }
}
