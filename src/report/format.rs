//! Numbers as a methodologist reads them in a table: four significant digits for estimates,
//! one decimal for likelihoods and information criteria, p-values as R's `format.pval`.

/// Four significant digits, scientific for very large or small magnitudes; `—` for NaN.
pub fn estimate(x: f64) -> String {
    significant(x, 4)
}

pub fn significant(x: f64, digits: i32) -> String {
    if x.is_nan() {
        return "—".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let magnitude = x.abs().log10().floor() as i32;
    if !(-4..6).contains(&magnitude) {
        return format!("{:.*e}", (digits - 1) as usize, x);
    }
    let decimals = (digits - 1 - magnitude).max(0) as usize;
    format!("{x:.decimals$}")
}

/// One decimal, as lme4 prints AIC, BIC, logLik and deviances.
pub fn criterion(x: f64) -> String {
    if x.is_nan() {
        "—".into()
    } else {
        format!("{x:.1}")
    }
}

/// Three significant digits, `< 2e-16` below R's machine-precision floor; `—` for NaN.
pub fn p_value(p: f64) -> String {
    if p.is_nan() {
        "—".into()
    } else if p < 2.2e-16 {
        "< 2e-16".into()
    } else if p < 1e-4 {
        format!("{p:.2e}")
    } else {
        significant(p, 3)
    }
}

/// A p-value as a paper prints it (APA): three decimals without the leading zero, `< .001`
/// below that; the exact value stays in the CSV.
pub fn p_paper(p: f64) -> String {
    if p.is_nan() {
        "—".into()
    } else if p < 0.001 {
        "< .001".into()
    } else {
        let text = format!("{p:.3}");
        text.strip_prefix('0').unwrap_or(&text).to_string()
    }
}

/// The usual stars: `***` below 0.001, `**` below 0.01, `*` below 0.05, `.` below 0.1.
pub fn stars(p: f64) -> &'static str {
    match p {
        p if p < 0.001 => "***",
        p if p < 0.01 => "**",
        p if p < 0.05 => "*",
        p if p < 0.1 => ".",
        _ => "",
    }
}

/// A number for a CSV cell: the shortest text that reads back as the same number, in
/// exponent notation when very small or large; `NA` for missing, as R's `write.csv`.
pub fn cell(x: f64) -> String {
    if x.is_nan() {
        "NA".into()
    } else if x != 0.0 && x.is_finite() && !(1e-4..1e15).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_digits() {
        assert_eq!(estimate(251.405), "251.4");
        assert_eq!(estimate(10.4673), "10.47");
        assert_eq!(estimate(-0.021346), "-0.02135");
        assert_eq!(estimate(123456.0), "123456");
        assert_eq!(estimate(12345678.0), "1.235e7");
        assert_eq!(estimate(0.0), "0");
        assert_eq!(p_value(0.04567), "0.0457");
        assert_eq!(p_value(1.3e-7), "1.30e-7");
        assert_eq!(p_value(1e-20), "< 2e-16");
        assert_eq!(stars(0.04), "*");
        assert_eq!(cell(f64::NAN), "NA");
        assert_eq!(cell(2.5e-18), "2.5e-18");
        assert_eq!(cell(0.5), "0.5");
    }
}
