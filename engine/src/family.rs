//! Response distributions and link functions of generalized linear mixed models: what
//! PIRLS needs (mean, its derivative in η, the variance function, the weights) and the
//! conditional log-density with all its constants, so the reported log-likelihood is the
//! true one at every number of quadrature nodes.
//!
//! Observations are counts out of `m` trials for the binomial family (`m = 1` for a 0/1
//! response) and `m = 1` otherwise; the mean μ is per trial, as in R's `glm` families.

use std::f64::consts::{FRAC_1_SQRT_2, PI};

/// The link from the mean μ to the linear predictor η.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Logit,
    Probit,
    Cloglog,
    Log,
}

impl Link {
    pub fn parse(text: &str) -> Option<Link> {
        match text.trim().to_ascii_lowercase().as_str() {
            "logit" => Some(Link::Logit),
            "probit" => Some(Link::Probit),
            "cloglog" => Some(Link::Cloglog),
            "log" => Some(Link::Log),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Link::Logit => "logit",
            Link::Probit => "probit",
            Link::Cloglog => "cloglog",
            Link::Log => "log",
        }
    }

    /// μ and dμ/dη at η, kept inside the open interval the family needs, as R's `linkinv`
    /// and `mu.eta` keep them (so a linear predictor far out never gives μ of exactly 0 or 1).
    pub fn mean(self, eta: f64) -> (f64, f64) {
        const EPS: f64 = f64::EPSILON;
        match self {
            Link::Logit => {
                let (e, t) = logit_exp(eta);
                logistic(e, t)
            }
            Link::Probit => {
                // R: η kept within ±qnorm(ε) ≈ ±8.12.
                let e = eta.clamp(-8.125890664701906, 8.125890664701906);
                let mu = 0.5 * libm::erfc(-e * FRAC_1_SQRT_2);
                let dens = (-0.5 * e * e).exp() / (2.0 * PI).sqrt();
                (mu, dens.max(EPS))
            }
            Link::Cloglog => {
                let e = eta.min(700.0);
                let mu = (-(-(e.exp())).exp_m1()).clamp(EPS, 1.0 - EPS);
                let d = (e - e.exp()).exp().max(EPS);
                (mu, d)
            }
            Link::Log => {
                let mu = eta.exp().max(EPS);
                (mu, mu)
            }
        }
    }

    /// η at μ (for starting values).
    pub fn eta(self, mu: f64) -> f64 {
        match self {
            Link::Logit => (mu / (1.0 - mu)).ln(),
            Link::Probit => probit_quantile(mu),
            Link::Cloglog => (-(-mu).ln_1p()).ln(),
            Link::Log => mu.ln(),
        }
    }
}

/// The most binomial trials whose factor `(1 + e^{−|η|})ᵐ ≤ 2ᵐ` PIRLS multiplies into a
/// product rather than taking its logarithm ([`Family::log_density_and_irls`]): far from
/// overflow, and a power of few products.
const MAX_POWER_TRIALS: f64 = 64.0;

/// The logit link's η kept within ±30 (as R's `linkinv`) and `e^{−|η|}`: the one
/// exponential both the mean ([`logistic`]) and the log-density's `log(1 + eᶯ)` are written
/// in, so that PIRLS, which needs both at every row, computes it once.
fn logit_exp(eta: f64) -> (f64, f64) {
    let e = eta.clamp(-30.0, 30.0);
    (e, (-e.abs()).exp())
}

/// The inverse logit μ at `e` from `t = e^{−|e|}` ([`logit_exp`]) — `1/(1 + t)` above zero,
/// `t/(1 + t)` below, both without overflow and accurate in the tail — and dμ/dη, kept
/// from zero as [`Link::mean`] keeps it.
fn logistic(e: f64, t: f64) -> (f64, f64) {
    let mu = if e > 0.0 {
        1.0 / (1.0 + t)
    } else {
        t / (1.0 + t)
    };
    (mu, (mu * (1.0 - mu)).max(f64::EPSILON))
}

/// The standard normal quantile by Newton's method on `erfc` (starting values only need
/// to be close, and μ is kept away from 0 and 1 there).
fn probit_quantile(p: f64) -> f64 {
    let mut x = 0.0;
    for _ in 0..50 {
        let cdf = 0.5 * libm::erfc(-x * FRAC_1_SQRT_2);
        let dens = (-0.5 * x * x).exp() / (2.0 * PI).sqrt();
        let step = (cdf - p) / dens.max(1e-300);
        x -= step;
        if step.abs() < 1e-12 {
            break;
        }
    }
    x
}

