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
    let unterminated = |from: Option<&::csv::Position>| {
        let from = from.map_or((0, 1), |p| (p.byte() as usize, p.line()));
        unterminated_quote(&bytes, from).map(|line| DataError::UnterminatedQuote {
            source_name: source.into(),
            line,
        })
    };
    let csv_error = |e: ::csv::Error| {
        let line = e.position().map_or(0, |p| p.line());
        // A quote left open swallows the following lines into one field, which usually
        // shows as a row with too few fields: name the quote, the actual mistake.
        if let Some(err) = unterminated(e.position()) {
            return err;
        }
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
    // Parse numbers optimistically; a column turns to text on its first non-number, and
    // from then on its labels are interned. The rows before that one are read again at
    // the end (none when, as usual, the text shows in the first row).
    let mut parsed: Vec<Parsed> = (0..k).map(|_| Parsed::Numbers(Vec::new())).collect();
    let mut lines = Vec::new();
    let mut record = ::csv::StringRecord::new();
    let mut last_start = rdr.headers().ok().and_then(|h| h.position().cloned());
    while rdr.read_record(&mut record).map_err(csv_error)? {
        let row = lines.len();
        lines.push(record.position().map_or(0, |p| p.line()));
        last_start = record.position().cloned();
        for (column, field) in parsed.iter_mut().zip(record.iter()) {
            let field = field.trim();
            let label = (!missing(field)).then_some(field);
            match column {
                Parsed::Text(interner) => interner.push(label),
                Parsed::Numbers(nums) => match label.map(parse_r_number) {
                    None => nums.push(f64::NAN),
                    Some(Some(v)) => nums.push(v),
                    Some(None) => {
                        let mut interner = Interner::starting_at(row);
                        interner.push(label);
                        *column = Parsed::Text(interner);
                    }
                },
            }
        }
    }
    // The csv crate reads a quote left open as a field running to the end of the file: only
    // the last record can hold one.
    if let Some(err) = unterminated(last_start.as_ref()) {
        return Err(err);
    }
    let reread = parsed
        .iter()
        .filter_map(Parsed::text)
        .map(Interner::first_row)
        .max();
    if let Some(rows) = reread.filter(|&r| r > 0) {
        let mut earlier: Vec<Option<Interner>> = parsed
            .iter()
            .map(|c| c.text().map(|_| Interner::starting_at(0)))
            .collect();
        let mut rdr = reader();
        for _ in 0..rows {
            if !rdr.read_record(&mut record).map_err(csv_error)? {
                break;
            }
            for ((interner, field), later) in earlier.iter_mut().zip(record.iter()).zip(&parsed) {
                if let (Some(interner), Some(later)) = (interner, later.text()) {
                    if interner.len() < later.first_row() {
                        let field = field.trim();
                        interner.push((!missing(field)).then_some(field));
                    }
                }
            }
        }
        for (later, earlier) in parsed.iter_mut().zip(earlier) {
            if let (Parsed::Text(l), Some(e)) = (later, earlier) {
                l.prepend(e);
            }
        }
    }
    let columns = header
        .into_iter()
        .zip(parsed)
        .map(|(name, column)| {
            let col = match column {
                Parsed::Numbers(v) => Column::Numeric(v),
                Parsed::Text(interner) => Column::Factor(interner.into_factor()),
            };
            (name, col)
        })
        .collect();
    Ok(DataFrame::new(source, columns).with_lines(lines))
}

/// A column as it is read: numbers until its first non-number, then text.
enum Parsed {
    Numbers(Vec<f64>),
    Text(Interner),
}

impl Parsed {
    fn text(&self) -> Option<&Interner> {
        match self {
            Parsed::Text(interner) => Some(interner),
            Parsed::Numbers(_) => None,
        }
    }
}

/// The line of a quote that opens a field at or after `from` (byte offset, line) and is
/// still open at the end of the input, following the csv crate's rules: a field is quoted
/// when it starts with `"`, and inside it `""` is a literal quote.
fn unterminated_quote(bytes: &[u8], from: (usize, u64)) -> Option<u64> {
    #[derive(Clone, Copy)]
    enum State {
        FieldStart,
        Unquoted,
        /// Inside a quoted field opened at this byte.
        Quoted(usize),
        /// Just after a quote inside the field opened at this byte: a closing quote, or
        /// the first of `""`.
        QuoteInQuoted(usize),
    }
    let (start, line) = from;
    let mut state = State::FieldStart;
    for (i, &b) in bytes.iter().enumerate().skip(start) {
        state = match (state, b) {
            (State::Quoted(open), b'"') => State::QuoteInQuoted(open),
            (State::Quoted(open), _) | (State::QuoteInQuoted(open), b'"') => State::Quoted(open),
            (State::FieldStart, b'"') => State::Quoted(i),
            (_, b',' | b'\n' | b'\r') => State::FieldStart,
            _ => State::Unquoted,
        };
    }
    match state {
        State::Quoted(open) => {
            let newlines = bytes[start..open].iter().filter(|&&b| b == b'\n').count();
            Some(line + newlines as u64)
        }
        _ => None,
    }
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
    fn a_column_that_turns_to_text_keeps_its_earlier_rows() {
        let df = read_csv("a,b\n10,x\n2,y\nNA,x\nfoo,x\n2,z\n".as_bytes(), "t").unwrap();
        match df.column("a").unwrap() {
            Column::Factor(f) => {
                assert_eq!(f.levels, ["10", "2", "foo"]);
                assert_eq!(f.codes, [0, 1, crate::data::NA_CODE, 2, 1]);
            }
            _ => panic!("a should be a factor"),
        }
        match df.column("b").unwrap() {
            Column::Factor(f) => assert_eq!(f.codes, [0, 1, 0, 0, 2]),
            _ => panic!("b should be a factor"),
        }
    }

    #[test]
    fn an_unterminated_quote_names_its_line() {
        let mut csv = String::from("y,x,g\n");
        for i in 0..12 {
            if i == 5 {
                csv.push_str("3.5,3,\"c\n");
            } else {
                csv.push_str(&format!("{i}.5,{i},a\n"));
            }
        }
        let err = read_csv(csv.as_bytes(), "t.csv").unwrap_err();
        assert!(
            matches!(err, DataError::UnterminatedQuote { line: 7, .. }),
            "{err}"
        );
        // The quote opening a middle field makes the row ragged: still the quote's line.
        let err = read_csv("a,b,c\n1,2,3\n1,\"2,3\n4,5,6\n".as_bytes(), "t").unwrap_err();
        assert!(
            matches!(err, DataError::UnterminatedQuote { line: 3, .. }),
            "{err}"
        );
        // Closed quotes, escaped quotes and quoted line breaks are fine.
        let df = read_csv("a,b\n\"x\"\"y\",1\n\"p\nq\",2\nr,3\n".as_bytes(), "t").unwrap();
        assert_eq!(df.n_rows(), 3);
    }

    #[test]
    fn ragged_rows_name_the_line() {
        let err = read_csv("a,b\n1,2\n3\n".as_bytes(), "t.csv").unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
    }
}
