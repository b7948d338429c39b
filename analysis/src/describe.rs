//! Descriptives of two groups with tests of their difference, one value per subject: the
//! seed study's Table II of baseline characteristics by outcome group.
//!
//! Each subject contributes its first non-missing value of a variable (at its earliest time):
//! a per-subject column is the same on every row, and a baseline measurement is the first
//! one. A variable whose values are all 0 or 1 is shown as the percentage of 1s and tested
//! with Pearson's chi-square without continuity correction (SPSS's "Pearson Chi-Square" row,
//! R's `chisq.test(correct = FALSE)`); any other number as mean (SD), tested with the
//! independent-samples t-test with pooled variance (SPSS's "equal variances assumed", R's
//! `t.test(var.equal = TRUE)`). Welch's test is computed beside it for the CSV.

use mixspec_dsl::spec::{Describe, Spec, SpecDiagnostic, SpecErrorKind};
use mixspec_engine::inference::{chi_square_upper_tail, t_two_sided_p};
use mixspec_engine::{Column, DataFrame};

use crate::prepare::eval::unknown_variable;

#[derive(Debug, Clone)]
pub struct Descriptives {
    pub name: String,
    pub by: String,
    /// The two groups' labels, in level order; differences are the first minus the second.
    pub groups: [String; 2],
    /// The groups as the table's headers show them: their level labels (`label outcome …
    /// levels "good" = "Good outcome"`), else `outcome = good`.
    pub headers: [String; 2],
    /// Subjects per group.
    pub n: [usize; 2],
    pub rows: Vec<DescribedVariable>,
}

#[derive(Debug, Clone)]
pub struct DescribedVariable {
    pub variable: String,
    pub label: String,
    /// Subjects with a value, per group.
    pub n: [usize; 2],
    pub summary: Summary,
}

#[derive(Debug, Clone)]
pub enum Summary {
    /// Mean and SD (n − 1) per group, Student's and Welch's t-tests.
    Mean {
        mean: [f64; 2],
        sd: [f64; 2],
        student: TTest,
        welch: TTest,
    },
    /// Count and percentage of 1s per group, Pearson's chi-square on one df.
    Percent {
        count: [usize; 2],
        percent: [f64; 2],
        chi_square: f64,
        p: f64,
    },
}

#[derive(Debug, Clone, Copy)]
pub struct TTest {
    pub t: f64,
    pub df: f64,
    pub p: f64,
}

impl DescribedVariable {
    /// The test's p-value, whichever test it is (Student's for means).
    pub fn p(&self) -> f64 {
        match &self.summary {
            Summary::Mean { student, .. } => student.p,
            Summary::Percent { p, .. } => *p,
        }
    }
}

/// Per unit (subject, or row without a subject column), the first non-missing value of
/// `column` over `units`' rows in order.
fn first_values(column: &Column, units: &[Vec<usize>]) -> Vec<Option<usize>> {
    units
        .iter()
        .map(|rows| rows.iter().copied().find(|&r| !column.is_missing(r)))
        .collect()
}