/// The conditional distribution of the response.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Family {
    Binomial,
    Poisson,
    /// NB2 with dispersion θ (glmmTMB's `nbinom2`): Var(y) = μ + μ²/θ.
    NegativeBinomial {
        theta: f64,
    },
}

impl Family {
    pub fn name(&self) -> &'static str {
        match self {
            Family::Binomial => "binomial",
            Family::Poisson => "poisson",
            Family::NegativeBinomial { .. } => "negative-binomial",
        }
    }

    /// R's default link.
    pub fn default_link(&self) -> Link {
        match self {
            Family::Binomial => Link::Logit,
            _ => Link::Log,
        }
    }

    /// Whether the family accepts `link`.
    pub fn allows(&self, link: Link) -> bool {
        match self {
            Family::Binomial => link != Link::Log,
            _ => link == Link::Log,
        }
    }

    /// Whether PIRLS's steps ([`Family::irls`]) are Newton's, so that they converge
    /// quadratically: the canonical pairs (logit, log), where the expected information is
    /// the observed, and the negative binomial, whose steps use the observed. Probit and
    /// cloglog steps are Fisher scoring's, which converges only linearly.
    pub fn newton_steps(&self, link: Link) -> bool {
        matches!(
            (self, link),
            (Family::Binomial, Link::Logit)
                | (Family::Poisson, Link::Log)
                | (Family::NegativeBinomial { .. }, _)
        )
    }

    /// For the canonical pairs (binomial–logit, Poisson–log), at η: the score
    /// `∂ log f/∂η = y − mμ`, the information `w = m dμ/dη` (PIRLS's weight and the
    /// Laplace approximation's, [`Family::irls`]) and its slope `dw/dη`, which the exact
    /// gradient of the Laplace deviance needs (`super::fit::glmm`). `None` for every other
    /// pair: probit and cloglog weigh the Laplace factor by the expected information, not
    /// the curvature the modes solve, and the negative binomial's gradient would also need
    /// its θ's.
    pub fn canonical_derivatives(&self, y: f64, m: f64, link: Link, eta: f64) -> Option<[f64; 3]> {
        match (self, link) {
            (Family::Binomial, Link::Logit) => {
                let (e, t) = logit_exp(eta);
                let (mu, dmu) = logistic(e, t);
                let w = m * dmu;
                Some([y - m * mu, w, w * (1.0 - 2.0 * mu)])
            }
            (Family::Poisson, Link::Log) => {
                let mu = link.mean(eta).0;
                Some([y - mu, mu, mu])
            }
            _ => None,
        }
    }

    /// Variance of one trial's response at mean μ.
    pub fn variance(&self, mu: f64) -> f64 {
        match self {
            Family::Binomial => mu * (1.0 - mu),
            Family::Poisson => mu,
            Family::NegativeBinomial { theta } => mu + mu * mu / theta,
        }
    }

    /// The log-density of `y` (a count, successes for the binomial) out of `m` trials at mean
    /// μ per trial, with every constant, is this plus [`Family::log_density_kernel`]: the
    /// part that does not depend on μ: the binomial coefficient,
    /// `−log y!`, and for the negative binomial `log Γ(y + θ) − log Γ(θ)` as well. PIRLS
    /// evaluates the density many times at one θ_NB, so it sums these once (the gamma
    /// functions were a third of a negative binomial fit's time).
    pub fn log_density_constant(&self, y: f64, m: f64) -> f64 {
        match self {
            Family::Binomial => ln_choose(m, y),
            Family::Poisson => -libm::lgamma(y + 1.0),
            Family::NegativeBinomial { theta } => {
                libm::lgamma(y + theta) - libm::lgamma(*theta) - libm::lgamma(y + 1.0)
            }
        }
    }

    /// [`Family::log_density_kernel`] at the linear predictor `eta`: for the canonical
    /// pairs the kernel is written in η, with one transcendental function per row instead
    /// of the mean's and two logarithms (the binomial's `yη − m log(1 + eᶯ)`, the
    /// Poisson's `yη − eᶯ`), the same value to rounding within the clamps [`Link::mean`]
    /// applies. PIRLS evaluates it at every step on every row.
    pub fn log_density_at(&self, y: f64, m: f64, link: Link, eta: f64) -> f64 {
        match (self, link) {
            (Family::Binomial, Link::Logit) => {
                let (e, t) = logit_exp(eta);
                binomial_logit_kernel(y, m, e, t)
            }
            _ => self.kernel_at_mean(y, m, link, eta, link.mean(eta).0),
        }
    }

    /// [`Family::log_density_at`] with the PIRLS weight and working-response increment at
    /// the same η ([`Family::irls`] at [`Link::mean`]), sharing the exponential and the
    /// mean: PIRLS needs the density at every step it tries and the weights at every step
    /// it takes, and the Laplace weights (the same) at the last. Returns
    /// `(linear, factor, weight, increment)` with the kernel `linear − log(factor)`,
    /// `factor ≥ 1`: for the binomial with the logit link `factor = (1 + e^{−|η|})ᵐ` (up to
    /// [`MAX_POWER_TRIALS`] trials), so that a sum over rows can take one logarithm of the
    /// product of many factors instead of one per row
    /// ([`crate::fit::levels::LogProduct`]); 1 otherwise.
    pub fn log_density_and_irls(
        &self,
        y: f64,
        m: f64,
        link: Link,
        eta: f64,
    ) -> (f64, f64, f64, f64) {
        let (linear, factor, mu, dmu) = match (self, link) {
            (Family::Binomial, Link::Logit) => {
                let (e, t) = logit_exp(eta);
                let (mu, dmu) = logistic(e, t);
                if m <= MAX_POWER_TRIALS {
                    // m is a whole number of trials; the power's few products keep it to
                    // rounding, as the logarithm of each would.
                    let factor = if m == 1.0 {
                        1.0 + t
                    } else {
                        whole_power(1.0 + t, m as u32)
                    };
                    (y * e - m * e.max(0.0), factor, mu, dmu)
                } else {
                    (binomial_logit_kernel(y, m, e, t), 1.0, mu, dmu)
                }
            }
            _ => {
                let (mu, dmu) = link.mean(eta);
                (self.kernel_at_mean(y, m, link, eta, mu), 1.0, mu, dmu)
            }
        };
        let (w, inc) = self.irls(y, m, mu, dmu);
        (linear, factor, w, inc)
    }

    /// The log-density's μ-dependent part at η and `mu = link.mean(η).0`: the Poisson's
    /// `yη − eᶯ` in η (one logarithm fewer), every other pair through the mean.
    fn kernel_at_mean(&self, y: f64, m: f64, link: Link, eta: f64, mu: f64) -> f64 {
        match (self, link) {
            (Family::Poisson, Link::Log) => {
                let ly = if y > 0.0 {
                    y * eta.max(f64::EPSILON.ln())
                } else {
                    0.0
                };
                ly - mu
            }
            _ => self.log_density_kernel(y, m, mu),
        }
    }

    /// The part of the log-density that depends on μ.
    pub fn log_density_kernel(&self, y: f64, m: f64, mu: f64) -> f64 {
        match self {
            Family::Binomial => {
                let mut l = 0.0;
                if y > 0.0 {
                    l += y * mu.ln();
                }
                if m - y > 0.0 {
                    l += (m - y) * (1.0 - mu).ln();
                }
                l
            }
            Family::Poisson => {
                let ly = if y > 0.0 { y * mu.ln() } else { 0.0 };
                ly - mu
            }
            Family::NegativeBinomial { theta } => {
                let t = *theta;
                let ly = if y > 0.0 {
                    y * (mu / (t + mu)).ln()
                } else {
                    0.0
                };
                // θ log(θ/(θ + μ)), accurate for large θ (near the Poisson limit).
                ly - t * (mu / t).ln_1p()
            }
        }
    }

    /// The PIRLS weight and working-response increment of one observation: the expected
    /// information `m (dμ/dη)² / V(μ)` and `(y/m − μ) / (dμ/dη)` (Fisher scoring), except
    /// for the negative binomial, whose log link is not its canonical link: Fisher scoring
    /// converges only linearly there, and PIRLS stopped on a small change in the penalised
    /// deviance left the modes short by enough to make the Laplace deviance (linear in
    /// their error through log|L|²) noisy at 1e-8, which a difference gradient divides by
    /// its step (half of 20 small simulated NB fits ended with a gradient of 1e-3). Its
    /// observed information `θ μ (y + θ) / (θ + μ)²` is positive whatever `y`, so Newton's
    /// steps (score `θ (y − μ) / (θ + μ)` over it) are safe and converge quadratically, to
    /// the same modes.
    pub fn irls(&self, y: f64, m: f64, mu: f64, dmu: f64) -> (f64, f64) {
        if let Family::NegativeBinomial { theta } = self {
            let w = self.laplace_weight(y, m, mu, dmu);
            return (w, theta * (y - mu) / ((theta + mu) * w));
        }
        // For the canonical pairs (logit, log) dμ/dη is V(μ) (but where it is kept from
        // zero), and the weight is m dμ/dη without a division; a 0/1 response (m = 1) needs
        // none for its proportion either. PIRLS computes these on every row at every step.
        let v = self.variance(mu);
        let w = if dmu == v { m * dmu } else { m * dmu * dmu / v };
        let proportion = if m == 1.0 { y } else { y / m };
        (w, (proportion - mu) / dmu)
    }

    /// The weight of one observation in the Laplace approximation's determinant: lme4 uses
    /// the expected information (the PIRLS weight); glmmTMB, whose negative binomial we
    /// match, the observed −∂²log f/∂η², which for NB2 with log link is
    /// `θ μ (y + θ) / (θ + μ)²`. For canonical links both are the same.
    pub fn laplace_weight(&self, y: f64, m: f64, mu: f64, dmu: f64) -> f64 {
        match self {
            Family::NegativeBinomial { theta } => {
                let t = *theta;
                t * mu * (y + t) / ((t + mu) * (t + mu))
            }
            _ => self.irls(y, m, mu, dmu).0,
        }
    }
}

