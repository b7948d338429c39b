//! Fitting a model of the spec to its rows of the prepared data, with the inference its
//! options ask for: a linear mixed model by the linear engine, a generalized one (`[family
//! …]`) by the GLMM engine (Laplace or adaptive quadrature, as glmer).

use mixspec_dsl::spec::{ModelDef, SpecDiagnostic, SpecErrorKind};
use mixspec_engine::fit::glmm::{
    fit_glmm, profile_intervals as glmm_profile_intervals, GlmmFit, GlmmOptions,
};
use mixspec_engine::fit::VarCorrRow;
use mixspec_engine::inference::{
    anova, anova_kenward_roger, bootstrap_intervals, profile_intervals, Bootstrap, FTest, Interval,
    KenwardRoger, TTest,
};
use mixspec_engine::{fit, DataFrame, Design, FitOptions, LmmFit, ModelError};

/// The optimizer's budget for a generalized model, as `mixspec fit --family`'s.
const GLMM_EVALUATIONS: usize = 100_000;

/// A model's fit: linear (lme4's `lmer`) or generalized (`glmer`, glmmTMB's `nbinom2`).
/// What only one kind has is reached through [`Fit::linear`] or [`Fit::generalized`];
/// what both have, through the methods here.
#[derive(Debug, Clone)]
pub enum Fit {
    Linear(LmmFit),
    Generalized(GlmmFit),
}

impl Fit {
    pub fn linear(&self) -> Option<&LmmFit> {
        match self {
            Fit::Linear(f) => Some(f),
            Fit::Generalized(_) => None,
        }
    }

    pub fn generalized(&self) -> Option<&GlmmFit> {
        match self {
            Fit::Generalized(f) => Some(f),
            Fit::Linear(_) => None,
        }
    }

    pub fn n_obs(&self) -> usize {
        match self {
            Fit::Linear(f) => f.n_obs,
            Fit::Generalized(f) => f.n_obs,
        }
    }

    pub fn loglik(&self) -> f64 {
        match self {
            Fit::Linear(f) => f.loglik,
            Fit::Generalized(f) => f.loglik,
        }
    }

    /// −2 log-likelihood (ML fits), or the REML criterion.
    pub fn objective(&self) -> f64 {
        match self {
            Fit::Linear(f) => f.objective,
            Fit::Generalized(f) => f.objective,
        }
    }

    pub fn aic(&self) -> f64 {
        match self {
            Fit::Linear(f) => f.aic,
            Fit::Generalized(f) => f.aic,
        }
    }

    pub fn bic(&self) -> f64 {
        match self {
            Fit::Linear(f) => f.bic,
            Fit::Generalized(f) => f.bic,
        }
    }

    pub fn fixed_names(&self) -> &[String] {
        match self {
            Fit::Linear(f) => &f.fixed_names,
            Fit::Generalized(f) => &f.fixed_names,
        }
    }

    pub fn beta(&self) -> &[f64] {
        match self {
            Fit::Linear(f) => &f.beta,
            Fit::Generalized(f) => &f.beta,
        }
    }

    pub fn warnings(&self) -> &[String] {
        match self {
            Fit::Linear(f) => &f.warnings,
            Fit::Generalized(f) => &f.warnings,
        }
    }

    pub fn converged(&self) -> bool {
        match self {
            Fit::Linear(f) => f.convergence.converged,
            Fit::Generalized(f) => f.convergence.converged,
        }
    }

    /// Levels per grouping factor, in lme4's term order.
    pub fn groups(&self) -> Vec<(String, usize)> {
        match self {
            Fit::Linear(f) => f.groups(),
            Fit::Generalized(f) => f.groups(),
        }
    }

    pub fn varcorr(&self) -> Vec<VarCorrRow> {
        match self {
            Fit::Linear(f) => f.varcorr(),
            Fit::Generalized(f) => f.varcorr(),
        }
    }
}

/// A model of the spec, fitted.
#[derive(Debug, Clone)]
pub struct FittedModel {
    pub fit: Fit,
    /// The rows of the prepared data the fit used: those its `where` keeps that have every
    /// model variable. (`fit.rows` counts within the kept rows.)
    pub rows: Vec<usize>,
    /// The tests and intervals beyond the fit itself; empty for refits.
    pub inference: Tests,
}

/// Inference on a fitted model: the Type III table always, the rest as its options ask.
#[derive(Debug, Clone, Default)]
pub struct Tests {
    /// Type III F-tests with Satterthwaite's df (lmerTest's `anova(fit)`).
    pub anova: Vec<FTest>,
    pub kenward_roger: Option<KenwardRogerTests>,
    /// 95% profile-likelihood intervals, in `confint`'s order.
    pub profile: Option<Vec<Interval>>,
    pub bootstrap: Option<Bootstrap>,
}

