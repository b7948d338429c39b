//! Arrow IPC: the file format (`.arrow`, Feather version 2, compressed or not) and the
//! stream format (`.arrows`).

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use arrow_array::RecordBatchReader;
use arrow_ipc::reader::{FileReader, StreamReader};
use arrow_schema::ArrowError;
use mixspec_engine::Column;

use crate::columns::Columns;
use crate::error::ReadError;

/// Reads an Arrow IPC file (`stream` false) or stream into columns.
pub(crate) fn read(
    path: &Path,
    shown: &str,
    stream: bool,
) -> Result<Vec<(String, Column)>, ReadError> {
    let corrupt = |e: ArrowError| ReadError::Corrupt {
        path: shown.into(),
        format: "Arrow IPC",
        message: e.to_string(),
    };
    let file = BufReader::new(File::open(path).map_err(|e| ReadError::Open {
        path: shown.into(),
        message: e.to_string(),
    })?);
    let mut batches: Box<dyn RecordBatchReader> = if stream {
        Box::new(StreamReader::try_new(file, None).map_err(corrupt)?)
    } else {
        Box::new(FileReader::try_new(file, None).map_err(corrupt)?)
    };
    let mut columns = Columns::new(&batches.schema(), shown)?;
    for batch in &mut batches {
        columns.push(&batch.map_err(corrupt)?);
    }
    Ok(columns.finish())
}