/// Checks a `describe` against the data and computes it. `units` are the subjects' rows,
/// earliest first.
pub(crate) fn compute(
    spec: &Spec,
    x: &Describe,
    frame: &DataFrame,
    units: &[Vec<usize>],
    unchecked: &[String],
) -> Result<Descriptives, Vec<SpecDiagnostic>> {
    let mut problems = Vec::new();
    let is_unchecked = |n: &str| unchecked.iter().any(|u| u == n);
    // Each unit's group (0 or 1), and the two groups' labels in level order.
    let groups: Option<(Vec<Option<usize>>, [String; 2])> = match frame.column(&x.by.text) {
        None => {
            if !is_unchecked(&x.by.text) {
                problems.push(unknown_variable(&x.by.text, x.by.span, frame));
            }
            None
        }
        Some(column) => {
            let factor = column.to_factor();
            let codes: Vec<Option<usize>> = first_values(column, units)
                .iter()
                .map(|r| r.map(|r| factor.codes[r] as usize))
                .collect();
            let mut present: Vec<usize> = codes.iter().flatten().copied().collect();
            present.sort_unstable();
            present.dedup();
            if let [first, second] = present[..] {
                Some((
                    codes
                        .into_iter()
                        .map(|c| c.map(|c| usize::from(c == second)))
                        .collect(),
                    [factor.levels[first].clone(), factor.levels[second].clone()],
                ))
            } else {
                let found: Vec<&str> = present.iter().map(|&c| factor.levels[c].as_str()).collect();
                problems.push(
                    SpecDiagnostic::new(
                        SpecErrorKind::Type,
                        x.by.span,
                        format!(
                            "`{}` has {} value{} among the subjects ({}); describe compares two groups",
                            x.by.text,
                            present.len(),
                            if present.len() == 1 { "" } else { "s" },
                            found.join(", ")
                        ),
                        "not two groups",
                    )
                    .help("describe by a variable with two values, e.g. `derive outcome = if last(gaf) >= 60 then \"good\" else \"poor\"`"),
                );
                None
            }
        }
    };
    let mut rows = Vec::new();
    for (i, item) in x.items.iter().enumerate() {
        if let Some(first) = x.items[..i]
            .iter()
            .find(|f| f.variable.text == item.variable.text)
        {
            problems.push(SpecDiagnostic::listed_twice(
                "",
                &item.variable,
                &first.variable,
            ));
            continue;
        }
        let values = match frame.column(&item.variable.text) {
            None => {
                if !is_unchecked(&item.variable.text) {
                    problems.push(unknown_variable(
                        &item.variable.text,
                        item.variable.span,
                        frame,
                    ));
                }
                continue;
            }
            Some(Column::Factor(_)) => {
                problems.push(
                    SpecDiagnostic::new(
                        SpecErrorKind::Type,
                        item.variable.span,
                        format!("`{}` is categorical; describe summarises numbers", item.variable.text),
                        "not numeric",
                    )
                    .help("describe a 0/1 variable for a percentage, e.g. `derive female = if sex == \"F\" then 1 else 0`"),
                );
                continue;
            }
            Some(column @ Column::Numeric(v)) => (column, v),
        };
        let Some((group_of, _)) = &groups else {
            continue;
        };
        let picked = first_values(values.0, units);
        let mut by_group: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        for (g, r) in group_of.iter().zip(&picked) {
            if let (Some(g), Some(r)) = (g, r) {
                by_group[*g].push(values.1[*r]);
            }
        }
        let n = [by_group[0].len(), by_group[1].len()];
        let summary = if by_group.iter().flatten().all(|&v| v == 0.0 || v == 1.0) {
            percent(&by_group)
        } else {
            mean(&by_group)
        };
        rows.push(DescribedVariable {
            variable: item.variable.text.clone(),
            label: item.label.as_ref().map_or_else(
                || spec.text(&item.variable.text).to_string(),
                |l| l.text.clone(),
            ),
            n,
            summary,
        });
    }
    // No groups without a problem here means `by` is a variable whose own definition failed:
    // that failure is already reported, and there is nothing to compare.
    let Some((group_of, labels)) = groups.filter(|_| problems.is_empty()) else {
        return Err(problems);
    };
    let count = |g| group_of.iter().filter(|&&c| c == Some(g)).count();
    let by = &x.by.text;
    let header = |level: &str| match spec.level_text(by, level) {
        text if text != level => text.to_string(),
        _ => format!("{} = {level}", spec.text(by)),
    };
    Ok(Descriptives {
        name: x.name.text.clone(),
        by: by.clone(),
        headers: [header(&labels[0]), header(&labels[1])],
        groups: labels,
        n: [count(0), count(1)],
        rows,
    })
}

/// Mean and sample variance.
fn moments(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var)
}

fn mean(groups: &[Vec<f64>; 2]) -> Summary {
    let (m1, v1) = moments(&groups[0]);
    let (m2, v2) = moments(&groups[1]);
    let (n1, n2) = (groups[0].len() as f64, groups[1].len() as f64);
    let pooled = ((n1 - 1.0) * v1 + (n2 - 1.0) * v2) / (n1 + n2 - 2.0);
    let student = {
        let t = (m1 - m2) / (pooled * (1.0 / n1 + 1.0 / n2)).sqrt();
        let df = n1 + n2 - 2.0;
        TTest {
            t,
            df,
            p: t_two_sided_p(t, df),
        }
    };
    let welch = {
        let (a, b) = (v1 / n1, v2 / n2);
        let t = (m1 - m2) / (a + b).sqrt();
        let df = (a + b).powi(2) / (a * a / (n1 - 1.0) + b * b / (n2 - 1.0));
        TTest {
            t,
            df,
            p: t_two_sided_p(t, df),
        }
    };
    Summary::Mean {
        mean: [m1, m2],
        sd: [v1.sqrt(), v2.sqrt()],
        student,
        welch,
    }
}

/// Pearson's X² of the 2 × 2 table of group by value, without continuity correction.
fn percent(groups: &[Vec<f64>; 2]) -> Summary {
    let ones = [0, 1].map(|g| groups[g].iter().filter(|&&v| v == 1.0).count());
    let n = [0, 1].map(|g| groups[g].len());
    let total = (n[0] + n[1]) as f64;
    let column = [
        (n[0] - ones[0] + n[1] - ones[1]) as f64,
        (ones[0] + ones[1]) as f64,
    ];
    let mut chi_square = 0.0;
    for g in 0..2 {
        let observed = [(n[g] - ones[g]) as f64, ones[g] as f64];
        for (o, c) in observed.iter().zip(column) {
            let expected = n[g] as f64 * c / total;
            chi_square += (o - expected).powi(2) / expected;
        }
    }
    Summary::Percent {
        count: ones,
        percent: [0, 1].map(|g| 100.0 * ones[g] as f64 / n[g] as f64),
        chi_square,
        p: chi_square_upper_tail(chi_square, 1.0),
    }
}
