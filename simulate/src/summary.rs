//! The design figures of a simulated cohort, computed from what an analyst would see (the
//! outcome from the last observed GAF, not from the generated group), side by side with
//! the article's: how `mixspec simulate --summary` and the tests judge a cohort.

use std::fmt;

use crate::cohort::Cohort;
use crate::patient::{Occasion, Patient, Version};

/// Mean and standard deviation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanSd {
    pub mean: f64,
    pub sd: f64,
    pub n: usize,
}

impl MeanSd {
    fn of(values: impl IntoIterator<Item = f64>) -> MeanSd {
        let v: Vec<f64> = values.into_iter().collect();
        let n = v.len();
        let mean = v.iter().sum::<f64>() / n as f64;
        let ss: f64 = v.iter().map(|x| (x - mean).powi(2)).sum();
        MeanSd {
            mean,
            sd: (ss / (n as f64 - 1.0)).sqrt(),
            n,
        }
    }
}

/// A per-patient characteristic by outcome group (Table II).
#[derive(Debug, Clone)]
pub struct GroupRow {
    pub name: &'static str,
    pub good: MeanSd,
    pub poor: MeanSd,
}

#[derive(Debug, Clone)]
pub struct Summary {
    pub patients: usize,
    /// Share with last observed GAF ≥ threshold.
    pub good: f64,
    pub wai_count: MeanSd,
    pub wai_one: f64,
    /// Of the patients with one WAI, the share whose one is within the first 12 months.
    pub wai_one_first_year: f64,
    pub wai_three_plus: f64,
    pub wai_four_plus: f64,
    pub wai_lacking_final: f64,
    pub only_s: usize,
    pub only_sr: usize,
    pub both: usize,
    pub gaf_lacking_final: usize,
    pub questionnaires_lacking_final: usize,
    pub length: MeanSd,
    pub early_dropout: f64,
    pub completed_good: f64,
    pub completed_poor: f64,
    pub gaf_baseline: MeanSd,
    pub gaf_final: MeanSd,
    pub wsas_baseline: MeanSd,
    pub wsas_final: MeanSd,
    pub bsi_baseline: MeanSd,
    pub bsi_final: MeanSd,
    pub table2: Vec<GroupRow>,
}

fn share(patients: &[&Patient], test: impl Fn(&Patient) -> bool) -> f64 {
    patients.iter().filter(|p| test(p)).count() as f64 / patients.len() as f64
}

fn at_discharge(p: &Patient, discharge: f64) -> Option<&Occasion> {
    p.occasions.iter().find(|o| o.months == discharge)
}

fn baseline(p: &Patient) -> &Occasion {
    &p.occasions[0]
}

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

fn last_gaf(p: &Patient) -> f64 {
    let last = p.occasions.iter().rev().find_map(|o| o.gaf);
    f64::from(last.expect("every patient has a baseline GAF"))
}

