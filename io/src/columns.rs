//! Arrow arrays as engine columns, for every reader built on Arrow (Parquet, Arrow IPC and,
//! for its raw values, SPSS): numbers of every width, booleans, dates and durations become
//! numeric columns, text and dictionary-encoded text become factors, and nulls are missing.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowPrimitiveType, Date32Type, Date64Type, Decimal128Type, DurationMicrosecondType,
    DurationMillisecondType, DurationNanosecondType, DurationSecondType, Float16Type, Float32Type,
    Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Schema, TimeUnit};
use mixspec_engine::{Column, Factor};

use crate::error::ReadError;

/// How a column of one Arrow type is read.
#[derive(Clone, Copy)]
pub(crate) enum Reader {
    /// Appends an array's values as numbers, each raw value divided by `per` (the number
    /// of raw units in a day for dates and date-times, in a second for durations, 10^scale
    /// for decimals; 1 otherwise).
    Numbers {
        push: fn(&dyn Array, f64, &mut Vec<f64>),
        per: f64,
    },
    /// Text, plain or dictionary-encoded: a factor.
    Text,
}

const SECONDS_PER_DAY: f64 = 86_400.0;

impl Reader {
    /// The reader for a type, or `None` for types no model can use (lists, structs, maps,
    /// binary, …).
    pub(crate) fn of(data_type: &DataType) -> Option<Reader> {
        use DataType as T;
        let numbers = |push: fn(&dyn Array, f64, &mut Vec<f64>), per: f64| {
            Some(Reader::Numbers { push, per })
        };
        let per_second = |unit: &TimeUnit| match unit {
            TimeUnit::Second => 1.0,
            TimeUnit::Millisecond => 1e3,
            TimeUnit::Microsecond => 1e6,
            TimeUnit::Nanosecond => 1e9,
        };
        match data_type {
            T::Null => numbers(
                |a, _, out| out.extend(std::iter::repeat_n(f64::NAN, a.len())),
                1.0,
            ),
            T::Boolean => numbers(
                |a, _, out| {
                    out.extend(a.as_boolean().iter().map(|b| match b {
                        None => f64::NAN,
                        Some(b) => f64::from(u8::from(b)),
                    }))
                },
                1.0,
            ),
            T::Int8 => numbers(
                |a, per, out| push::<Int8Type>(a, per, out, |v| v as f64),
                1.0,
            ),
            T::Int16 => numbers(
                |a, per, out| push::<Int16Type>(a, per, out, |v| v as f64),
                1.0,
            ),
            T::Int32 => numbers(
                |a, per, out| push::<Int32Type>(a, per, out, |v| v as f64),
                1.0,
            ),
            T::Int64 => numbers(
                |a, per, out| push::<Int64Type>(a, per, out, |v| v as f64),
                1.0,
            ),
            T::UInt8 => numbers(
                |a, per, out| push::<UInt8Type>(a, per, out, |v| v as f64),
                1.0,
            ),
            T::UInt16 => numbers(
                |a, per, out| push::<UInt16Type>(a, per, out, |v| v as f64),
                1.0,
            ),
            T::UInt32 => numbers(
                |a, per, out| push::<UInt32Type>(a, per, out, |v| v as f64),
                1.0,
            ),
            T::UInt64 => numbers(
                |a, per, out| push::<UInt64Type>(a, per, out, |v| v as f64),
                1.0,
            ),
            T::Float16 => numbers(
                |a, per, out| push::<Float16Type>(a, per, out, |v| v.to_f64()),
                1.0,
            ),
            T::Float32 => numbers(
                |a, per, out| push::<Float32Type>(a, per, out, f64::from),
                1.0,
            ),
            T::Float64 => numbers(|a, per, out| push::<Float64Type>(a, per, out, |v| v), 1.0),
            T::Decimal128(_, scale) => numbers(
                |a, per, out| push::<Decimal128Type>(a, per, out, |v| v as f64),
                10f64.powi(i32::from(*scale)),
            ),
            T::Date32 => numbers(
                |a, per, out| push::<Date32Type>(a, per, out, |v| v as f64),
                1.0,
            ),
            T::Date64 => numbers(
                |a, per, out| push::<Date64Type>(a, per, out, |v| v as f64),
                SECONDS_PER_DAY * 1e3,
            ),
            T::Timestamp(unit, _) => numbers(
                match unit {
                    TimeUnit::Second => {
                        |a, per, out| push::<TimestampSecondType>(a, per, out, |v| v as f64)
                    }
                    TimeUnit::Millisecond => {
                        |a, per, out| push::<TimestampMillisecondType>(a, per, out, |v| v as f64)
                    }
                    TimeUnit::Microsecond => {
                        |a, per, out| push::<TimestampMicrosecondType>(a, per, out, |v| v as f64)
                    }
                    TimeUnit::Nanosecond => {
                        |a, per, out| push::<TimestampNanosecondType>(a, per, out, |v| v as f64)
                    }
                },
                SECONDS_PER_DAY * per_second(unit),
            ),
            T::Duration(unit) => numbers(
                match unit {
                    TimeUnit::Second => {
                        |a, per, out| push::<DurationSecondType>(a, per, out, |v| v as f64)
                    }
                    TimeUnit::Millisecond => {
                        |a, per, out| push::<DurationMillisecondType>(a, per, out, |v| v as f64)
                    }
                    TimeUnit::Microsecond => {
                        |a, per, out| push::<DurationMicrosecondType>(a, per, out, |v| v as f64)
                    }
                    TimeUnit::Nanosecond => {
                        |a, per, out| push::<DurationNanosecondType>(a, per, out, |v| v as f64)
                    }
                },
                per_second(unit),
            ),
            T::Utf8 | T::LargeUtf8 | T::Utf8View => Some(Reader::Text),
            T::Dictionary(_, values)
                if matches!(**values, T::Utf8 | T::LargeUtf8 | T::Utf8View) =>
            {
                Some(Reader::Text)
            }
            _ => None,
        }
    }

