# One whole R process for benches/glmm_whole.sh: read the CSV, fit the generalized mixed
# model and take its summary (the Wald table mixspec prints). binomial and poisson with
# lme4::glmer (Laplace); negative-binomial with glmmTMB's nbinom2, as the issue compares.
# Prints -2 log-likelihood to compare with mixspec's objective.
# Usage: Rscript benches/glmm_whole.R DATA.csv "FORMULA" binomial|poisson|negative-binomial
a <- commandArgs(trailingOnly = TRUE)
d <- read.csv(a[1], stringsAsFactors = TRUE)
f <- as.formula(a[2])
fit <- if (a[3] == "negative-binomial") {
  suppressMessages(library(glmmTMB))
  glmmTMB(f, data = d, family = nbinom2)
} else {
  suppressMessages(library(lme4))
  glmer(f, data = d, family = a[3])
}
invisible(capture.output(summary(fit)))
cat(sprintf("%.6f\n", -2 * as.numeric(logLik(fit))))
