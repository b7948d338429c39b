//! In-process fit times for the reference data sets (formula parsed and design built once;
//! the benchmark is the fit itself, as lme4's `lmer()` timing in `benches/lme4_time.R`, so
//! without Satterthwaite's t-tests, which lme4 does not compute), and the t-tests alone.

use criterion::{criterion_group, criterion_main, Criterion};
use mixspec_engine::fit::Problem;
use mixspec_engine::inference::{bootstrap_intervals, Satterthwaite};
use mixspec_engine::{fit, read_csv, DataFrame, Design, FitOptions};
use std::hint::black_box;
use std::time::Duration;

fn load(name: &str) -> DataFrame {
    let path = format!("{}/tests/data/reference/{name}", env!("CARGO_MANIFEST_DIR"));
    read_csv(std::fs::File::open(&path).expect("reference data"), &path).expect("valid CSV")
}

fn bench_fit(c: &mut Criterion, id: &str, file: &str, formula: &str, reml: bool) {
    let data = load(file);
    let spec = mixspec_dsl::parse_formula(formula).expect("valid formula");
    let design = Design::build(&spec, &data).expect("valid design");
    let options = FitOptions {
        reml,
        satterthwaite: false,
        ..FitOptions::default()
    };
    c.bench_function(id, |b| {
        b.iter(|| fit(black_box(design.clone()), &options).expect("fit"))
    });
}

fn small(c: &mut Criterion) {
    bench_fit(
        c,
        "sleepstudy_reml",
        "sleepstudy.csv",
        "Reaction ~ Days + (Days | Subject)",
        true,
    );
    bench_fit(
        c,
        "penicillin_reml",
        "penicillin.csv",
        "diameter ~ 1 + (1 | plate) + (1 | sample)",
        true,
    );
    bench_fit(
        c,
        "pastes_nested_reml",
        "pastes.csv",
        "strength ~ 1 + (1 | batch/cask)",
        true,
    );
}

/// lmerTest's Satterthwaite degrees of freedom and p-values at the optimum: the numerical
/// Hessian over (θ, σ) and Jacobian of Var(β̂), reusing the problem's factor workspace.
fn satterthwaite(c: &mut Criterion) {
    let data = load("sleepstudy.csv");
    let spec = mixspec_dsl::parse_formula("Reaction ~ Days + (Days | Subject)").expect("formula");
    let design = Design::build(&spec, &data).expect("valid design");
    let fitted = fit(design.clone(), &FitOptions::default()).expect("fit");
    let mut problem = Problem::new(design, true).expect("problem");
    c.bench_function("satterthwaite_sleepstudy_reml", |b| {
        b.iter(|| {
            Satterthwaite::new(&mut problem, black_box(&fitted.theta), fitted.sigma)
                .coefficient_tests(&fitted.beta)
        })
    });
}

/// 100 parametric-bootstrap refits of sleepstudy (simulation, refit, percentile intervals),
/// on all cores.
fn bootstrap(c: &mut Criterion) {
    let data = load("sleepstudy.csv");
    let spec = mixspec_dsl::parse_formula("Reaction ~ Days + (Days | Subject)").expect("formula");
    let design = Design::build(&spec, &data).expect("valid design");
    let fitted = fit(design.clone(), &FitOptions::default()).expect("fit");
    c.bench_function("bootstrap_100_sleepstudy_reml", |b| {
        b.iter(|| {
            bootstrap_intervals(&design, &fitted, black_box(100), 1, &|| {}).expect("bootstrap")
        })
    });
}

fn insteval(c: &mut Criterion) {
    let formula = "y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept)";
    bench_fit(c, "insteval_ml", "insteval.csv", formula, false);
}

criterion_group!(small_fits, small, satterthwaite, bootstrap);
criterion_group! {
    name = large_fits;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(30));
    targets = insteval
}
criterion_main!(small_fits, large_fits);
