# lme4's optima on the data of tests/derivatives.rs's sparse_dense_block test
# (`benches/make_issue19_data.py tests/data/derivatives sparse`): the REML criterion or ML
# deviance, then θ. Usage: Rscript tests/data/derivatives/sparse_reference.R (lme4 1.1-31).
suppressMessages(library(lme4))
run <- function(file, formula) {
  d <- read.csv(file.path("tests/data/derivatives", file), stringsAsFactors = TRUE)
  for (reml in c(TRUE, FALSE)) {
    f <- lmer(as.formula(formula), d, REML = reml)
    cat(file, if (reml) "REML" else "ML", sprintf("%.6f", if (reml) REMLcrit(f) else deviance(f)),
        sprintf("%.6f", getME(f, "theta")), "\n")
  }
}
run("star_sparse.csv", "math ~ yrs + (yrs | id) + (1 | tch) + (yrs | sch)")
run("therapist_sparse.csv", "y ~ months + (months | therapist) + (months | therapist:patient)")