/// Kenward–Roger's t-test of each coefficient and Type III table.
#[derive(Debug, Clone)]
pub struct KenwardRogerTests {
    pub coefficients: Vec<TTest>,
    /// The adjusted standard errors the coefficients' t-tests use.
    pub std_errors: Vec<f64>,
    pub anova: Vec<FTest>,
}

/// What a fit is for: a model's own results, with every test its options ask for (and
/// `progress` called once per bootstrap refit), or a refit for a comparison, which needs
/// none.
#[derive(Clone, Copy)]
pub(crate) enum Purpose<'a> {
    Results { progress: &'a (dyn Fn() + Sync) },
    Refit,
}

/// Fits `model` to `rows` of `frame`, by REML or ML.
pub(crate) fn fit_model(
    model: &ModelDef,
    frame: &DataFrame,
    rows: &[usize],
    reml: bool,
    purpose: Purpose<'_>,
) -> Result<FittedModel, SpecDiagnostic> {
    if let Some(g) = model.family {
        // Maximum likelihood whatever `reml` asks: the checks rule REML out for these.
        let (design, response) = Design::build_glmm(&model.spec, &frame.select(rows))
            .map_err(|e| cannot_fit(model, &e))?;
        let options = GlmmOptions {
            family: g.family,
            link: g.link,
            nagq: g.nagq,
            max_evaluations: GLMM_EVALUATIONS,
        };
        let fit = fit_glmm(design.clone(), response.clone(), &options)
            .map_err(|e| cannot_fit(model, &e))?;
        // The checks leave profile intervals as the one inference option of these.
        let profile = match purpose {
            Purpose::Results { .. } if model.inference.profile => Some(
                glmm_profile_intervals(&design, &response, &options, &fit)
                    .map_err(|e| cannot_fit(model, &e))?,
            ),
            _ => None,
        };
        return Ok(FittedModel {
            rows: fit.rows.iter().map(|&r| rows[r]).collect(),
            fit: Fit::Generalized(fit),
            inference: Tests {
                profile,
                ..Tests::default()
            },
        });
    }
    let design =
        Design::build(&model.spec, &frame.select(rows)).map_err(|e| cannot_fit(model, &e))?;
    let results = matches!(purpose, Purpose::Results { .. });
    let fit = fit(
        design.clone(),
        &FitOptions {
            reml,
            satterthwaite: results,
            ..FitOptions::default()
        },
    )
    .map_err(|e| cannot_fit(model, &e))?;
    let inference = match purpose {
        Purpose::Results { progress } => tests(model, &design, &fit, progress)?,
        Purpose::Refit => Tests::default(),
    };
    Ok(FittedModel {
        rows: fit.rows.iter().map(|&r| rows[r]).collect(),
        fit: Fit::Linear(fit),
        inference,
    })
}

fn tests(
    model: &ModelDef,
    design: &Design,
    fit: &LmmFit,
    progress: &(dyn Fn() + Sync),
) -> Result<Tests, SpecDiagnostic> {
    let options = model.inference;
    let failed = |e: ModelError| cannot_fit(model, &e);
    let terms = &model.spec.fixed;
    let kenward_roger = if options.kenward_roger {
        // The options' checks rule out ML fits and residual structures; what is left to
        // fail is numerical.
        let kr = KenwardRoger::new(design, &fit.random, fit.sigma).map_err(failed)?;
        Some(KenwardRogerTests {
            coefficients: kr.coefficient_tests(&fit.beta),
            std_errors: kr.std_errors(),
            anova: anova_kenward_roger(design, terms, fit, &kr),
        })
    } else {
        None
    };
    let profile = if options.profile {
        Some(profile_intervals(design).map_err(failed)?)
    } else {
        None
    };
    let bootstrap = match options.bootstrap {
        Some(b) => {
            Some(bootstrap_intervals(design, fit, b.replicates, b.seed, progress).map_err(failed)?)
        }
        None => None,
    };
    Ok(Tests {
        anova: anova(design, terms, fit).map_err(failed)?,
        kenward_roger,
        profile,
        bootstrap,
    })
}

fn cannot_fit(model: &ModelDef, e: &ModelError) -> SpecDiagnostic {
    let problem = SpecDiagnostic::new(
        SpecErrorKind::Fit,
        model.formula.span,
        format!("model `{}` cannot be fitted: {e}", model.name.text),
        "this model",
    );
    match miette::Diagnostic::help(e) {
        Some(help) => problem.help(help.to_string()),
        None => problem,
    }
}