/// `xᵐ` by repeated squaring: the products of the runtime's `powi`, inlined (its call on
/// every row of every PIRLS step was 6% of a cbpp fit).
#[inline(always)]
fn whole_power(mut x: f64, mut m: u32) -> f64 {
    let mut power = 1.0;
    loop {
        if m & 1 == 1 {
            power *= x;
        }
        m >>= 1;
        if m == 0 {
            return power;
        }
        x *= x;
    }
}

/// The binomial log-density's kernel `yη − m log(1 + eᶯ)` at the clamped `e` with
/// `t = e^{−|e|}` ([`logit_exp`]): `log(1 + eᵉ) = max(e, 0) + log(1 + t)` without overflow.
/// `ln` rather than `ln_1p` (twice as slow): the sum over rows needs each term to 1e-16
/// absolute, which `ln` of a number in (1, 2] gives.
fn binomial_logit_kernel(y: f64, m: f64, e: f64, t: f64) -> f64 {
    let softplus = e.max(0.0) + (1.0 + t).ln();
    y * e - m * softplus
}

/// `log C(n, k)` for whole numbers `0 ≤ k ≤ n`.
fn ln_choose(n: f64, k: f64) -> f64 {
    if k <= 0.0 || k >= n {
        return 0.0;
    }
    libm::lgamma(n + 1.0) - libm::lgamma(k + 1.0) - libm::lgamma(n - k + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_invert() {
        for link in [Link::Logit, Link::Probit, Link::Cloglog] {
            for mu in [0.01, 0.3, 0.5, 0.9] {
                let (back, d) = link.mean(link.eta(mu));
                assert!((back - mu).abs() < 1e-10, "{link:?} {mu}");
                let h = 1e-6;
                let num =
                    (link.mean(link.eta(mu) + h).0 - link.mean(link.eta(mu) - h).0) / (2.0 * h);
                assert!((num - d).abs() < 1e-6, "{link:?} derivative");
            }
        }
    }

    fn log_density(family: Family, y: f64, m: f64, mu: f64) -> f64 {
        family.log_density_constant(y, m) + family.log_density_kernel(y, m, mu)
    }

    #[test]
    fn densities_match_r() {
        // R's dbinom(3, 10, 0.2, log = TRUE), dpois(4, 2.5, log = TRUE) and
        // dnbinom(4, size = 1.5, mu = 2.5, log = TRUE), from their closed forms.
        assert!(
            (log_density(Family::Binomial, 3.0, 10.0, 0.2) - (-1.602_826_853_719_723)).abs()
                < 1e-12
        );
        assert!(
            (log_density(Family::Poisson, 4.0, 1.0, 2.5) - (-2.012_890_902_851_324)).abs() < 1e-12
        );
        let nb = Family::NegativeBinomial { theta: 1.5 };
        assert!((log_density(nb, 4.0, 1.0, 2.5) - (-2.450_716_021_594_514)).abs() < 1e-9);
    }
}
