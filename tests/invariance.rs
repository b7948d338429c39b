//! Property tests: a fit does not depend on the incidental form of its data — the order of
//! the rows, the names of a grouping factor's levels, or which level of a fixed-effect
//! factor is the reference (location and scale are `hardening_engine.rs`'s). Each case
//! refits a reordered or relabelled copy and compares it with the fit of the file as given:
//! linear models with one and with crossed factors, a residual structure (whose rows keep
//! their order within a subject, the order AR(1) runs over), and a binomial GLMM.

use mixspec_engine::family::{Family, Link};
use mixspec_engine::fit::glmm::{fit_glmm, GlmmFit, GlmmOptions};
use mixspec_engine::spec::ResidualSpec;
use mixspec_engine::{fit, read_csv, Design, FitOptions, LmmFit};
use proptest::prelude::*;
use std::collections::HashMap;

/// A CSV file as its header line and its rows of cells (no cell holds a comma).
struct Table {
    header: String,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn read(path: &str) -> Table {
        let text = std::fs::read_to_string(path).unwrap();
        let mut lines = text.lines();
        let header = lines.next().unwrap().to_string();
        let rows = lines
            .map(|l| l.split(',').map(String::from).collect())
            .collect();
        Table { header, rows }
    }

    fn column(&self, name: &str) -> usize {
        self.header
            .split(',')
            .position(|h| h.trim_matches('"') == name)
            .unwrap()
    }

    fn text(&self) -> String {
        let mut out = self.header.clone();
        for r in &self.rows {
            out.push('\n');
            out.push_str(&r.join(","));
        }
        out
    }

    /// The rows in the order of `seed`'s shuffle, or — with `within` — the blocks of rows
    /// sharing that column's value shuffled, each block's rows in their own order.
    fn shuffled(&self, seed: u64, within: Option<&str>) -> Table {
        let mut blocks: Vec<Vec<Vec<String>>> = Vec::new();
        match within.map(|c| self.column(c)) {
            Some(c) => {
                for r in &self.rows {
                    match blocks.last_mut() {
                        Some(b) if b[0][c] == r[c] => b.push(r.clone()),
                        _ => blocks.push(vec![r.clone()]),
                    }
                }
            }
            None => blocks = self.rows.iter().map(|r| vec![r.clone()]).collect(),
        }
        shuffle(&mut blocks, seed);
        Table {
            header: self.header.clone(),
            rows: blocks.into_iter().flatten().collect(),
        }
    }

    /// Column `name`'s values renamed by a shuffled bijection onto new labels, so that their
    /// sorted order (and so a factor's reference level) changes too.
    fn relabelled(&self, name: &str, seed: u64) -> Table {
        let c = self.column(name);
        let mut values: Vec<String> = self.rows.iter().map(|r| r[c].clone()).collect();
        values.sort();
        values.dedup();
        let mut labels: Vec<String> = (0..values.len())
            .map(|k| format!("\"L{}x{k}\"", (k * 7919) % 1000))
            .collect();
        shuffle(&mut labels, seed);
        let map: HashMap<String, String> = values.into_iter().zip(labels).collect();
        let mut out = Table {
            header: self.header.clone(),
            rows: self.rows.clone(),
        };
        for r in &mut out.rows {
            r[c] = map[&r[c]].clone();
        }
        out
    }
}

/// Fisher–Yates from an xorshift stream.
fn shuffle<T>(v: &mut [T], seed: u64) {
    let mut state = seed | 1;
    for i in (1..v.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        v.swap(i, (state % (i as u64 + 1)) as usize);
    }
}

fn lmm(table: &Table, formula: &str, residual: Option<&str>) -> LmmFit {
    let data = read_csv(table.text().as_bytes(), "data.csv").unwrap();
    let mut spec = mixspec_dsl::parse_formula(formula).unwrap();
    spec.residual = residual.map(|r| ResidualSpec::parse(r).unwrap());
    fit(Design::build(&spec, &data).unwrap(), &FitOptions::default()).unwrap()
}

fn relative(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
}

/// The same model fitted twice: objective, σ, θ (and φ), coefficients by name with their SEs
/// and Satterthwaite df, to `tol`.
fn assert_same_lmm(a: &LmmFit, b: &LmmFit, tol: f64) {
    assert!(a.convergence.converged && b.convergence.converged);
    assert!(
        relative(a.objective, b.objective) <= 1e-12,
        "{} vs {}",
        a.objective,
        b.objective
    );
    assert!(relative(a.sigma, b.sigma) <= tol);
    for (x, y) in a.theta.iter().zip(&b.theta) {
        assert!(
            (x - y).abs() <= tol * x.abs().max(1e-3),
            "θ {:?} vs {:?}",
            a.theta,
            b.theta
        );
    }
    let (se_a, se_b) = (a.std_errors(), b.std_errors());
    let (df_a, df_b) = (a.t_tests.as_ref().unwrap(), b.t_tests.as_ref().unwrap());
    for (j, name) in a.fixed_names.iter().enumerate() {
        let k = b.fixed_names.iter().position(|n| n == name).unwrap();
        assert!(
            (a.beta[j] - b.beta[k]).abs() <= tol * se_a[j],
            "{name}: {} vs {}",
            a.beta[j],
            b.beta[k]
        );
        assert!(relative(se_a[j], se_b[k]) <= tol, "{name} SE");
        assert!(
            relative(df_a[j].df, df_b[k].df) <= tol,
            "{name} df {} vs {}",
            df_a[j].df,
            df_b[k].df
        );
    }
}

