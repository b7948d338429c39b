//! Residual correlation structures (nlme's `corAR1`, `corCAR1`, `corCompSymm`, `varIdent`).
//!
//! With within-group residual covariance σ²Cᵢ(φ), a transform Wᵢ with WᵢCᵢWᵢ' = I turns the
//! model into an ordinary mixed model on `Wy`, `WX`, `WZ` with independent residuals, and
//! −2 log L gains `Σᵢ log|Cᵢ|` (the REML criterion too: `X'V⁻¹X` is unchanged by W).
//! Every structure here has a closed-form Wᵢ that is applied in one pass over the rows, so
//! an evaluation of (θ, φ) costs one pass over the data plus an ordinary factorisation.
//!
//! Wᵢ mixes rows within a residual group, so each random-effect term must keep one level
//! within each residual group (residual groups nested in the random-effect groups — nlme's
//! rule too).

use crate::design::{Design, ResidualColumns};
use crate::error::ModelError;
use crate::spec::ResidualSpec;

/// A residual structure bound to the rows of a design.
#[derive(Debug, Clone)]
pub struct ResidualModel {
    pub spec: ResidualSpec,
    kind: Kind,
    /// Rows of each residual group, in the order the transform runs through them.
    groups: Vec<Vec<usize>>,
}

#[derive(Debug, Clone)]
enum Kind {
    Ar1,
    /// Time of each row.
    Car1(Vec<f64>),
    CompoundSymmetry,
    /// Level of each row and the level names (the first is the reference).
    VarIdent(Vec<u32>, Vec<String>),
}

impl ResidualModel {
    /// Binds a residual structure to the rows of a design.
    pub fn new(columns: &ResidualColumns, design: &Design) -> Result<ResidualModel, ModelError> {
        let spec = columns.spec.clone();
        let mut groups: Vec<Vec<usize>> = vec![Vec::new(); columns.levels.len()];
        for (i, &g) in columns.codes.iter().enumerate() {
            groups[g as usize].push(i);
        }
        groups.retain(|g| !g.is_empty());
        let kind = match &spec {
            ResidualSpec::Ar1 { .. } => Kind::Ar1,
            ResidualSpec::CompoundSymmetry { .. } => Kind::CompoundSymmetry,
            ResidualSpec::Car1 { time, .. } => {
                let t = columns
                    .times
                    .clone()
                    .expect("Design::build reads the CAR(1) time");
                for g in &mut groups {
                    g.sort_by(|&a, &b| t[a].total_cmp(&t[b]));
                    if let Some(w) = g.windows(2).find(|w| t[w[0]] == t[w[1]]) {
                        return Err(ModelError::BadResidualData {
                            reason: format!(
                                "two observations of one group share {time} = {}; \
                                 continuous AR(1) needs distinct times within a group",
                                t[w[0]]
                            ),
                        });
                    }
                }
                Kind::Car1(t)
            }
            ResidualSpec::VarIdent { .. } => {
                // Each row is its own "group" for the transform.
                groups = (0..columns.codes.len()).map(|i| vec![i]).collect();
                Kind::VarIdent(columns.codes.clone(), columns.levels.clone())
            }
        };
        if !matches!(kind, Kind::VarIdent(..)) {
            for b in &design.random {
                for g in &groups {
                    if g.iter().any(|&i| b.codes[i] != b.codes[g[0]]) {
                        return Err(ModelError::BadResidualData {
                            reason: format!(
                                "the residual groups must be nested within the random-effect \
                                 groups, but one residual group spans several levels of `{}`",
                                b.group
                            ),
                        });
                    }
                }
            }
        }
        Ok(ResidualModel { spec, kind, groups })
    }

    /// Number of correlation/variance parameters φ.
    pub fn n_params(&self) -> usize {
        match &self.kind {
            Kind::VarIdent(_, levels) => levels.len() - 1,
            _ => 1,
        }
    }