impl Summary {
    pub fn of(cohort: &Cohort, threshold: f64, discharge: f64) -> Summary {
        let all: Vec<&Patient> = cohort.patients.iter().collect();
        let (good, poor): (Vec<&Patient>, Vec<&Patient>) =
            all.iter().partition(|p| last_gaf(p) >= threshold);
        let wai_months = |p: &Patient| -> Vec<f64> {
            p.occasions
                .iter()
                .filter(|o| o.wai.is_some())
                .map(|o| o.months)
                .collect()
        };
        let counts = |p: &Patient| wai_months(p).len();
        let singles: Vec<&Patient> = all.iter().copied().filter(|p| counts(p) == 1).collect();
        let versions = |p: &Patient| {
            let v: Vec<Version> = p.occasions.iter().filter_map(|o| o.version).collect();
            (v.contains(&Version::Short), v.contains(&Version::Revised))
        };
        let wsas_sum = |items: &[u8; 5]| items.iter().map(|&x| f64::from(x)).sum::<f64>();
        let bsi_mean = |items: &[u8; 18]| items.iter().map(|&x| f64::from(x)).sum::<f64>() / 18.0;
        type Get = fn(&Patient) -> f64;
        let characteristics: [(&'static str, Get); 16] = [
            ("age", |p| p.characteristics.age),
            ("female", |p| flag(p.characteristics.female)),
            ("no_work_study", |p| flag(p.characteristics.no_work_study)),
            ("paranoid_pd", |p| flag(p.characteristics.paranoid_pd)),
            ("mood_disorder", |p| flag(p.characteristics.mood_disorder)),
            ("anxiety_disorder", |p| {
                flag(p.characteristics.anxiety_disorder)
            }),
            ("substance_abuse", |p| {
                flag(p.characteristics.substance_abuse)
            }),
            ("avoidant_pd", |p| flag(p.characteristics.avoidant_pd)),
            ("n_pd", |p| p.characteristics.n_pd),
            ("pd_traits", |p| p.characteristics.pd_traits),
            ("sipp_self_control", |p| p.characteristics.sipp[0]),
            ("sipp_identity", |p| p.characteristics.sipp[1]),
            ("sipp_relational", |p| p.characteristics.sipp[2]),
            ("sipp_responsibility", |p| p.characteristics.sipp[3]),
            ("sipp_social", |p| p.characteristics.sipp[4]),
            ("eq5d_index_x100", |p| {
                100.0 * eq5d_uk(&p.occasions[0].eq5d.expect("baseline EQ-5D"))
            }),
        ];
        Summary {
            patients: all.len(),
            good: good.len() as f64 / all.len() as f64,
            wai_count: MeanSd::of(all.iter().map(|p| counts(p) as f64)),
            wai_one: singles.len() as f64 / all.len() as f64,
            wai_one_first_year: share(&singles, |p| wai_months(p)[0] <= 12.0),
            wai_three_plus: share(&all, |p| counts(p) >= 3),
            wai_four_plus: share(&all, |p| counts(p) >= 4),
            wai_lacking_final: share(&all, |p| {
                at_discharge(p, discharge).and_then(|o| o.wai).is_none()
            }),
            only_s: all.iter().filter(|p| versions(p) == (true, false)).count(),
            only_sr: all.iter().filter(|p| versions(p) == (false, true)).count(),
            both: all.iter().filter(|p| versions(p) == (true, true)).count(),
            gaf_lacking_final: all
                .iter()
                .filter(|p| at_discharge(p, discharge).and_then(|o| o.gaf).is_none())
                .count(),
            questionnaires_lacking_final: all
                .iter()
                .filter(|p| at_discharge(p, discharge).and_then(|o| o.wsas).is_none())
                .count(),
            length: MeanSd::of(all.iter().map(|p| p.length)),
            early_dropout: share(&all, |p| p.length < 6.0),
            completed_good: share(&good, |p| p.completed),
            completed_poor: share(&poor, |p| p.completed),
            gaf_baseline: MeanSd::of(all.iter().filter_map(|p| baseline(p).gaf.map(f64::from))),
            gaf_final: MeanSd::of(all.iter().filter_map(|p| {
                at_discharge(p, discharge)
                    .and_then(|o| o.gaf)
                    .map(f64::from)
            })),
            wsas_baseline: MeanSd::of(
                all.iter()
                    .filter_map(|p| baseline(p).wsas.as_ref().map(wsas_sum)),
            ),
            wsas_final: MeanSd::of(all.iter().filter_map(|p| {
                at_discharge(p, discharge)
                    .and_then(|o| o.wsas.as_ref())
                    .map(wsas_sum)
            })),
            bsi_baseline: MeanSd::of(
                all.iter()
                    .filter_map(|p| baseline(p).bsi.as_ref().map(bsi_mean)),
            ),
            bsi_final: MeanSd::of(all.iter().filter_map(|p| {
                at_discharge(p, discharge)
                    .and_then(|o| o.bsi.as_ref())
                    .map(bsi_mean)
            })),
            table2: characteristics
                .iter()
                .map(|&(name, get)| GroupRow {
                    name,
                    good: MeanSd::of(good.iter().map(|p| get(p))),
                    poor: MeanSd::of(poor.iter().map(|p| get(p))),
                })
                .collect(),
        }
    }
}

/// EQ-5D-3L index, UK TTO value set (Dolan 1997), to compare with Table II's index; the
/// bundled `eq-5d-3l` instrument scores the file itself.
fn eq5d_uk(levels: &[u8; 5]) -> f64 {
    const DECREMENTS: [[f64; 2]; 5] = [
        [0.069, 0.314],
        [0.104, 0.214],
        [0.036, 0.094],
        [0.123, 0.386],
        [0.071, 0.236],
    ];
    if levels.iter().all(|&l| l == 1) {
        return 1.0;
    }
    let decrement: f64 = levels
        .iter()
        .zip(DECREMENTS)
        .map(|(&l, d)| if l > 1 { d[usize::from(l) - 2] } else { 0.0 })
        .sum();
    let any_three = if levels.contains(&3) { 0.269 } else { 0.0 };
    1.0 - 0.081 - decrement - any_three
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pct = |x: f64| format!("{:.0}%", 100.0 * x);
        let msd = |m: MeanSd| format!("{:.2} ({:.2})", m.mean, m.sd);
        let n = self.patients;
        writeln!(f, "| figure | simulated | article |")?;
        writeln!(f, "|---|---|---|")?;
        let rows: Vec<(String, String, &str)> = vec![
            ("patients".into(), n.to_string(), "155"),
            ("good outcome (last GAF ≥ 60)".into(), pct(self.good), "57%"),
            (
                "WAI assessments per patient".into(),
                msd(self.wai_count),
                "3.2 (1.8)",
            ),
            ("only one WAI".into(), pct(self.wai_one), "22%"),
            (
                "… of those, within the first year".into(),
                pct(self.wai_one_first_year),
                "53%",
            ),
            ("three or more WAI".into(), pct(self.wai_three_plus), "58%"),
            ("four or more WAI".into(), pct(self.wai_four_plus), "38%"),
            (
                "lacking the final WAI".into(),
                pct(self.wai_lacking_final),
                "48%",
            ),
            (
                "only WAI-S / only WAI-SR / both".into(),
                format!("{} / {} / {}", self.only_s, self.only_sr, self.both),
                "34 / 71 / 50",
            ),
            (
                "lacking a final GAF".into(),
                self.gaf_lacking_final.to_string(),
                "7",
            ),
            (
                "lacking a final WSAS and BSI".into(),
                self.questionnaires_lacking_final.to_string(),
                "42",
            ),
            ("treatment months".into(), msd(self.length), "27 (13)"),
            (
                "early drop-out (< 6 months)".into(),
                format!("{:.1}%", 100.0 * self.early_dropout),
                "2.5%",
            ),
            (
                "completed as planned, good / poor".into(),
                format!(
                    "{} / {}",
                    pct(self.completed_good),
                    pct(self.completed_poor)
                ),
                "91% / 58%",
            ),
            (
                "GAF admission → discharge".into(),
                format!("{} → {}", msd(self.gaf_baseline), msd(self.gaf_final)),
                "48.1 (5.5) → 61.7 (11.7)",
            ),
            (
                "WSAS admission → discharge".into(),
                format!("{} → {}", msd(self.wsas_baseline), msd(self.wsas_final)),
                "25.9 (7.9) → 13.7 (10.7)",
            ),
            (
                "BSI item mean admission → discharge".into(),
                format!("{} → {}", msd(self.bsi_baseline), msd(self.bsi_final)),
                "2.1 (0.8) → 1.2 (0.9)",
            ),
        ];
        for (what, sim, article) in rows {
            writeln!(f, "| {what} | {sim} | {article} |")?;
        }
        writeln!(f)?;
        writeln!(f, "| Table II (good vs poor) | good | poor |")?;
        writeln!(f, "|---|---|---|")?;
        for row in &self.table2 {
            writeln!(
                f,
                "| {} | {} | {} |",
                row.name,
                msd(row.good),
                msd(row.poor)
            )?;
        }
        Ok(())
    }
}