const SLEEP: &str = "tests/data/reference/sleepstudy.csv";
const PENICILLIN: &str = "tests/data/reference/penicillin.csv";
const CBPP: &str = "tests/data/glmm/cbpp.csv";

fn cbpp(table: &Table) -> GlmmFit {
    let data = read_csv(table.text().as_bytes(), "cbpp.csv").unwrap();
    let spec =
        mixspec_dsl::parse_formula("cbind(incidence, size - incidence) ~ period + (1 | herd)")
            .unwrap();
    let (design, response) = Design::build_glmm(&spec, &data).unwrap();
    let options = GlmmOptions {
        family: Family::Binomial,
        link: Link::parse("logit").unwrap(),
        nagq: 1,
        max_evaluations: 100_000,
    };
    fit_glmm(design, response, &options).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// Sleepstudy's random slopes and penicillin's crossed plates × samples, rows shuffled
    /// and grouping levels renamed.
    #[test]
    fn linear_fits_do_not_depend_on_row_order_or_level_names(seed in any::<u64>()) {
        let sleep = Table::read(SLEEP);
        let formula = "Reaction ~ Days + (Days | Subject)";
        let base = lmm(&sleep, formula, None);
        let moved = sleep.shuffled(seed, None).relabelled("Subject", seed ^ 1);
        assert_same_lmm(&base, &lmm(&moved, formula, None), 1e-6);

        let penicillin = Table::read(PENICILLIN);
        let formula = "diameter ~ 1 + (1 | plate) + (1 | sample)";
        let base = lmm(&penicillin, formula, None);
        let moved = penicillin
            .shuffled(seed, None)
            .relabelled("plate", seed ^ 2)
            .relabelled("sample", seed ^ 3);
        assert_same_lmm(&base, &lmm(&moved, formula, None), 1e-6);
    }

    /// AR(1) within subjects: subjects' blocks in any order, under any names.
    #[test]
    fn a_residual_structure_does_not_depend_on_subject_order_or_names(seed in any::<u64>()) {
        let sleep = Table::read(SLEEP);
        let formula = "Reaction ~ Days + (1 | Subject)";
        let base = lmm(&sleep, formula, Some("ar1(Subject)"));
        let moved = sleep.shuffled(seed, Some("Subject")).relabelled("Subject", seed ^ 1);
        let moved = lmm(&moved, formula, Some("ar1(Subject)"));
        assert_same_lmm(&base, &moved, 1e-6);
        let phi = |f: &LmmFit| f.residual_structure.as_ref().unwrap().values[0];
        prop_assert!(relative(phi(&base), phi(&moved)) <= 1e-6);
    }

    /// cbpp's binomial GLMM with its rows shuffled, herds renamed, and `period` relabelled
    /// (another reference level: the same model in other coordinates, so the deviance, θ and
    /// the fitted probabilities agree, and the coefficients are those of the new contrasts).
    #[test]
    fn a_glmm_does_not_depend_on_row_order_level_names_or_reference_level(seed in any::<u64>()) {
        let table = Table::read(CBPP);
        let base = cbpp(&table);
        let moved_table = table.shuffled(seed, None).relabelled("herd", seed ^ 1);
        let moved = cbpp(&moved_table);
        prop_assert!(relative(base.objective, moved.objective) <= 1e-10);
        prop_assert!(relative(base.theta[0], moved.theta[0]) <= 1e-5);
        let (se_a, se_b) = (base.std_errors(), moved.std_errors());
        for j in 0..base.beta.len() {
            prop_assert!((base.beta[j] - moved.beta[j]).abs() <= 1e-5 * se_a[j]);
            prop_assert!(relative(se_a[j], se_b[j]) <= 1e-4, "SE {} vs {}", se_a[j], se_b[j]);
        }

        let relabelled = cbpp(&table.relabelled("period", seed));
        prop_assert!(relative(base.objective, relabelled.objective) <= 1e-10);
        prop_assert!(relative(base.theta[0], relabelled.theta[0]) <= 1e-5);
        for (a, b) in base.fitted.iter().zip(&relabelled.fitted) {
            prop_assert!((a - b).abs() <= 1e-6, "fitted {a} vs {b}");
        }
    }
}
