//! The simulator's parameters: a complete TOML file, whose commented default
//! (`params.toml`) is compiled in so that `--print-params` shows exactly what runs.

use serde::Deserialize;

use crate::error::ParamsError;

/// The default parameters, with the comments that document them.
pub const DEFAULT_TOML: &str = include_str!("../params.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub cohort: Cohort,
    pub treatment: Treatment,
    pub schedule: Schedule,
    pub wai: Wai,
    pub gaf: Trajectory,
    pub wsas: Trajectory,
    pub bsi: Trajectory,
    pub baseline: Baseline,
    /// Optional, so that parameter files written before therapists existed still read:
    /// without it there are none.
    #[serde(default)]
    pub therapists: Therapists,
}

/// Patients nested in therapists, each therapist shifting the latent WAI subscales of their
/// patients by a random intercept and slope (`params.toml`). With `count = 0` (the default)
/// there are none, and the cohort is what it was without them, bit for bit.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Therapists {
    /// Number of therapists; patient k (from 1) is seen by therapist ((k − 1) mod count) + 1.
    pub count: usize,
    pub sd_intercept: f64,
    pub sd_slope: f64,
    pub correlation: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cohort {
    pub good_share: f64,
    pub gaf_threshold: f64,
    pub admission_first: f64,
    pub admission_last: f64,
    pub version_switch: f64,
    pub age_center: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Treatment {
    pub completed_good: f64,
    pub completed_poor: f64,
    pub completer_full: f64,
    pub completer_min: f64,
    pub dropout_early: f64,
    pub noncompleter_max: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    pub months: Vec<f64>,
    pub discharge_month: f64,
    pub wai_response: f64,
    pub wai_concentration: f64,
    pub wai_decline: f64,
    pub wai_final: f64,
    pub gaf_missing_interim: f64,
    pub gaf_missing_final: f64,
    pub questionnaires_missing_interim: f64,
    pub questionnaires_missing_final: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wai {
    pub tasks: Trajectory,
    pub goals: Trajectory,
    pub bonds: Trajectory,
}

/// One measure's generating model (see `params.toml` for the equation).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trajectory {
    pub intercept: f64,
    pub slope: f64,
    pub mood_intercept: f64,
    pub poor_slope: f64,
    pub poor_paranoid_slope: f64,
    pub age_slope: f64,
    pub noncompleted_slope: f64,
    pub sd_intercept: f64,
    pub sd_slope: f64,
    pub correlation: f64,
    pub sd_residual: f64,
    pub sd_item: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub good: GroupBaseline,
    pub poor: GroupBaseline,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Normal {
    pub mean: f64,
    pub sd: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupBaseline {
    pub age: Normal,
    pub female: f64,
    pub no_work_study: f64,
    pub paranoid_pd: f64,
    pub mood_disorder: f64,
    pub anxiety_disorder: f64,
    pub substance_abuse: f64,
    pub avoidant_pd: f64,
    pub n_pd: f64,
    pub pd_traits: Normal,
    pub sipp_self_control: Normal,
    pub sipp_identity: Normal,
    pub sipp_relational: Normal,
    pub sipp_responsibility: Normal,
    pub sipp_social: Normal,
    pub eq5d_mo: [f64; 3],
    pub eq5d_sc: [f64; 3],
    pub eq5d_ua: [f64; 3],
    pub eq5d_pd: [f64; 3],
    pub eq5d_ad: [f64; 3],
}

impl Default for Params {
    fn default() -> Self {
        Params::from_toml(DEFAULT_TOML, "params.toml").expect("the bundled parameters are valid")
    }
}

impl Params {
    /// Parses and checks a parameter file; `source` names it in errors.
    pub fn from_toml(text: &str, source: &str) -> Result<Params, ParamsError> {
        let params: Params =
            toml::from_str(text).map_err(|e| ParamsError::syntax(e, text, source))?;
        params
            .validate()
            .map_err(|(key, value, rule)| ParamsError::Invalid {
                source_name: source.to_string(),
                key,
                value,
                rule,
            })?;
        Ok(params)
    }

    /// Every value the generator relies on, checked with the key it came from: a draw
    /// from an impossible distribution would otherwise panic or silently produce nonsense.
    fn validate(&self) -> Result<(), (String, String, &'static str)> {
        let mut check = Checker::default();
        let c = &self.cohort;
        check.share("cohort.good_share", c.good_share);
        check.finite("cohort.gaf_threshold", c.gaf_threshold);
        check.finite("cohort.admission_first", c.admission_first);
        check.finite("cohort.version_switch", c.version_switch);
        check.finite("cohort.age_center", c.age_center);
        check.rule(
            "cohort.admission_last",
            c.admission_last,
            c.admission_last > c.admission_first,
            "must be after cohort.admission_first",
        );
        let t = &self.treatment;
        let s = &self.schedule;
        check.share("treatment.completed_good", t.completed_good);
        check.share("treatment.completed_poor", t.completed_poor);
        check.share("treatment.completer_full", t.completer_full);
        check.share("treatment.dropout_early", t.dropout_early);
        check.rule(
            "schedule.discharge_month",
            s.discharge_month,
            s.discharge_month > 6.0,
            "must be more than 6 (early drop-out means under 6 months)",
        );
        check.rule(
            "treatment.completer_min",
            t.completer_min,
            t.completer_min >= 0.0 && t.completer_min < s.discharge_month,
            "must be at least 0 and less than schedule.discharge_month",
        );
        check.rule(
            "treatment.noncompleter_max",
            t.noncompleter_max,
            t.noncompleter_max > 6.0 && t.noncompleter_max <= s.discharge_month,
            "must be more than 6 and at most schedule.discharge_month",
        );
        for (i, &m) in s.months.iter().enumerate() {
            let ordered = i == 0 || m > s.months[i - 1];
            check.rule(
                &format!("schedule.months[{i}]"),
                m,
                m > 0.0 && m < s.discharge_month && ordered,
                "months must increase, after 0 and before schedule.discharge_month",
            );
        }
        check.rule(
            "schedule.wai_response",
            s.wai_response,
            s.wai_response > 0.0 && s.wai_response < 1.0,
            "must be strictly between 0 and 1",
        );
        check.rule(
            "schedule.wai_concentration",
            s.wai_concentration,
            s.wai_concentration > 0.0 && s.wai_concentration.is_finite(),
            "must be positive",
        );
        check.share("schedule.wai_decline", s.wai_decline);
        check.share("schedule.wai_final", s.wai_final);
        check.share("schedule.gaf_missing_interim", s.gaf_missing_interim);
        check.share("schedule.gaf_missing_final", s.gaf_missing_final);
        check.share(
            "schedule.questionnaires_missing_interim",
            s.questionnaires_missing_interim,
        );
        check.share(
            "schedule.questionnaires_missing_final",
            s.questionnaires_missing_final,
        );
        for (name, tr) in [
            ("wai.tasks", &self.wai.tasks),
            ("wai.goals", &self.wai.goals),
            ("wai.bonds", &self.wai.bonds),
            ("gaf", &self.gaf),
            ("wsas", &self.wsas),
            ("bsi", &self.bsi),
        ] {
            check.trajectory(name, tr);
        }
        let th = &self.therapists;
        check.rule(
            "therapists.count",
            th.count as f64,
            th.count <= 1_000_000,
            "must be at most 1,000,000",
        );
        check.rule(
            "therapists.sd_intercept",
            th.sd_intercept,
            th.sd_intercept >= 0.0,
            "must be 0 or more",
        );
        check.rule(
            "therapists.sd_slope",
            th.sd_slope,
            th.sd_slope >= 0.0,
            "must be 0 or more",
        );
        check.rule(
            "therapists.correlation",
            th.correlation,
            th.correlation.abs() <= 1.0,
            "must be a correlation, −1 to 1",
        );
        check.group("baseline.good", &self.baseline.good);
        check.group("baseline.poor", &self.baseline.poor);
        check.first.map_or(Ok(()), Err)
    }
}

/// Collects the first failed check (key, value, rule).
#[derive(Default)]
struct Checker {
    first: Option<(String, String, &'static str)>,
}

impl Checker {
    fn rule(&mut self, key: &str, value: f64, ok: bool, rule: &'static str) {
        if self.first.is_none() && !(ok && value.is_finite()) {
            self.first = Some((key.to_string(), value.to_string(), rule));
        }
    }

    fn finite(&mut self, key: &str, value: f64) {
        self.rule(key, value, true, "must be a finite number");
    }

    fn share(&mut self, key: &str, value: f64) {
        self.rule(
            key,
            value,
            (0.0..=1.0).contains(&value),
            "must be a probability, 0 to 1",
        );
    }

    fn sd(&mut self, key: &str, value: f64) {
        self.rule(
            key,
            value,
            value >= 0.0,
            "must be a standard deviation, 0 or more",
        );
    }

    fn trajectory(&mut self, name: &str, t: &Trajectory) {
        for (key, v) in [
            ("intercept", t.intercept),
            ("slope", t.slope),
            ("mood_intercept", t.mood_intercept),
            ("poor_slope", t.poor_slope),
            ("poor_paranoid_slope", t.poor_paranoid_slope),
            ("age_slope", t.age_slope),
            ("noncompleted_slope", t.noncompleted_slope),
        ] {
            self.finite(&format!("{name}.{key}"), v);
        }
        for (key, v) in [
            ("sd_intercept", t.sd_intercept),
            ("sd_slope", t.sd_slope),
            ("sd_residual", t.sd_residual),
            ("sd_item", t.sd_item),
        ] {
            self.sd(&format!("{name}.{key}"), v);
        }
        self.rule(
            &format!("{name}.correlation"),
            t.correlation,
            t.correlation > -1.0 && t.correlation < 1.0,
            "must be strictly between -1 and 1",
        );
    }

    fn group(&mut self, name: &str, g: &GroupBaseline) {
        for (key, v) in [
            ("female", g.female),
            ("no_work_study", g.no_work_study),
            ("paranoid_pd", g.paranoid_pd),
            ("mood_disorder", g.mood_disorder),
            ("anxiety_disorder", g.anxiety_disorder),
            ("substance_abuse", g.substance_abuse),
            ("avoidant_pd", g.avoidant_pd),
        ] {
            self.share(&format!("{name}.{key}"), v);
        }
        self.rule(
            &format!("{name}.n_pd"),
            g.n_pd,
            // At most the DSM's ten: a mean past about 1.8e19 also stops the Poisson draw.
            (1.0..=10.0).contains(&g.n_pd),
            "must be a mean number of personality disorders, 1 to 10",
        );
        for (key, n) in [
            ("age", g.age),
            ("pd_traits", g.pd_traits),
            ("sipp_self_control", g.sipp_self_control),
            ("sipp_identity", g.sipp_identity),
            ("sipp_relational", g.sipp_relational),
            ("sipp_responsibility", g.sipp_responsibility),
            ("sipp_social", g.sipp_social),
        ] {
            self.finite(&format!("{name}.{key}.mean"), n.mean);
            self.sd(&format!("{name}.{key}.sd"), n.sd);
        }
        for (key, p) in [
            ("eq5d_mo", g.eq5d_mo),
            ("eq5d_sc", g.eq5d_sc),
            ("eq5d_ua", g.eq5d_ua),
            ("eq5d_pd", g.eq5d_pd),
            ("eq5d_ad", g.eq5d_ad),
        ] {
            for (level, &v) in p.iter().enumerate() {
                self.share(&format!("{name}.{key}[{level}]"), v);
            }
            let total: f64 = p.iter().sum();
            self.rule(
                &format!("{name}.{key}"),
                total,
                (total - 1.0).abs() < 1e-6,
                "the three level probabilities must sum to 1",
            );
        }
    }
}