    /// An array's values as numbers; `None` for text.
    pub(crate) fn numbers(self, array: &dyn Array) -> Option<Vec<f64>> {
        match self {
            Reader::Numbers { push, per } => {
                let mut values = Vec::with_capacity(array.len());
                push(array, per, &mut values);
                Some(values)
            }
            Reader::Text => None,
        }
    }

    fn is_text(self) -> bool {
        matches!(self, Reader::Text)
    }
}

/// Whether columns of two types are read alike: the same type, or text either way (part
/// files may dictionary-encode a column in one and not another).
pub(crate) fn read_alike(a: &DataType, b: &DataType) -> bool {
    a == b
        || [a, b]
            .iter()
            .all(|t| Reader::of(t).is_some_and(Reader::is_text))
}

/// Appends a primitive array's values, nulls as NaN.
fn push<T: ArrowPrimitiveType>(
    a: &dyn Array,
    per: f64,
    out: &mut Vec<f64>,
    number: impl Fn(T::Native) -> f64,
) {
    let a = a.as_primitive::<T>();
    out.extend(a.iter().map(|v| v.map_or(f64::NAN, |v| number(v) / per)));
}

/// A text array's values, plain or dictionary-encoded; `None` for nulls.
pub(crate) fn labels<'a>(a: &'a dyn Array) -> Box<dyn Iterator<Item = Option<&'a str>> + 'a> {
    if let Some(d) = a.as_any_dictionary_opt() {
        let values: Vec<Option<&'a str>> = labels(d.values().as_ref()).collect();
        let keys = d.normalized_keys();
        return Box::new((0..a.len()).map(
            move |i| {
                if d.is_null(i) {
                    None
                } else {
                    values[keys[i]]
                }
            },
        ));
    }
    match a.data_type() {
        DataType::Utf8 => Box::new(a.as_string::<i32>().iter()),
        DataType::LargeUtf8 => Box::new(a.as_string::<i64>().iter()),
        // `Reader::of` admits no other type as text.
        _ => Box::new(a.as_string_view().iter()),
    }
}

/// The columns of a data set, collected batch by batch: numbers are converted as each batch
/// arrives (so its numeric arrays can be freed), text is kept as Arrow arrays until the end,
/// when each text column becomes a factor over all its rows (its levels need them all).
pub(crate) struct Columns {
    names: Vec<String>,
    readers: Vec<Reader>,
    /// Per column: its numbers so far (empty for text).
    numbers: Vec<Vec<f64>>,
    /// Per column: its text arrays so far (empty for numbers).
    text: Vec<Vec<ArrayRef>>,
}