    /// Names of the parameters, for reports.
    pub fn param_names(&self) -> Vec<String> {
        match &self.kind {
            Kind::Ar1 | Kind::Car1(_) => vec!["Phi".into()],
            Kind::CompoundSymmetry => vec!["Rho".into()],
            Kind::VarIdent(_, levels) => levels[1..].to_vec(),
        }
    }

    pub fn start(&self) -> Vec<f64> {
        match &self.kind {
            Kind::Ar1 | Kind::CompoundSymmetry => vec![0.2],
            Kind::Car1(_) => vec![0.5],
            Kind::VarIdent(_, levels) => vec![1.0; levels.len() - 1],
        }
    }

    /// Bounds that keep every Cᵢ positive definite.
    pub fn bounds(&self) -> (Vec<f64>, Vec<f64>) {
        const EDGE: f64 = 1e-6;
        match &self.kind {
            Kind::Ar1 => (vec![-1.0 + EDGE], vec![1.0 - EDGE]),
            Kind::Car1(_) => (vec![0.0], vec![1.0 - EDGE]),
            Kind::CompoundSymmetry => {
                let m = self.groups.iter().map(Vec::len).max().unwrap_or(2).max(2) as f64;
                (vec![-1.0 / (m - 1.0) + EDGE], vec![1.0 - EDGE])
            }
            Kind::VarIdent(_, levels) => (
                vec![1e-4; levels.len() - 1],
                vec![f64::INFINITY; levels.len() - 1],
            ),
        }
    }

    /// Writes `W·source` into `out` (same shapes: y, X, random-effect values) and returns
    /// `Σᵢ log|Cᵢ|`, or `None` for φ outside the admissible range.
    pub fn whiten(&self, phi: &[f64], source: &Design, out: &mut Design) -> Option<f64> {
        self.transform(phi, Apply::Whiten, &mut |visit| {
            for_each_column(source, out, visit)
        })
    }

    /// Writes `∂W/∂φₖ · source` into `out` and returns `∂ Σᵢ log|Cᵢ| / ∂φₖ`, or `None` for
    /// φ outside the admissible range: what the analytic gradient over φ needs
    /// (`fit::derivatives`).
    pub fn whiten_derivative(
        &self,
        phi: &[f64],
        k: usize,
        source: &Design,
        out: &mut Design,
    ) -> Option<f64> {
        self.transform(phi, Apply::Derivative(k), &mut |visit| {
            for_each_column(source, out, visit)
        })
    }

    /// `W·v` (or `∂W/∂φₖ · v`) for one column `v` over the rows, into `out`.
    pub fn apply_to(&self, phi: &[f64], apply: Apply, v: &[f64], out: &mut [f64]) -> Option<f64> {
        self.transform(phi, apply, &mut |visit| {
            visit(&|r| v[r], &mut |r, x| out[r] = x)
        })
    }

