//! A whole cohort, laid out in long format: one row per patient and assessment occasion,
//! as engine columns (for fitting in memory) or CSV text (for files), from one layout.

use std::io::Write;

use mixspec_engine::{Column, DataFrame, Factor};
use rayon::prelude::*;

use crate::error::SimulateError;
use crate::params::Params;
use crate::patient::{self, Patient};

#[derive(Debug, Clone)]
pub struct Cohort {
    pub patients: Vec<Patient>,
}

/// Simulates `patients` patients. Patient k depends only on (params, seed, k), so the
/// result does not depend on the number of threads.
pub fn simulate(params: &Params, patients: usize, seed: u64) -> Result<Cohort, SimulateError> {
    if patients == 0 {
        return Err(SimulateError::NoPatients);
    }
    let patients = (0..patients)
        .into_par_iter()
        .map(|k| patient::draw(params, seed, k))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Cohort { patients })
}

/// The columns written; `latent` adds the latent WAI subscale values (`TASKS_latent`,
/// `GOALS_latent`, `BONDS_latent`) that the items were drawn around.
pub fn column_names(latent: bool) -> Vec<String> {
    let mut names: Vec<String> = ["patient", "months", "version"].map(String::from).to_vec();
    names.extend((1..=12).map(|i| format!("wai{i}")));
    names.push("gaf".into());
    names.extend((1..=5).map(|i| format!("wsas{i}")));
    names.extend((1..=18).map(|i| format!("bsi{i}")));
    names.extend(
        [
            "age",
            "female",
            "paranoid_pd",
            "mood_disorder",
            "no_work_study",
            "completed_as_planned",
            "anxiety_disorder",
            "substance_abuse",
            "avoidant_pd",
            "n_pd",
            "pd_traits",
            "sipp_self_control",
            "sipp_identity",
            "sipp_relational",
            "sipp_responsibility",
            "sipp_social",
            "eq5d_mo",
            "eq5d_sc",
            "eq5d_ua",
            "eq5d_pd",
            "eq5d_ad",
        ]
        .map(String::from),
    );
    if latent {
        names.extend(["TASKS_latent", "GOALS_latent", "BONDS_latent"].map(String::from));
    }
    names
}

impl Cohort {
    /// Patient identifiers, zero-padded so that text order is patient order.
    fn ids(&self) -> Vec<String> {
        let width = self.patients.len().to_string().len();
        (1..=self.patients.len())
            .map(|k| format!("P{k:0width$}"))
            .collect()
    }

    /// The therapist labels (`T1`, `T2`, … zero-padded so that text order is therapist
    /// order), one per therapist, when the cohort has therapists: the last column.
    fn therapist_ids(&self) -> Option<Vec<String>> {
        let count = self.patients.iter().filter_map(|p| p.therapist).max()? + 1;
        let width = count.to_string().len();
        Some((1..=count).map(|t| format!("T{t:0width$}")).collect())
    }

