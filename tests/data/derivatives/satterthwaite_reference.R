# lmerTest's Satterthwaite t-tests of the coefficients on the several-factor models of
# tests/derivatives.rs (issue 19 item 3: Satterthwaite from the analytic derivatives on the
# STAR-, therapist- and kb07-shaped models), for its `satterthwaite_several_factors` test.
# kb07 is fitted by REML only: its ML fit is singular with several optima on the boundary
# (mixspec stops at a higher deviance there and says it did not converge).
# Usage: Rscript tests/data/derivatives/satterthwaite_reference.R
#   (lme4 1.1-31, lmerTest; writes tests/data/derivatives/satterthwaite_reference.json)
suppressMessages({
  library(lmerTest)
  library(jsonlite)
})
dir <- "tests/data/derivatives"
run <- function(file, formula, reml) {
  d <- read.csv(file.path(dir, file), stringsAsFactors = TRUE)
  f <- lmer(as.formula(formula), d, REML = reml)
  co <- summary(f)$coefficients
  list(
    file = file, formula = formula, reml = reml,
    objective = if (reml) REMLcrit(f) else deviance(f),
    theta = unname(getME(f, "theta")),
    coefficients = lapply(seq_len(nrow(co)), function(i) list(
      name = rownames(co)[i], estimate = co[i, "Estimate"], se = co[i, "Std. Error"],
      df = co[i, "df"], p = co[i, "Pr(>|t|)"]
    ))
  )
}
kb07 <- "rt ~ 1 + spkr + prec + load + (1 + spkr + prec + load | subj) + (1 + spkr + prec + load | item)"
fits <- list(
  run("star_sparse.csv", "math ~ yrs + (yrs | id) + (1 | tch) + (yrs | sch)", TRUE),
  run("therapist_sparse.csv", "y ~ months + (months | therapist) + (months | therapist:patient)", TRUE),
  run("kb07.csv", kb07, TRUE)
)
write_json(fits, file.path(dir, "satterthwaite_reference.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
