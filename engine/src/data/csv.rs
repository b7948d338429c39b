//! CSV input: a header row, then one row per observation.

use super::{Column, DataFrame, Interner};
use crate::error::DataError;
use std::io::Read;

/// Reads a CSV file with a header. Empty cells and `NA` are missing; a column whose
/// non-missing values are all numbers is numeric, any other is a factor.
///
/// `source` names the input in messages (usually the file path).
pub fn read_csv(mut reader: impl Read, source: &str) -> Result<DataFrame, DataError> {
    // The whole input is kept in memory so that text columns can be read in a second pass:
    // the first decides the columns' types without storing a string per cell.
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| DataError::Malformed {
            source_name: source.into(),
            line: 0,
            message: e.to_string(),
        })?;
    let csv_error = |e: ::csv::Error| {
        let line = e.position().map_or(0, |p| p.line());
        match e.kind() {
            ::csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => DataError::RaggedRow {
                source_name: source.into(),
                line,
                expected: *expected_len as usize,
                found: *len as usize,
            },
            _ => DataError::Malformed {
                source_name: source.into(),
                line,
                message: e.to_string(),
            },
        }
    };
    let reader = || {
        ::csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(&bytes[..])
    };
    let mut rdr = reader();
    let header: Vec<String> = rdr
        .headers()
        .map_err(csv_error)?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if header.is_empty() || header.iter().all(String::is_empty) {
        return Err(DataError::Empty {
            source_name: source.into(),
        });
    }
    if let Some(dup) = header
        .iter()
        .enumerate()
        .find(|(i, h)| header[..*i].contains(h))
    {
        return Err(DataError::DuplicateColumn {
            source_name: source.into(),
            name: dup.1.clone(),
        });
    }
    let k = header.len();
    let missing = |field: &str| field.is_empty() || field == "NA";
    // Parse numbers optimistically; a column falls back to text on its first non-number.
    let mut numbers: Vec<Option<Vec<f64>>> = vec![Some(Vec::new()); k];
    let mut lines = Vec::new();
    let mut record = ::csv::StringRecord::new();
    while rdr.read_record(&mut record).map_err(csv_error)? {
        lines.push(record.position().map_or(0, |p| p.line()));
        for (j, field) in record.iter().enumerate() {
            let field = field.trim();
            if let Some(nums) = &mut numbers[j] {
                match (missing(field), parse_r_number(field)) {
                    (true, _) => nums.push(f64::NAN),
                    (false, Some(v)) => nums.push(v),
                    (false, None) => numbers[j] = None,
                }
            }
        }
    }
    let mut text: Vec<Option<Interner>> = numbers
        .iter()
        .map(|n| n.is_none().then(Interner::default))
        .collect();
    if text.iter().any(Option::is_some) {
        let mut rdr = reader();
        while rdr.read_record(&mut record).map_err(csv_error)? {
            for (interner, field) in text.iter_mut().zip(record.iter()) {
                if let Some(interner) = interner {
                    let field = field.trim();
                    interner.push((!missing(field)).then_some(field));
                }
            }
        }
    }
    let columns = header
        .into_iter()
        .zip(numbers.into_iter().zip(text))
        .map(|(name, column)| {
            let col = match column {
                (Some(v), _) => Column::Numeric(v),
                (None, interner) => Column::Factor(interner.unwrap_or_default().into_factor()),
            };
            (name, col)
        })
        .collect();
    Ok(DataFrame::new(source, columns).with_lines(lines))
}

/// Parses a number as R's `type.convert` would accept it; `None` for anything else
/// (Rust alone would also accept words like `infinity`).
pub(crate) fn parse_r_number(s: &str) -> Option<f64> {
    match s {
        "Inf" | "+Inf" => return Some(f64::INFINITY),
        "-Inf" => return Some(f64::NEG_INFINITY),
        "NaN" => return Some(f64::NAN),
        _ => {}
    }
    if s.bytes()
        .any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E')
    {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_missing_values() {
        let csv = "y,g,x\n1.5,b,NA\n2,a,3\n,b,4\n";
        let df = read_csv(csv.as_bytes(), "t.csv").unwrap();
        assert_eq!(df.n_rows(), 3);
        match df.column("y").unwrap() {
            Column::Numeric(v) => assert!(v[0] == 1.5 && v[1] == 2.0 && v[2].is_nan()),
            _ => panic!("y should be numeric"),
        }
        match df.column("g").unwrap() {
            Column::Factor(f) => {
                assert_eq!(f.levels, ["a", "b"]);
                assert_eq!(f.codes, [1, 0, 1]);
            }
            _ => panic!("g should be a factor"),
        }
        assert!(df.column("x").unwrap().is_missing(0));
        assert_eq!(df.line_of(2), 4);
    }

    #[test]
    fn quoted_numbers_are_numbers_and_words_are_not() {
        let df = read_csv("a,b\n\"308\",infinity\n\"309\",1\n".as_bytes(), "t").unwrap();
        assert!(matches!(df.column("a"), Some(Column::Numeric(_))));
        assert!(matches!(df.column("b"), Some(Column::Factor(_))));
    }

    #[test]
    fn ragged_rows_name_the_line() {
        let err = read_csv("a,b\n1,2\n3\n".as_bytes(), "t.csv").unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
    }
}