    /// Runs `W` (or its derivative in one φ) group by group over the columns `columns` hands
    /// to the visitor, and returns `Σᵢ log|Cᵢ|` (or its derivative).
    ///
    /// AR(1) and CAR(1): row i of a group is `(xᵢ − ρᵢxᵢ₋₁)/sᵢ` with `sᵢ = √(1 − ρᵢ²)` (ρ = φ,
    /// or φ^Δt for CAR(1)), whose derivative is `ρᵢ'(ρᵢxᵢ − xᵢ₋₁)/sᵢ³`; varident divides
    /// row i by its level's ratio δ; compound symmetry is `aI + bJ` per group of size m, with
    /// `a = (1 − ρ)^{−½}` and `b = ((1 + (m − 1)ρ)^{−½} − a)/m`.
    fn transform(
        &self,
        phi: &[f64],
        apply: Apply,
        columns: &mut dyn FnMut(&mut ColumnVisitor<'_>),
    ) -> Option<f64> {
        let derivative = match apply {
            Apply::Whiten => None,
            Apply::Derivative(k) => Some(k),
        };
        let mut log_det = 0.0;
        let log_phi = phi.first().map_or(0.0, |p| p.ln());
        // Per group, each output row is `a·row + b·previous row` (AR(1), CAR(1), varident);
        // compound symmetry uses the group total instead.
        let mut steps: Vec<Step> = Vec::new();
        for g in &self.groups {
            steps.clear();
            match &self.kind {
                Kind::Ar1 | Kind::Car1(_) => {
                    let mut prev: Option<usize> = None;
                    for &i in g {
                        let (rho, slope) = match (&self.kind, prev) {
                            (_, None) => (0.0, 0.0),
                            (Kind::Car1(t), Some(p)) => {
                                let dt = t[i] - t[p];
                                if phi[0] > 0.0 {
                                    // One exp per row rather than two powf.
                                    let rho = (dt * log_phi).exp();
                                    (rho, dt * rho / phi[0])
                                } else {
                                    // At φ = 0 the slope is unbounded for Δt < 1: a huge
                                    // finite one keeps the projected search's sign tests
                                    // working. (φ < 0, a step of Satterthwaite's
                                    // differences off the bound, is defined for whole Δt.)
                                    let at = if phi[0] < 0.0 {
                                        phi[0]
                                    } else {
                                        f64::MIN_POSITIVE
                                    };
                                    (phi[0].powf(dt), dt * at.powf(dt - 1.0))
                                }
                            }
                            (_, Some(_)) => (phi[0], 1.0),
                        };
                        let s = (1.0 - rho * rho).sqrt();
                        if s.is_nan() || s <= 0.0 {
                            return None;
                        }
                        let step = match derivative {
                            None => {
                                log_det += 2.0 * s.ln();
                                (i, 1.0 / s, prev.map(|p| (p, -rho / s)))
                            }
                            Some(_) => {
                                let s3 = s * s * s;
                                log_det -= 2.0 * rho * slope / (s * s);
                                (i, rho * slope / s3, prev.map(|p| (p, -slope / s3)))
                            }
                        };
                        steps.push(step);
                        prev = Some(i);
                    }
                }
                Kind::VarIdent(codes, _) => {
                    let i = g[0];
                    let level = codes[i] as usize;
                    let delta = if level == 0 { 1.0 } else { phi[level - 1] };
                    if delta.is_nan() || delta <= 0.0 {
                        return None;
                    }
                    let a = match derivative {
                        None => {
                            log_det += 2.0 * delta.ln();
                            1.0 / delta
                        }
                        Some(k) if k + 1 == level => {
                            log_det += 2.0 / delta;
                            -1.0 / (delta * delta)
                        }
                        Some(_) => 0.0,
                    };
                    steps.push((i, a, None));
                }
                Kind::CompoundSymmetry => {
                    let m = g.len() as f64;
                    let (u, v) = (1.0 - phi[0], 1.0 + (m - 1.0) * phi[0]);
                    if u.is_nan() || v.is_nan() || u <= 0.0 || v <= 0.0 {
                        return None;
                    }
                    // Symmetric inverse square root of (1−ρ)I + ρJ: a·I + b·J.
                    let (a, b) = match derivative {
                        None => {
                            log_det += (m - 1.0) * u.ln() + v.ln();
                            let a = 1.0 / u.sqrt();
                            (a, (1.0 / v.sqrt() - a) / m)
                        }
                        Some(_) => {
                            log_det += (m - 1.0) * (1.0 / v - 1.0 / u);
                            let da = 0.5 / (u * u.sqrt());
                            let dv = -0.5 * (m - 1.0) / (v * v.sqrt());
                            (da, (dv - da) / m)
                        }
                    };
                    columns(&mut |get, set| {
                        let total: f64 = g.iter().map(|&r| get(r)).sum();
                        for &r in g {
                            set(r, a * get(r) + b * total);
                        }
                    });
                    continue;
                }
            }
            columns(&mut |get, set| {
                for &(i, a, prev) in &steps {
                    set(i, a * get(i) + prev.map_or(0.0, |(p, b)| b * get(p)));
                }
            });
        }
        Some(log_det)
    }
}

impl ResidualModel {
    /// Turns independent standard normal draws `e` (one per row of the design the model is
    /// bound to) into draws with each group's correlation `Cᵢ(φ)`: `e ← W⁻¹e`, the inverse of
    /// [`ResidualModel::whiten`]'s transform, so that simulating from a fitted structure and
    /// fitting it use one definition of `Cᵢ`. AR(1) and CAR(1) run forwards through each
    /// group (`xᵢ = √(1 − ρ²)·eᵢ + ρ·xᵢ₋₁`), compound symmetry takes the symmetric square
    /// root `√(1 − ρ)·I + ((√(1 + (m − 1)ρ) − √(1 − ρ))/m)·J`, varident scales by the level's
    /// ratio. `None` for φ outside the admissible range.
    pub fn colour(&self, phi: &[f64], e: &mut [f64]) -> Option<()> {
        for g in &self.groups {
            match &self.kind {
                Kind::Ar1 | Kind::Car1(_) => {
                    let mut prev: Option<usize> = None;
                    for &i in g {
                        let rho = match (&self.kind, prev) {
                            (_, None) => 0.0,
                            (Kind::Car1(t), Some(p)) => phi[0].powf(t[i] - t[p]),
                            (_, Some(_)) => phi[0],
                        };
                        let s = (1.0 - rho * rho).sqrt();
                        if s.is_nan() || s <= 0.0 {
                            return None;
                        }
                        e[i] = s * e[i] + prev.map_or(0.0, |p| rho * e[p]);
                        prev = Some(i);
                    }
                }
                Kind::VarIdent(codes, _) => {
                    let i = g[0];
                    let delta = if codes[i] == 0 {
                        1.0
                    } else {
                        phi[codes[i] as usize - 1]
                    };
                    if delta.is_nan() || delta <= 0.0 {
                        return None;
                    }
                    e[i] *= delta;
                }
                Kind::CompoundSymmetry => {
                    let m = g.len() as f64;
                    let (u, v) = (1.0 - phi[0], 1.0 + (m - 1.0) * phi[0]);
                    if u.is_nan() || v.is_nan() || u <= 0.0 || v <= 0.0 {
                        return None;
                    }
                    let a = u.sqrt();
                    let b = (v.sqrt() - a) / m;
                    let total: f64 = g.iter().map(|&r| e[r]).sum();
                    for &r in g {
                        e[r] = a * e[r] + b * total;
                    }
                }
            }
        }
        Some(())
    }
}

/// Which matrix [`ResidualModel::apply_to`] applies: the whitening `W` or its derivative in
/// one parameter φₖ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Apply {
    Whiten,
    Derivative(usize),
}

/// One output row of an AR-type transform: `a·row + b·previous row` as `(row, a, (previous,
/// b))`.
type Step = (usize, f64, Option<(usize, f64)>);

/// Receives a reader of a source column and a writer of the matching output column.
type ColumnVisitor<'a> = dyn FnMut(&dyn Fn(usize) -> f64, &mut dyn FnMut(usize, f64)) + 'a;

/// Calls `f` once per data column of the design (y, each X column, each random-effect
/// column), with a reader of the source column and a writer of the output column.
fn for_each_column(src: &Design, out: &mut Design, f: &mut ColumnVisitor<'_>) {
    let n = src.n();
    f(&|r| src.y[r], &mut |r, v| out.y[r] = v);
    for j in 0..src.p() {
        f(&|r| src.x[j * n + r], &mut |r, v| out.x[j * n + r] = v);
    }
    for (bo, bs) in out.random.iter_mut().zip(&src.random) {
        let q = bs.q();
        for c in 0..q {
            f(&|r| bs.values[r * q + c], &mut |r, v| {
                bo.values[r * q + c] = v
            });
        }
    }
}