    /// Every row's numeric cells (NaN = empty) in `column_names` order, without `patient`
    /// and `version`; with the patient index and WAI form of the row.
    fn rows(
        &self,
        latent: bool,
    ) -> impl Iterator<Item = (usize, Option<&'static str>, Vec<f64>)> + '_ {
        self.patients.iter().enumerate().flat_map(move |(k, p)| {
            let c = &p.characteristics;
            let flag = |b: bool| if b { 1.0 } else { 0.0 };
            let per_patient = [
                c.age,
                flag(c.female),
                flag(c.paranoid_pd),
                flag(c.mood_disorder),
                flag(c.no_work_study),
                flag(p.completed),
                flag(c.anxiety_disorder),
                flag(c.substance_abuse),
                flag(c.avoidant_pd),
                c.n_pd,
                c.pd_traits,
            ];
            p.occasions.iter().map(move |o| {
                let mut cells = vec![o.months];
                push_items(&mut cells, o.wai.as_ref().map(|x| &x[..]), 12);
                cells.push(o.gaf.map_or(f64::NAN, f64::from));
                push_items(&mut cells, o.wsas.as_ref().map(|x| &x[..]), 5);
                push_items(&mut cells, o.bsi.as_ref().map(|x| &x[..]), 18);
                cells.extend(per_patient);
                cells.extend(c.sipp);
                push_items(&mut cells, o.eq5d.as_ref().map(|x| &x[..]), 5);
                if latent {
                    cells.extend(o.wai_latent.unwrap_or([f64::NAN; 3]));
                }
                (k, o.version.map(|v| v.label()), cells)
            })
        })
    }

    /// The cohort as an in-memory data set, as `read_csv` would read the CSV file.
    pub fn to_data_frame(&self, latent: bool) -> DataFrame {
        let names = column_names(latent);
        let ids = self.ids();
        let mut patient = Vec::new();
        let mut version = Vec::new();
        let mut numeric: Vec<Vec<f64>> = vec![Vec::new(); names.len() - 2];
        for (k, v, cells) in self.rows(latent) {
            patient.push(k);
            version.push(v);
            for (column, x) in numeric.iter_mut().zip(cells) {
                column.push(x);
            }
        }
        let mut columns = vec![(
            names[0].clone(),
            Column::Factor(Factor::from_labels(
                patient.iter().map(|&k| Some(ids[k].as_str())),
            )),
        )];
        let mut numeric = numeric.into_iter();
        columns.push((
            names[1].clone(),
            Column::Numeric(numeric.next().expect("months")),
        ));
        columns.push((
            names[2].clone(),
            Column::Factor(Factor::from_labels(version.iter().copied())),
        ));
        columns.extend(names[3..].iter().cloned().zip(numeric.map(Column::Numeric)));
        if let Some(therapists) = self.therapist_ids() {
            let labels = self.rows(latent).map(|(k, ..)| {
                let t = self.patients[k].therapist.expect("every patient has one");
                Some(therapists[t].as_str())
            });
            columns.push((
                "therapist".to_string(),
                Column::Factor(Factor::from_labels(labels)),
            ));
        }
        DataFrame::new("<simulated>", columns)
    }

    /// Writes the cohort as CSV: a header row, empty cells for missing values, numbers in
    /// Rust's shortest round-trip form (integers without a decimal point).
    pub fn write_csv(&self, latent: bool, out: &mut dyn Write) -> std::io::Result<()> {
        let ids = self.ids();
        let therapists = self.therapist_ids();
        let mut header = column_names(latent).join(",");
        if therapists.is_some() {
            header.push_str(",therapist");
        }
        writeln!(out, "{header}")?;
        let mut line = String::new();
        for (k, version, cells) in self.rows(latent) {
            line.clear();
            line.push_str(&ids[k]);
            line.push(',');
            push_number(&mut line, cells[0]);
            line.push(',');
            line.push_str(version.unwrap_or(""));
            for &x in &cells[1..] {
                line.push(',');
                push_number(&mut line, x);
            }
            if let (Some(ids), Some(t)) = (&therapists, self.patients[k].therapist) {
                line.push(',');
                line.push_str(&ids[t]);
            }
            line.push('\n');
            out.write_all(line.as_bytes())?;
        }
        Ok(())
    }
}

fn push_items(cells: &mut Vec<f64>, items: Option<&[u8]>, n: usize) {
    match items {
        Some(items) => cells.extend(items.iter().map(|&x| f64::from(x))),
        None => cells.extend(std::iter::repeat_n(f64::NAN, n)),
    }
}

/// Appends a cell: empty for missing, integers without a decimal point (as the engine's
/// `format_number`), others in Rust's shortest round-trip form. Written into the line
/// buffer, since a cohort of 100,000 patients has tens of millions of cells.
fn push_number(line: &mut String, x: f64) {
    use std::fmt::Write as _;
    if x.is_nan() {
        return;
    }
    let written = if x == x.trunc() && x.abs() < 1e15 {
        write!(line, "{}", x as i64)
    } else {
        write!(line, "{x}")
    };
    written.expect("writing to a String cannot fail");
}
