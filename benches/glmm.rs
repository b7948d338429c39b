//! In-process fit times of generalized mixed models on the reference data sets (formula
//! parsed and design built once; the fit includes the Hessian-based standard errors, as
//! glmer's does): cbpp (binomial, Laplace and 25-node quadrature), toenail (binary) and the
//! epilepsy counts (Poisson and negative binomial). `benches/glmm_compare.sh` prints them
//! beside glmer and glmmTMB.

use criterion::{criterion_group, criterion_main, Criterion};
use mixspec_engine::family::Family;
use mixspec_engine::fit::glmm::{fit_glmm, GlmmOptions};
use mixspec_engine::{read_csv, Design};
use std::hint::black_box;

fn bench_glmm(c: &mut Criterion, id: &str, file: &str, formula: &str, family: Family, nagq: usize) {
    let path = format!("{}/tests/data/glmm/{file}", env!("CARGO_MANIFEST_DIR"));
    let data = read_csv(std::fs::File::open(&path).expect("data"), &path).expect("valid CSV");
    let spec = mixspec_dsl::parse_formula(formula).expect("valid formula");
    let (design, response) = Design::build_glmm(&spec, &data).expect("valid design");
    let options = GlmmOptions {
        family,
        link: family.default_link(),
        nagq,
        max_evaluations: 100_000,
    };
    c.bench_function(id, |b| {
        b.iter(|| fit_glmm(black_box(design.clone()), response.clone(), &options).expect("fit"))
    });
}

fn glmm(c: &mut Criterion) {
    let cbpp = "cbind(incidence, size - incidence) ~ period + (1 | herd)";
    bench_glmm(c, "cbpp_laplace", "cbpp.csv", cbpp, Family::Binomial, 1);
    bench_glmm(c, "cbpp_agq25", "cbpp.csv", cbpp, Family::Binomial, 25);
    let toenail = "moderate_severe ~ treatment * time + (1 | patientID)";
    bench_glmm(
        c,
        "toenail_laplace",
        "toenail.csv",
        toenail,
        Family::Binomial,
        1,
    );
    let epil = "y ~ lbase * trt + lage + V4 + (1 | subject)";
    bench_glmm(c, "epil_poisson", "epil.csv", epil, Family::Poisson, 1);
    let nb = Family::NegativeBinomial { theta: 1.0 };
    bench_glmm(c, "epil_negative_binomial", "epil.csv", epil, nb, 1);
}

criterion_group!(glmm_fits, glmm);
criterion_main!(glmm_fits);
