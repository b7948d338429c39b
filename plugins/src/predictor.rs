//! Predictors: a model variable derived from other columns, per observation or per subject.

use crate::batch::BatchFunction;
use crate::testing::{self, Expected, TestVector};
use crate::{columns, About, PluginError};
use mixspec_engine::data::NA_CODE;
use mixspec_engine::{Column, DataFrame};

/// How the rows are handed to the predictor's function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Per {
    /// One call over all rows.
    Row,
    /// One call per subject with that subject's rows, in data order; the function sees a
    /// subject's whole history (for a baseline, a subject mean, a change score).
    Subject,
}

pub struct Predictor {
    about: About,
    inputs: Vec<String>,
    per: Per,
    function: Box<dyn BatchFunction>,
    tests: Vec<TestVector>,
}

impl Predictor {
    pub(crate) fn new(
        about: About,
        inputs: Vec<String>,
        per: Per,
        function: Box<dyn BatchFunction>,
    ) -> Result<Predictor, String> {
        if inputs.is_empty() {
            return Err("a predictor needs at least one input column".into());
        }
        if let Some(dup) = inputs
            .iter()
            .enumerate()
            .find(|(i, x)| inputs[..*i].contains(x))
        {
            return Err(format!("input `{}` is listed twice", dup.1));
        }
        Ok(Predictor {
            about,
            inputs,
            per,
            function,
            tests: Vec::new(),
        })
    }

    pub fn about(&self) -> &About {
        &self.about
    }

    /// Names of the inputs, in the order `derive` takes their columns.
    pub fn inputs(&self) -> &[String] {
        &self.inputs
    }

    pub fn per(&self) -> Per {
        self.per
    }

    /// Derives the predictor from the data columns `columns`, bound in order to the declared
    /// inputs. A per-subject predictor needs the `subject` column; rows without a subject get
    /// a missing value.
    pub fn derive(
        &self,
        data: &DataFrame,
        columns: &[&str],
        subject: Option<&str>,
    ) -> Result<Column, PluginError> {
        let id = &self.about.id;
        if columns.len() != self.inputs.len() {
            return Err(PluginError::Arity {
                plugin: id.clone(),
                expected: self.inputs.len(),
                found: columns.len(),
            });
        }
        let inputs = columns
            .iter()
            .map(|c| columns::numeric(id, data, c))
            .collect::<Result<Vec<_>, _>>()?;
        let values = match self.per {
            Per::Row => self.call(&inputs)?,
            Per::Subject => {
                let subject =
                    subject.ok_or_else(|| PluginError::NoSubject { plugin: id.clone() })?;
                let groups = columns::groups(id, data, subject)?;
                let mut rows_of = vec![Vec::new(); groups.levels.len()];
                for (row, &code) in groups.codes.iter().enumerate() {
                    if code != NA_CODE {
                        rows_of[code as usize].push(row);
                    }
                }
                let mut values = vec![f64::NAN; data.n_rows()];
                for rows in rows_of.iter().filter(|r| !r.is_empty()) {
                    let subset: Vec<Vec<f64>> = inputs
                        .iter()
                        .map(|c| rows.iter().map(|&r| c[r]).collect())
                        .collect();
                    let subset: Vec<&[f64]> = subset.iter().map(Vec::as_slice).collect();
                    for (&row, v) in rows.iter().zip(self.call(&subset)?) {
                        values[row] = v;
                    }
                }
                values
            }
        };
        Ok(Column::Numeric(values))
    }

    fn call(&self, inputs: &[&[f64]]) -> Result<Vec<f64>, PluginError> {
        Ok(self.function.call(inputs, 1)?.swap_remove(0))
    }

    /// A test: one column per input (NaN = missing) for one call, and the expected output.
    pub(crate) fn add_test(
        &mut self,
        inputs: Vec<Vec<f64>>,
        expected: Vec<Expected>,
        tolerance: f64,
    ) -> Result<(), String> {
        let expected = vec![(self.about.id.clone(), expected)];
        let test = TestVector::new(&self.inputs, inputs, expected, tolerance)?;
        self.tests.push(test);
        Ok(())
    }

    pub(crate) fn run_tests(&self) -> Vec<Result<(), String>> {
        testing::run_each(&self.tests, |t| {
            let inputs: Vec<&[f64]> = t.inputs.iter().map(Vec::as_slice).collect();
            let output = self.call(&inputs).map_err(|e| e.to_string())?;
            t.check(&[(self.about.id.clone(), Column::Numeric(output))])
        })
    }
}