impl Columns {
    /// For batches of `schema`: a column of a type no model can use is refused before any
    /// data is read.
    pub(crate) fn new(schema: &Schema, path: &str) -> Result<Columns, ReadError> {
        let readers = schema
            .fields()
            .iter()
            .map(|f| reader_of(f.name(), f.data_type(), path))
            .collect::<Result<Vec<Reader>, ReadError>>()?;
        Ok(Columns {
            names: schema.fields().iter().map(|f| f.name().clone()).collect(),
            numbers: vec![Vec::new(); readers.len()],
            text: vec![Vec::new(); readers.len()],
            readers,
        })
    }

    pub(crate) fn push(&mut self, batch: &RecordBatch) {
        for (j, reader) in self.readers.iter().enumerate() {
            match *reader {
                Reader::Numbers { push, per } => {
                    push(batch.column(j).as_ref(), per, &mut self.numbers[j])
                }
                Reader::Text => self.text[j].push(batch.column(j).clone()),
            }
        }
    }

    pub(crate) fn finish(self) -> Vec<(String, Column)> {
        let columns = self.numbers.into_iter().zip(self.text);
        self.names
            .into_iter()
            .zip(self.readers)
            .zip(columns)
            .map(|((name, reader), (numbers, text))| {
                let column = match reader {
                    Reader::Numbers { .. } => Column::Numeric(numbers),
                    Reader::Text => Column::Factor(Factor::from_labels(
                        text.iter().flat_map(|a| labels(a.as_ref())),
                    )),
                };
                (name, column)
            })
            .collect()
    }
}

/// The reader of a column, or the error naming it.
pub(crate) fn reader_of(name: &str, data_type: &DataType, path: &str) -> Result<Reader, ReadError> {
    Reader::of(data_type).ok_or_else(|| ReadError::UnsupportedType {
        path: path.into(),
        column: name.into(),
        data_type: data_type.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{BooleanArray, DictionaryArray, Int32Array, StringArray};
    use arrow_schema::Field;
    use std::sync::Arc;

    #[test]
    fn types_map_to_numbers_and_factors() {
        let dict: DictionaryArray<Int32Type> = vec![Some("b"), None, Some("a"), Some("b")]
            .into_iter()
            .collect();
        let schema = Schema::new(vec![
            Field::new("n", DataType::Int32, true),
            Field::new("flag", DataType::Boolean, true),
            Field::new("g", dict.data_type().clone(), true),
            Field::new("s", DataType::Utf8, true),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema.clone()),
            vec![
                Arc::new(Int32Array::from(vec![Some(1), None, Some(3), Some(4)])),
                Arc::new(BooleanArray::from(vec![
                    Some(true),
                    Some(false),
                    None,
                    Some(true),
                ])),
                Arc::new(dict),
                Arc::new(StringArray::from(vec![
                    Some("x"),
                    Some("y"),
                    None,
                    Some("x"),
                ])),
            ],
        )
        .unwrap();
        let mut collected = Columns::new(&schema, "t").unwrap();
        collected.push(&batch);
        collected.push(&batch);
        let cols = collected.finish();
        match &cols[0].1 {
            Column::Numeric(v) => assert_eq!(v[..3].iter().filter(|x| x.is_nan()).count(), 1),
            _ => panic!("n is numeric"),
        }
        match &cols[1].1 {
            Column::Numeric(v) => assert_eq!((v[0], v[1]), (1.0, 0.0)),
            _ => panic!("booleans are 0/1"),
        }
        match &cols[2].1 {
            Column::Factor(f) => {
                assert_eq!(f.levels, ["a", "b"]);
                assert_eq!(f.codes[..4], [1, mixspec_engine::data::NA_CODE, 0, 1]);
                assert_eq!(f.codes.len(), 8);
            }
            _ => panic!("a dictionary of text is a factor"),
        }
        assert!(matches!(cols[3].1, Column::Factor(_)));
    }

    #[test]
    fn dates_are_days_and_durations_seconds() {
        let days = Reader::of(&DataType::Timestamp(TimeUnit::Millisecond, None)).unwrap();
        let Reader::Numbers { per, .. } = days else {
            panic!()
        };
        assert_eq!(per, 86_400_000.0);
        let Some(Reader::Numbers { per, .. }) =
            Reader::of(&DataType::Duration(TimeUnit::Microsecond))
        else {
            panic!()
        };
        assert_eq!(per, 1e6);
        assert!(Reader::of(&DataType::Binary).is_none());
    }
}
