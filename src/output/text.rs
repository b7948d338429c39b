//! A fit rendered the way lme4's `summary()` prints it, so R users find everything where
//! they expect it.

use super::pad;
use mixspec_engine::fit::RandomEffects;
use mixspec_engine::inference::{DfRule, FTest};
use mixspec_engine::LmmFit;
use std::fmt::Write;

pub fn summary(fit: &LmmFit, formula: &str, data: &str) -> String {
    let mut s = String::new();
    let method = if fit.reml {
        "REML"
    } else {
        "maximum likelihood"
    };
    let tests = match fit.df_rule() {
        Some(DfRule::Satterthwaite) => ". t-tests use Satterthwaite's method".to_string(),
        Some(rule) => format!(". t-tests use {}", rule.describe()),
        None => String::new(),
    };
    let _ = writeln!(s, "Linear mixed model fit by {method}{tests}");
    let _ = writeln!(s, "Formula: {formula}");
    let _ = writeln!(s, "   Data: {data}\n");
    if fit.reml {
        let _ = writeln!(s, "REML criterion at convergence: {:.1}\n", fit.objective);
    } else {
        let df_resid = fit.n_obs - fit.beta.len() - fit.theta.len() - 1;
        let cells = [fit.aic, fit.bic, fit.loglik, fit.objective].map(|v| format!("{v:.1}"));
        let _ = writeln!(
            s,
            "{:>9}{:>9}{:>9}{:>9}{:>9}",
            "AIC", "BIC", "logLik", "deviance", "df.resid"
        );
        let _ = writeln!(
            s,
            "{:>9}{:>9}{:>9}{:>9}{:>9}\n",
            cells[0], cells[1], cells[2], cells[3], df_resid
        );
    }

    // A fit from per-subject statistics has no residuals to summarise.
    if !fit.residuals.is_empty() {
        let scaled: Vec<f64> = fit.residuals.iter().map(|r| r / fit.sigma).collect();
        s.push_str(&scaled_residuals(&scaled));
    }

    let _ = writeln!(s, "Random effects:");
    s.push_str(&random_table(&fit.random, Some(fit.sigma)));
    if let Some(r) = &fit.residual_structure {
        let params: Vec<String> = r
            .names
            .iter()
            .zip(&r.values)
            .map(|(n, v)| format!("{n} = {}", sig(*v, 4)))
            .collect();
        let _ = writeln!(
            s,
            "Residual structure: {} ({})",
            r.description,
            params.join(", ")
        );
    }
    s.push_str(&observations(fit.n_obs, &fit.groups()));

    let _ = writeln!(s, "Fixed effects:");
    s.push_str(&fixed_table(fit));
    if fit.beta.len() > 1 {
        let _ = writeln!(s, "\nCorrelation of Fixed Effects:");
        s.push_str(&correlation_table(
            &fit.fixed_names,
            &fit.vcov,
            &fit.std_errors(),
        ));
    }
    if !fit.warnings.is_empty() {
        s.push('\n');
        for w in &fit.warnings {
            let _ = writeln!(s, "{w}");
        }
    }
    s.trim_end().to_string()
}

