//! Test vectors that plugins carry with them, run by `mixspec plugins test`.

use mixspec_engine::{Column, DataFrame};

/// Tests compare to 1e-9 unless they say otherwise.
pub(crate) const TOLERANCE: f64 = 1e-9;

/// Input columns and the expected output columns of one test.
pub(crate) struct TestVector {
    pub inputs: Vec<Vec<f64>>,
    pub expected: Vec<(String, Vec<Expected>)>,
    /// Largest accepted difference, relative to the expected value when that exceeds 1.
    pub tolerance: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expected {
    Number(f64),
    Missing,
    Label(String),
}

impl TestVector {
    /// Checks that there is one input column per name, all of one non-zero length, and that
    /// each expected column has that length too.
    pub fn new(
        names: &[String],
        inputs: Vec<Vec<f64>>,
        expected: Vec<(String, Vec<Expected>)>,
        tolerance: f64,
    ) -> Result<TestVector, String> {
        if inputs.len() != names.len() {
            return Err(format!(
                "a test needs {} input columns, one for each of {}; it has {}",
                names.len(),
                names.join(", "),
                inputs.len()
            ));
        }
        let rows = inputs.first().map_or(0, Vec::len);
        if rows == 0 || inputs.iter().any(|c| c.len() != rows) {
            return Err("a test's input columns must have the same, non-zero length".into());
        }
        if expected.is_empty() {
            return Err("a test must expect at least one output".into());
        }
        if let Some((name, _)) = expected.iter().find(|(_, e)| e.len() != rows) {
            return Err(format!(
                "expected `{name}` must have {rows} values, one per row"
            ));
        }
        if tolerance.is_nan() || tolerance < 0.0 {
            return Err("a tolerance must be a non-negative number".into());
        }
        Ok(TestVector {
            inputs,
            expected,
            tolerance,
        })
    }

    /// The inputs as a data set, columns named as given.
    pub fn data(&self, names: &[String]) -> DataFrame {
        let columns = names
            .iter()
            .zip(&self.inputs)
            .map(|(n, c)| (n.clone(), Column::Numeric(c.clone())))
            .collect();
        DataFrame::new("test vector", columns)
    }

    /// The first expected value the outputs miss, if any.
    pub fn check(&self, outputs: &[(String, Column)]) -> Result<(), String> {
        for (name, expected) in &self.expected {
            let Some((_, column)) = outputs.iter().find(|(n, _)| n == name) else {
                return Err(format!("no output `{name}`"));
            };
            for (row, e) in expected.iter().enumerate() {
                let got = value(column, row);
                let ok = match (e, &got) {
                    (Expected::Number(e), Expected::Number(g)) => {
                        (g - e).abs() <= self.tolerance * e.abs().max(1.0)
                    }
                    (e, g) => e == g,
                };
                if !ok {
                    return Err(format!(
                        "row {}: `{name}` is {}, expected {}",
                        row + 1,
                        show(&got),
                        show(e)
                    ));
                }
            }
        }
        Ok(())
    }
}

fn value(column: &Column, row: usize) -> Expected {
    match column {
        _ if column.is_missing(row) => Expected::Missing,
        Column::Numeric(v) => Expected::Number(v[row]),
        Column::Factor(f) => Expected::Label(f.levels[f.codes[row] as usize].clone()),
    }
}

fn show(e: &Expected) -> String {
    match e {
        Expected::Number(x) => format!("{x}"),
        Expected::Missing => "missing".into(),
        Expected::Label(l) => format!("`{l}`"),
    }
}

/// Runs each test, numbering failures from 1.
pub(crate) fn run_each(
    tests: &[TestVector],
    run: impl Fn(&TestVector) -> Result<(), String>,
) -> Vec<Result<(), String>> {
    tests
        .iter()
        .enumerate()
        .map(|(i, t)| run(t).map_err(|e| format!("test {}: {e}", i + 1)))
        .collect()
}
