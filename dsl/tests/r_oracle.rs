//! Differential test against R itself: random formulas expanded by R's `terms()` and lme4's
//! `findbars()`/`nobars()` must expand identically here. Needs `Rscript` with lme4 installed,
//! hence ignored by default: `cargo test -p mixspec-dsl --test r_oracle -- --ignored`.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use mixspec_dsl::{parse_formula, FormulaErrorKind};
use mixspec_engine::spec::TermList;

/// Prints, per formula, `OK <intercept> <fixed labels> <random terms>` or `ERR <message>`.
/// lme4 prints nested group names with parentheses (`c:(b:a)`); they are dropped to compare
/// with the plain `:`-joined names.
const R_SCRIPT: &str = r#"
suppressMessages(library(lme4))
lab <- function(t) paste(attr(t, "term.labels"), collapse=";")
for (s in readLines(file("stdin"))) {
  out <- tryCatch({
    fo <- as.formula(s)
    tt <- terms(nobars(fo))
    bars <- paste(sapply(findbars(fo), function(b) {
      t2 <- terms(eval(substitute(~foo, list(foo = b[[2]]))))
      sprintf("{%d[%s]|%s}", attr(t2, "intercept"), lab(t2), gsub("[()]", "", deparse(b[[3]])))
    }), collapse=" ")
    sprintf("OK\t%d\t%s\t%s", attr(tt, "intercept"), lab(tt), bars)
  }, error = function(e) paste("ERR", gsub("[\n\t]", " ", conditionMessage(e))))
  cat(out, "\n", sep="")
}
"#;

fn summary(src: &str) -> Result<String, FormulaErrorKind> {
    let spec = parse_formula(src).map_err(|e| e.kind())?;
    let labels = |t: &TermList| {
        t.terms
            .iter()
            .map(|t| t.label())
            .collect::<Vec<_>>()
            .join(";")
    };
    let bars: Vec<String> = spec
        .random
        .iter()
        .map(|r| {
            format!(
                "{{{}[{}]|{}}}",
                u8::from(r.terms.intercept),
                labels(&r.terms),
                r.group_name()
            )
        })
        .collect();
    Ok(format!(
        "OK\t{}\t{}\t{}",
        u8::from(spec.fixed.intercept),
        labels(&spec.fixed),
        bars.join(" ")
    ))
}

#[test]
#[ignore = "needs Rscript with lme4"]
fn random_formulas_expand_as_in_r() {
    let mut rng = common::Rng::new(2024);
    let formulas: Vec<String> = (0..2000).map(|_| common::formula(&mut rng)).collect();

    let mut r = Command::new("Rscript")
        .args(["-e", R_SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("Rscript must be on PATH");
    r.stdin
        .take()
        .unwrap()
        .write_all((formulas.join("\n") + "\n").as_bytes())
        .unwrap();
    let output = r.wait_with_output().unwrap();
    assert!(output.status.success(), "Rscript failed");
    let expected: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| l.trim_end().to_string())
        .collect();
    assert_eq!(expected.len(), formulas.len());

    let mut mismatches = Vec::new();
    for (src, want) in formulas.iter().zip(&expected) {
        let ours = summary(src);
        let agree = match &ours {
            Ok(got) => {
                got.trim_end() == want
                // lme4 1.1-31 fails to split `(1 || g)`, which has nothing but an intercept.
                || want.starts_with("ERR") && want.contains("unexpected '|'")
            }
            // lme4 accepts random terms with no effects at all, then fails to fit them.
            Err(FormulaErrorKind::EmptyRandomTerm) => {
                want.contains("{0[]|") || want.starts_with("ERR")
            }
            Err(_) => want.starts_with("ERR"),
        };
        if !agree {
            mismatches.push(format!("{src}\n    R:    {want}\n    ours: {ours:?}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
