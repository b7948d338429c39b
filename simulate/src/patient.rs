//! One simulated patient: group, baseline characteristics, treatment, which assessments
//! exist, and every item answered. Each patient draws from a random stream of their own
//! (the seed, stream = patient number), so a cohort is the same whatever the number of
//! threads, and patient k is the same in a cohort of any size.

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, StandardNormal};

use crate::error::SimulateError;
use crate::params::{GroupBaseline, Params, Trajectory};

/// How many GAF series are drawn for one patient before the outcome condition is declared
/// unreachable; with the defaults the acceptance rate is well above 1%.
const GAF_ATTEMPTS: usize = 10_000;
/// How many WAI response patterns are drawn before a patient with a tiny response
/// probability is given exactly one (uniformly chosen) assessment.
const WAI_ATTEMPTS: usize = 1_000;

/// The WAI form of an assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// WAI-S (Tracey & Kokotovic 1989), used before the switch date.
    Short,
    /// WAI-SR (Hatcher & Gillaspy 2006), used from the switch date.
    Revised,
}

impl Version {
    pub fn label(self) -> &'static str {
        match self {
            Version::Short => "S",
            Version::Revised => "SR",
        }
    }

    /// Item numbers (1-based) of the TASKS, GOALS and BONDS subscales (article Table I).
    fn subscale_items(self) -> [[usize; 4]; 3] {
        match self {
            Version::Short => [[1, 2, 8, 12], [4, 6, 10, 11], [3, 5, 7, 9]],
            Version::Revised => [[1, 2, 10, 12], [4, 6, 8, 11], [3, 5, 7, 9]],
        }
    }

    /// Negatively keyed items, stored reversed (8 − x) so that the form's scoring recovers
    /// the subscale.
    fn reversed(self) -> &'static [usize] {
        match self {
            Version::Short => &[4, 10],
            Version::Revised => &[],
        }
    }
}

/// Per-patient characteristics (article Table II), repeated on every row of the patient.
#[derive(Debug, Clone)]
pub struct Characteristics {
    pub age: f64,
    pub female: bool,
    pub no_work_study: bool,
    pub paranoid_pd: bool,
    pub mood_disorder: bool,
    pub anxiety_disorder: bool,
    pub substance_abuse: bool,
    pub avoidant_pd: bool,
    pub n_pd: f64,
    pub pd_traits: f64,
    /// SIPP-SF T-scores: self-control, identity, relational, responsibility, social.
    pub sipp: [f64; 5],
}

/// One assessment occasion: every instrument given at this time, `None` where not given
/// or missing.
#[derive(Debug, Clone)]
pub struct Occasion {
    pub months: f64,
    pub version: Option<Version>,
    pub wai: Option<[u8; 12]>,
    /// The latent TASKS, GOALS, BONDS values the WAI items were drawn around.
    pub wai_latent: Option<[f64; 3]>,
    pub gaf: Option<u8>,
    pub wsas: Option<[u8; 5]>,
    pub bsi: Option<[u8; 18]>,
    pub eq5d: Option<[u8; 5]>,
}

#[derive(Debug, Clone)]
pub struct Patient {
    pub poor: bool,
    pub completed: bool,
    /// Months in treatment (the discharge assessment is recorded at the discharge month).
    pub length: f64,
    /// Admission date, decimal years.
    pub admission: f64,
    pub characteristics: Characteristics,
    pub occasions: Vec<Occasion>,
    /// The patient's therapist (0-based), when the cohort has therapists.
    pub therapist: Option<usize>,
}

/// What a trajectory depends on besides time.
struct Covariates {
    poor: bool,
    paranoid: bool,
    mood: bool,
    completed: bool,
    age_centred: f64,
}

impl Trajectory {
    /// The fixed-effect intercept and slope for a patient.
    fn fixed(&self, c: &Covariates) -> (f64, f64) {
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        let intercept = self.intercept + self.mood_intercept * flag(c.mood);
        let slope = self.slope
            + self.poor_slope * flag(c.poor)
            + self.poor_paranoid_slope * flag(c.poor && c.paranoid)
            + self.age_slope * c.age_centred
            + self.noncompleted_slope * flag(!c.completed);
        (intercept, slope)
    }

