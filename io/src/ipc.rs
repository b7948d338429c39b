//! Arrow IPC: the file format (`.arrow`, Feather version 2, compressed or not) and the
//! stream format (`.arrows`).

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
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
    let damaged = |message: String| ReadError::Corrupt {
        path: shown.into(),
        format: "Arrow IPC",
        message,
    };
    let corrupt = |e: ArrowError| damaged(e.to_string());
    let open = |e: std::io::Error| ReadError::Open {
        path: shown.into(),
        message: e.to_string(),
    };
    let mut file = BufReader::new(File::open(path).map_err(open)?);
    if let Some(declared) = oversized_buffer(&mut file, stream) {
        return Err(damaged(format!(
            "a compressed buffer declares {declared} bytes uncompressed, more than the \
             {MAX_BUFFER} bytes of one Arrow buffer mixspec reads (write the file in smaller \
             record batches if it is not damaged)"
        )));
    }
    file.seek(SeekFrom::Start(0)).map_err(open)?;
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

/// The largest uncompressed buffer read: 2 GiB, the most an Arrow string column with 32-bit
/// offsets holds. A compressed buffer starts with its uncompressed length, and arrow-ipc
/// allocates that much before decompressing: a damaged or forged length of 2⁴⁶ ended the
/// program with "memory allocation failed" (an abort, which no error handler can catch).
const MAX_BUFFER: i64 = 1 << 31;

/// Walks the messages of an IPC file or stream (a file is the stream between its magic
/// bytes and its footer) and returns the first uncompressed length a compressed buffer
/// declares past [`MAX_BUFFER`]. Anything it cannot follow is left to arrow-ipc's reader,
/// which reports damage as an error; this walk only stops what would abort.
fn oversized_buffer(file: &mut (impl Read + Seek), stream: bool) -> Option<i64> {
    let end = file.seek(SeekFrom::End(0)).ok()?;
    let mut at = if stream { 0 } else { 8 };
    let mut word = [0u8; 4];
    loop {
        file.seek(SeekFrom::Start(at)).ok()?;
        file.read_exact(&mut word).ok()?;
        let mut header = 4;
        if word == [0xff; 4] {
            file.read_exact(&mut word).ok()?;
            header = 8;
        }
        let length = u64::from(u32::from_le_bytes(word));
        if length == 0 || at + header + length > end {
            return None;
        }
        let mut metadata = vec![0u8; length as usize];
        file.read_exact(&mut metadata).ok()?;
        let message = arrow_ipc::root_as_message(&metadata).ok()?;
        let body = at + header + length;
        let batch = message
            .header_as_record_batch()
            .or_else(|| message.header_as_dictionary_batch()?.data());
        if let Some(batch) = batch.filter(|b| b.compression().is_some()) {
            for buffer in batch.buffers()?.iter() {
                let start = u64::try_from(buffer.offset()).ok()?;
                if buffer.length() < 8 || body + start + 8 > end {
                    continue;
                }
                let mut declared = [0u8; 8];
                file.seek(SeekFrom::Start(body + start)).ok()?;
                file.read_exact(&mut declared).ok()?;
                let declared = i64::from_le_bytes(declared);
                if declared > MAX_BUFFER {
                    return Some(declared);
                }
            }
        }
        at = body.checked_add(u64::try_from(message.bodyLength()).ok()?)?;
    }
}