/// lme4's table of variance components, with the residual's row when the model has one
/// (linear models; a generalized model has none). Shared by both summaries; padded by hand,
/// as names may be wider than the formatter allows.
pub(super) fn random_table(random: &[RandomEffects], residual_sigma: Option<f64>) -> String {
    let mut rows: Vec<[String; 5]> = Vec::new();
    for r in random {
        let q = r.names.len();
        let cov = |a: usize, b: usize| r.covariance[a * q + b];
        for a in 0..q {
            let corr: Vec<String> = (0..a)
                .map(|b| format!("{:.2}", r.correlation(a, b).unwrap_or(f64::NAN)))
                .collect();
            rows.push([
                if a == 0 {
                    r.label.clone()
                } else {
                    String::new()
                },
                r.names[a].clone(),
                sig(cov(a, a), 4),
                sig(cov(a, a).sqrt(), 4),
                corr.join(" "),
            ]);
        }
    }
    if let Some(sigma) = residual_sigma {
        rows.push([
            "Residual".into(),
            String::new(),
            sig(sigma * sigma, 4),
            sig(sigma, 4),
            String::new(),
        ]);
    }
    let header = ["Groups", "Name", "Variance", "Std.Dev.", "Corr"].map(String::from);
    let all: Vec<&[String; 5]> = std::iter::once(&header).chain(rows.iter()).collect();
    let w: Vec<usize> = (0..5)
        .map(|c| pad::widest(all.iter().map(|r| r[c].as_str())))
        .collect();
    let mut out = String::new();
    for r in all {
        let line = format!(
            " {} {} {} {} {}",
            pad::left(&r[0], w[0]),
            pad::left(&r[1], w[1]),
            pad::right(&r[2], w[2]),
            pad::right(&r[3], w[3]),
            r[4],
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

/// lme4's table of fixed effects; with Satterthwaite's t-tests, lmerTest's (df, p-values and
/// significance stars).
fn fixed_table(fit: &LmmFit) -> String {
    let se = fit.std_errors();
    let t: Vec<f64> = fit.beta.iter().zip(&se).map(|(b, s)| b / s).collect();
    let mut cols: Vec<(String, Vec<String>)> = vec![
        ("Estimate".into(), column_decimals(&fit.beta, 4)),
        ("Std. Error".into(), column_decimals(&se, 4)),
    ];
    let Some(tests) = &fit.t_tests else {
        cols.push(("t value".into(), column_decimals(&t, 3)));
        return table(&fit.fixed_names, &cols);
    };
    let df: Vec<f64> = tests.iter().map(|t| t.df).collect();
    let p: Vec<f64> = tests.iter().map(|t| t.p).collect();
    cols.push(("df".into(), column_decimals(&df, 4)));
    cols.push(("t value".into(), column_decimals(&t, 3)));
    cols.push(("Pr(>|t|)".into(), format_p_values(&p, 3)));
    cols.push((
        String::new(),
        p.iter().map(|&v| format!("{:<3}", stars(v))).collect(),
    ));
    let mut out = table(&fit.fixed_names, &cols);
    out.push_str("---\nSignif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1\n");
    out
}

/// R's significance stars (`symnum` with cut points 0.001, 0.01, 0.05, 0.1).
pub(super) fn stars(p: f64) -> &'static str {
    match p {
        p if p <= 0.001 => "***",
        p if p <= 0.01 => "**",
        p if p <= 0.05 => "*",
        p if p <= 0.1 => ".",
        _ => "",
    }
}

/// R's `format.pval(p, digits)` as `printCoefmat` calls it: below machine epsilon
/// `< 2e-16`; from 0.001 up in fixed notation, otherwise in scientific notation, each group
/// with a shared number of decimals.
pub(super) fn format_p_values(p: &[f64], digits: i32) -> Vec<String> {
    let tiny = |v: f64| v < f64::EPSILON;
    let fixed = |v: f64| v >= 1e-3;
    let fixed_values: Vec<f64> = p.iter().copied().filter(|&v| fixed(v)).collect();
    let fixed_cells = column_decimals(&fixed_values, digits);
    // Mantissa decimals: the fewest that show every value to `digits` significant digits.
    let full = (digits - 1).max(0) as usize;
    let sci_decimals = p
        .iter()
        .filter(|&&v| !fixed(v) && !tiny(v) && v.is_finite())
        .map(|&v| {
            (0..full)
                .find(|&d| sci(v, d).parse::<f64>().ok() == sci(v, full).parse::<f64>().ok())
                .unwrap_or(full)
        })
        .max()
        .unwrap_or(full);
    let mut fixed_cells = fixed_cells.into_iter();
    p.iter()
        .map(|&v| {
            if v.is_nan() {
                "NA".into()
            } else if fixed(v) {
                fixed_cells.next().unwrap_or_default()
            } else if tiny(v) {
                "< 2e-16".into()
            } else {
                sci(v, sci_decimals)
            }
        })
        .collect()
}

/// `v` in scientific notation with `d` mantissa decimals, as R prints it (`1.5e+102`).
fn sci(v: f64, d: usize) -> String {
    let s = format!("{v:.d$e}");
    match s.split_once('e') {
        Some((m, e)) => {
            let (sign, e) = e.strip_prefix('-').map_or(('+', e), |e| ('-', e));
            format!("{m}e{sign}{e:0>2}")
        }
        None => s,
    }
}

/// From this magnitude on, fixed notation would print more digits than a double holds
/// (1e102 came out as 103 characters): numbers this large are printed in scientific notation.
const FIXED_LIMIT: f64 = 1e15;

/// The lower triangle of the fixed effects' correlations, columns named as lme4 abbreviates
/// them (shared by linear and generalized summaries).
pub(super) fn correlation_table(names: &[String], vcov: &[f64], se: &[f64]) -> String {
    let p = names.len();
    let short: Vec<String> = names.iter().map(|n| abbreviate(n)).collect();
    let cols: Vec<(String, Vec<String>)> = (0..p - 1)
        .map(|c| {
            let cells = (1..p)
                .map(|r| {
                    if r > c {
                        format!("{:.3}", vcov[r * p + c] / (se[r] * se[c]))
                    } else {
                        String::new()
                    }
                })
                .collect();
            (short[c].clone(), cells)
        })
        .collect();
    table(&short[1..], &cols)
}

/// lme4's line of observations and levels per grouping factor, and the blank line after it.
pub(super) fn observations(n_obs: usize, groups: &[(String, usize)]) -> String {
    if groups.is_empty() {
        return format!("Number of obs: {n_obs}\n\n");
    }
    let groups: Vec<String> = groups.iter().map(|(g, n)| format!("{g}, {n}")).collect();
    format!("Number of obs: {n_obs}, groups:  {}\n\n", groups.join("; "))
}

/// A right-aligned table with row names.
pub(super) fn table(rows: &[String], cols: &[(String, Vec<String>)]) -> String {
    let w0 = pad::widest(rows.iter().map(String::as_str));
    let widths: Vec<usize> = cols
        .iter()
        .map(|(h, v)| pad::widest(v.iter().chain([h]).map(String::as_str)))
        .collect();
    let mut out = " ".repeat(w0);
    for ((h, _), &w) in cols.iter().zip(&widths) {
        let _ = write!(out, " {}", pad::right(h, w));
    }
    out = out.trim_end().to_string();
    out.push('\n');
    for (i, name) in rows.iter().enumerate() {
        out.push_str(&pad::left(name, w0));
        for ((_, v), &w) in cols.iter().zip(&widths) {
            let _ = write!(out, " {}", pad::right(&v[i], w));
        }
        out = out.trim_end().to_string();
        out.push('\n');
    }
    out
}

/// Formats a column with a shared number of decimals: enough for `digits` significant digits
/// of its smallest non-zero entry (at most 6); in scientific notation when an entry reaches
/// [`FIXED_LIMIT`].
pub(super) fn column_decimals(v: &[f64], digits: i32) -> Vec<String> {
    if v.iter().any(|x| x.is_finite() && x.abs() >= FIXED_LIMIT) {
        let d = (digits - 1).max(0) as usize;
        return v
            .iter()
            .map(|&x| {
                if x.is_finite() {
                    sci(x, d)
                } else {
                    format!("{x}")
                }
            })
            .collect();
    }
    let smallest = v
        .iter()
        .map(|x| x.abs())
        .filter(|x| *x > 0.0 && x.is_finite())
        .fold(f64::INFINITY, f64::min);
    let decimals = if smallest.is_finite() {
        (digits - 1 - smallest.log10().floor() as i32).clamp(0, 6) as usize
    } else {
        0
    };
    v.iter().map(|x| format!("{x:.decimals$}")).collect()
}

/// `digits` significant digits, in fixed notation below [`FIXED_LIMIT`].
pub(super) fn sig(x: f64, digits: i32) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    if x.abs() >= FIXED_LIMIT {
        return sci(x, (digits - 1).max(0) as usize);
    }
    let decimals = (digits - 1 - x.abs().log10().floor() as i32).clamp(0, 10) as usize;
    format!("{x:.decimals$}")
}

/// Short column names as R's `abbreviate(minlength = 6)` gives them for common cases.
fn abbreviate(name: &str) -> String {
    if name == "(Intercept)" {
        return "(Intr)".into();
    }
    let mut chars: Vec<char> = name.chars().collect();
    // Drop lower-case vowels from the end (never the first character) until short enough.
    let mut i = chars.len();
    while chars.len() > 6 && i > 1 {
        i -= 1;
        if "aeiou".contains(chars[i]) {
            chars.remove(i);
        }
    }
    chars.truncate(6);
    chars.into_iter().collect()
}

/// lme4's "Scaled residuals:" block: the minimum, quartiles and maximum of `scaled`
/// (residuals over σ, or a GLMM's Pearson residuals).
pub fn scaled_residuals(scaled: &[f64]) -> String {
    let q = [0.0, 0.25, 0.5, 0.75, 1.0].map(|p| quantile(scaled, p));
    let mut s = String::from("Scaled residuals:\n");
    let _ = writeln!(
        s,
        "{:>9}{:>9}{:>9}{:>9}{:>9}",
        "Min", "1Q", "Median", "3Q", "Max"
    );
    let _ = writeln!(
        s,
        "{:>9.4}{:>9.4}{:>9.4}{:>9.4}{:>9.4}\n",
        q[0], q[1], q[2], q[3], q[4]
    );
    s
}

/// R's default (type 7) sample quantile.
pub(super) fn quantile(v: &[f64], p: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let h = (s.len() - 1) as f64 * p;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    s[lo] + (h - lo as f64) * (s[hi] - s[lo])
}

/// lmerTest's `anova(fit)` block: the Type III table with `method`'s denominator df,
/// "Satterthwaite's" or "Kenward-Roger's" (empty for a model without fixed-effect terms).
pub fn anova(table: &[FTest], method: &str) -> String {
    if table.is_empty() {
        return String::new();
    }
    let f: Vec<f64> = table.iter().map(|t| t.f).collect();
    let den: Vec<f64> = table.iter().map(|t| t.den_df).collect();
    let p: Vec<f64> = table.iter().map(|t| t.p).collect();
    let cells = [
        (
            "NumDF",
            table.iter().map(|t| t.num_df.to_string()).collect(),
        ),
        ("DenDF", column_decimals(&den, 4)),
        ("F value", column_decimals(&f, 4)),
        ("Pr(>F)", format_p_values(&p, 3)),
    ];
    let width = pad::widest(table.iter().map(|t| t.term.as_str()));
    // Each column as wide as its widest cell or header, computed once for header and rows.
    let widths: Vec<usize> = cells
        .iter()
        .map(|(name, column)| pad::widest(column.iter().map(String::as_str).chain([*name])))
        .collect();
    let mut s = format!("\nType III Analysis of Variance Table with {method} method\n");
    s.push_str(&" ".repeat(width));
    for ((name, _), &w) in cells.iter().zip(&widths) {
        let _ = write!(s, " {}", pad::right(name, w));
    }
    s.push('\n');
    for (i, t) in table.iter().enumerate() {
        s.push_str(&pad::left(&t.term, width));
        for ((_, column), &w) in cells.iter().zip(&widths) {
            let _ = write!(s, " {}", pad::right(&column[i], w));
        }
        let _ = writeln!(s, " {}", stars(t.p));
    }
    s
}