    /// A patient's own intercept and slope: fixed part plus correlated random effects.
    fn draw_line(&self, c: &Covariates, rng: &mut ChaCha8Rng) -> (f64, f64) {
        let (a, b) = self.fixed(c);
        let z1 = normal(rng);
        let z2 = normal(rng);
        let r = self.correlation;
        (
            a + self.sd_intercept * z1,
            b + self.sd_slope * (r * z1 + (1.0 - r * r).sqrt() * z2),
        )
    }

    /// Latent values at `times`: the patient's line plus occasion residuals.
    fn draw_series(&self, c: &Covariates, times: &[f64], rng: &mut ChaCha8Rng) -> Vec<f64> {
        let (a, b) = self.draw_line(c, rng);
        times
            .iter()
            .map(|&t| a + b * t + self.sd_residual * normal(rng))
            .collect()
    }
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

fn uniform(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    let u: f64 = rand_distr::StandardUniform.sample(rng);
    lo + (hi - lo) * u
}

fn bernoulli(rng: &mut ChaCha8Rng, p: f64) -> bool {
    uniform(rng, 0.0, 1.0) < p
}

fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    if mean == 0.0 {
        return 0.0;
    }
    rand_distr::Poisson::new(mean)
        .expect("validated: a positive finite mean")
        .sample(rng)
}

/// An item response: the value rounded and clipped to the item's range.
fn item(value: f64, lo: f64, hi: f64) -> u8 {
    value.round().clamp(lo, hi) as u8
}

fn characteristics(g: &GroupBaseline, rng: &mut ChaCha8Rng) -> Characteristics {
    let n_pd = 1.0 + poisson(rng, g.n_pd - 1.0);
    let mut draw = |n: crate::params::Normal| n.mean + n.sd * normal(rng);
    let age = draw(g.age).round();
    let pd_traits = draw(g.pd_traits).round().max(0.0);
    let sipp = [
        g.sipp_self_control,
        g.sipp_identity,
        g.sipp_relational,
        g.sipp_responsibility,
        g.sipp_social,
    ]
    .map(|n| draw(n).round().max(0.0));
    Characteristics {
        age,
        n_pd,
        pd_traits,
        sipp,
        female: bernoulli(rng, g.female),
        no_work_study: bernoulli(rng, g.no_work_study),
        paranoid_pd: bernoulli(rng, g.paranoid_pd),
        mood_disorder: bernoulli(rng, g.mood_disorder),
        anxiety_disorder: bernoulli(rng, g.anxiety_disorder),
        substance_abuse: bernoulli(rng, g.substance_abuse),
        avoidant_pd: bernoulli(rng, g.avoidant_pd),
    }
}

fn eq5d(g: &GroupBaseline, rng: &mut ChaCha8Rng) -> [u8; 5] {
    [g.eq5d_mo, g.eq5d_sc, g.eq5d_ua, g.eq5d_pd, g.eq5d_ad].map(|p| {
        let u = uniform(rng, 0.0, 1.0);
        if u < p[0] {
            1
        } else if u < p[0] + p[1] {
            2
        } else {
            3
        }
    })
}

/// Which WAI forms the patient returns, at `times` (the last is discharge): each with the
/// patient's own probability, declining with time in treatment, and at least one.
fn wai_pattern(params: &Params, times: &[f64], rng: &mut ChaCha8Rng) -> Vec<bool> {
    let s = &params.schedule;
    let beta = Beta::new(
        s.wai_response * s.wai_concentration,
        (1.0 - s.wai_response) * s.wai_concentration,
    )
    .expect("validated: both shapes positive");
    let p: f64 = beta.sample(rng);
    let n = times.len();
    let chance = |k: usize| {
        if k == n - 1 {
            p * s.wai_final
        } else {
            p * s.wai_decline.powf(times[k] / 12.0)
        }
    };
    for _ in 0..WAI_ATTEMPTS {
        let pattern: Vec<bool> = (0..n).map(|k| bernoulli(rng, chance(k))).collect();
        if pattern.iter().any(|&x| x) {
            return pattern;
        }
    }
    let one = ((uniform(rng, 0.0, 1.0) * n as f64) as usize).min(n - 1);
    (0..n).map(|i| i == one).collect()
}

