//! Which reader a file needs: its first bytes decide where they are a known signature, its
//! name where they are not (a CSV file has no signature), so that a Parquet file saved as
//! `data.csv` is still read as Parquet, and a damaged `.sav` is not read as text.

use std::io::Read;
use std::path::Path;

use crate::error::ReadError;

/// A data file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    /// SPSS `.sav` (bytecode-compressed or not) and `.zsav` (zlib).
    Sav,
    /// One Parquet file, or a folder or glob pattern of part files.
    Parquet,
    /// Arrow IPC file format (`.arrow`, Feather version 2).
    ArrowFile,
    /// Arrow IPC stream format (`.arrows`).
    ArrowStream,
}

impl Format {
    /// The format's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "CSV",
            Format::Sav => "SPSS",
            Format::Parquet => "Parquet",
            Format::ArrowFile => "Arrow IPC",
            Format::ArrowStream => "Arrow IPC stream",
        }
    }

    /// The format of the file, folder or pattern at `path`.
    pub fn detect(path: &Path) -> Result<Format, ReadError> {
        let shown = path.display().to_string();
        if path.is_dir() || is_pattern(path) {
            return Ok(Format::Parquet);
        }
        let mut head = Vec::with_capacity(64);
        std::fs::File::open(path)
            .and_then(|f| f.take(64).read_to_end(&mut head))
            .map_err(|e| ReadError::Open {
                path: shown.clone(),
                message: e.to_string(),
            })?;
        if let Some(format) = by_signature(&head) {
            return Ok(format);
        }
        if head.len() >= 36 && head[..36].windows(9).any(|w| w == b"ENCRYPTED") {
            return Err(ReadError::Encrypted { path: shown });
        }
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let (format, expected) = match extension.as_deref() {
            Some("sav" | "zsav") => (Format::Sav, "an SPSS file starts with $FL2 or $FL3"),
            Some("parquet" | "parq") => (Format::Parquet, "a Parquet file starts with PAR1"),
            Some("arrow" | "feather" | "ipc") if head.starts_with(b"FEA1") => (
                Format::ArrowFile,
                "Feather version 1 files are not read; save as Feather version 2",
            ),
            Some("arrow" | "feather" | "ipc" | "arrows") => (
                Format::ArrowFile,
                "an Arrow IPC file starts with ARROW1, a stream with 0xFFFFFFFF",
            ),
            _ => return Ok(Format::Csv),
        };
        Err(ReadError::NotThisFormat {
            path: shown,
            format: format.name(),
            expected,
        })
    }
}

/// The format whose signature the file starts with.
fn by_signature(head: &[u8]) -> Option<Format> {
    if head.starts_with(b"$FL2") || head.starts_with(b"$FL3") {
        Some(Format::Sav)
    } else if head.starts_with(b"PAR1") {
        Some(Format::Parquet)
    } else if head.starts_with(b"ARROW1") {
        Some(Format::ArrowFile)
    } else if head.starts_with(&[0xFF; 4]) {
        Some(Format::ArrowStream)
    } else {
        None
    }
}

/// Whether the last part of `path` is a glob pattern (`*` or `?`).
pub(crate) fn is_pattern(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.contains(['*', '?']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_decide_before_names() {
        assert_eq!(by_signature(b"$FL2@(#) IBM SPSS"), Some(Format::Sav));
        assert_eq!(by_signature(b"$FL3@(#) IBM SPSS"), Some(Format::Sav));
        assert_eq!(by_signature(b"PAR1\x15\x04"), Some(Format::Parquet));
        assert_eq!(by_signature(b"ARROW1\0\0"), Some(Format::ArrowFile));
        assert_eq!(
            by_signature(b"\xff\xff\xff\xff\x10"),
            Some(Format::ArrowStream)
        );
        assert_eq!(by_signature(b"a,b\n1,2\n"), None);
    }

    #[test]
    fn patterns_are_in_the_last_part() {
        assert!(is_pattern(Path::new("out/part-*.parquet")));
        assert!(!is_pattern(Path::new("out/data.parquet")));
    }
}