/// Present (true) or missing at baseline, each due month and discharge.
fn outcome_pattern(due: usize, interim: f64, last: f64, rng: &mut ChaCha8Rng) -> Vec<bool> {
    let mut pattern = vec![true];
    pattern.extend((0..due).map(|_| !bernoulli(rng, interim)));
    pattern.push(!bernoulli(rng, last));
    pattern
}

fn treatment_length(params: &Params, completed: bool, rng: &mut ChaCha8Rng) -> f64 {
    let t = &params.treatment;
    let end = params.schedule.discharge_month;
    if completed {
        if bernoulli(rng, t.completer_full) {
            end
        } else {
            uniform(rng, t.completer_min, end)
        }
    } else if bernoulli(rng, t.dropout_early) {
        uniform(rng, 0.0, 6.0)
    } else {
        uniform(rng, 6.0, t.noncompleter_max)
    }
}

/// Draws patient `index` (0-based) of a cohort.
pub fn draw(params: &Params, seed: u64, index: usize) -> Result<Patient, SimulateError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index as u64);
    let rng = &mut rng;

    let poor = !bernoulli(rng, params.cohort.good_share);
    let group = if poor {
        &params.baseline.poor
    } else {
        &params.baseline.good
    };
    let characteristics = characteristics(group, rng);
    let baseline_eq5d = eq5d(group, rng);
    let t = &params.treatment;
    let completed = bernoulli(
        rng,
        if poor {
            t.completed_poor
        } else {
            t.completed_good
        },
    );
    let length = treatment_length(params, completed, rng);
    let admission = uniform(
        rng,
        params.cohort.admission_first,
        params.cohort.admission_last,
    );

    let covariates = Covariates {
        poor,
        paranoid: characteristics.paranoid_pd,
        mood: characteristics.mood_disorder,
        completed,
        age_centred: characteristics.age - params.cohort.age_center,
    };

    // Occasions: baseline, the due months before discharge, discharge.
    let s = &params.schedule;
    let due: Vec<f64> = s.months.iter().copied().filter(|&m| m < length).collect();
    let mut times = vec![0.0];
    times.extend(&due);
    times.push(s.discharge_month);
    let n = times.len();
    // The calendar date of each occasion decides the WAI form: the discharge assessment
    // happens when treatment ends, whatever month it is recorded at.
    let date = |k: usize| {
        let months = if k == n - 1 { length } else { times[k] };
        admission + months / 12.0
    };

    let wai_given = wai_pattern(params, &times[1..], rng);
    let gaf_given = outcome_pattern(due.len(), s.gaf_missing_interim, s.gaf_missing_final, rng);
    let questionnaires_given = outcome_pattern(
        due.len(),
        s.questionnaires_missing_interim,
        s.questionnaires_missing_final,
        rng,
    );

    // WAI: the three subscales' latent series at every WAI occasion (baseline has none).
    let wai_times = &times[1..];
    let mut latent: Vec<Vec<f64>> = [&params.wai.tasks, &params.wai.goals, &params.wai.bonds]
        .iter()
        .map(|tr| tr.draw_series(&covariates, wai_times, rng))
        .collect();
    let therapist = (params.therapists.count > 0).then(|| index % params.therapists.count);
    if let Some(t) = therapist {
        for (series, (a, b)) in latent.iter_mut().zip(therapist_lines(params, seed, t)) {
            for (value, &months) in series.iter_mut().zip(wai_times) {
                *value += a + b * months;
            }
        }
    }
    let mut wai = vec![None; n];
    let mut wai_latent = vec![None; n];
    let mut versions = vec![None; n];
    for k in 1..n {
        if !wai_given[k - 1] {
            continue;
        }
        let version = if date(k) < params.cohort.version_switch {
            Version::Short
        } else {
            Version::Revised
        };
        let values = [latent[0][k - 1], latent[1][k - 1], latent[2][k - 1]];
        let sds = [
            params.wai.tasks.sd_item,
            params.wai.goals.sd_item,
            params.wai.bonds.sd_item,
        ];
        let mut items = [0u8; 12];
        for (scale, numbers) in version.subscale_items().iter().enumerate() {
            for &number in numbers {
                items[number - 1] = item(values[scale] + sds[scale] * normal(rng), 1.0, 7.0);
            }
        }
        for &number in version.reversed() {
            items[number - 1] = 8 - items[number - 1];
        }
        wai[k] = Some(items);
        wai_latent[k] = Some(values);
        versions[k] = Some(version);
    }

    let gaf = draw_gaf(params, &covariates, &times, &gaf_given, index, rng)?;

    let given_times: Vec<f64> = times
        .iter()
        .zip(&questionnaires_given)
        .filter(|(_, &g)| g)
        .map(|(&t, _)| t)
        .collect();
    let wsas_latent = params.wsas.draw_series(&covariates, &given_times, rng);
    let bsi_latent = params.bsi.draw_series(&covariates, &given_times, rng);
    let mut wsas = vec![None; n];
    let mut bsi = vec![None; n];
    let given = (0..n).filter(|&k| questionnaires_given[k]);
    for (j, k) in given.enumerate() {
        let per_item = wsas_latent[j] / 5.0;
        wsas[k] =
            Some([(); 5].map(|()| item(per_item + params.wsas.sd_item * normal(rng), 0.0, 8.0)));
        bsi[k] = Some(
            [(); 18].map(|()| item(bsi_latent[j] + params.bsi.sd_item * normal(rng), 0.0, 4.0)),
        );
    }

    let occasions = (0..n)
        .map(|k| Occasion {
            months: times[k],
            version: versions[k],
            wai: wai[k],
            wai_latent: wai_latent[k],
            gaf: gaf[k],
            wsas: wsas[k],
            bsi: bsi[k],
            eq5d: (k == 0).then_some(baseline_eq5d),
        })
        .filter(|o| o.wai.is_some() || o.gaf.is_some() || o.wsas.is_some())
        .collect();
    Ok(Patient {
        poor,
        completed,
        length,
        admission,
        characteristics,
        occasions,
        therapist,
    })
}

/// Therapist `t`'s intercept and slope on TASKS, GOALS and BONDS: three independent
/// bivariate normal draws from the therapist's own stream (the streams past 2⁶³, which no
/// patient uses), so every patient of a therapist shares them and no patient's own draws
/// move.
fn therapist_lines(params: &Params, seed: u64, t: usize) -> [(f64, f64); 3] {
    let th = &params.therapists;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream((1u64 << 63) | t as u64);
    let r = th.correlation;
    [(); 3].map(|()| {
        let z1 = normal(&mut rng);
        let z2 = normal(&mut rng);
        (
            th.sd_intercept * z1,
            th.sd_slope * (r * z1 + (1.0 - r * r).sqrt() * z2),
        )
    })
}

/// The GAF series, drawn again until the last observed rating falls on the patient's side
/// of the threshold: the series is drawn from the model conditional on the outcome group.
fn draw_gaf(
    params: &Params,
    covariates: &Covariates,
    times: &[f64],
    given: &[bool],
    index: usize,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<Option<u8>>, SimulateError> {
    let observed: Vec<f64> = times
        .iter()
        .zip(given)
        .filter(|(_, &g)| g)
        .map(|(&t, _)| t)
        .collect();
    let threshold = params.cohort.gaf_threshold;
    for _ in 0..GAF_ATTEMPTS {
        let values: Vec<u8> = params
            .gaf
            .draw_series(covariates, &observed, rng)
            .into_iter()
            .map(|v| item(v, 1.0, 100.0))
            .collect();
        let last = f64::from(*values.last().expect("baseline GAF is always given"));
        if (last < threshold) == covariates.poor {
            let mut values = values.into_iter();
            return Ok(given
                .iter()
                .map(|&g| if g { values.next() } else { None })
                .collect());
        }
    }
    Err(SimulateError::OutcomeUnreachable {
        patient: index + 1,
        attempts: GAF_ATTEMPTS,
        side: if covariates.poor {
            "below"
        } else {
            "at or above"
        },
    })
}
