# One whole R process for benches/whole_process.sh: read the CSV, fit, and compute what is
# asked; prints the objective (REML criterion or deviance) to compare with mixspec's.
#   lme4     — read.csv + lme4::lmer (the fit alone)
#   lmertest — read.csv + lmerTest::lmer + summary() (Satterthwaite t-tests) + anova()
#              (Type III F-tests): what `mixspec fit` computes by default
# Usage: Rscript benches/lme4_whole.R DATA.csv "FORMULA" REML|ML lme4|lmertest
a <- commandArgs(trailingOnly = TRUE)
d <- read.csv(a[1], stringsAsFactors = TRUE)
f <- as.formula(a[2]); reml <- toupper(a[3]) == "REML"
if (a[4] == "lmertest") {
  suppressMessages(library(lmerTest))
  fit <- lmerTest::lmer(f, data = d, REML = reml)
  invisible(capture.output(summary(fit), anova(fit)))
} else {
  suppressMessages(library(lme4))
  fit <- lme4::lmer(f, data = d, REML = reml)
}
cat(sprintf("%.6f\n", if (reml) lme4::REMLcrit(fit) else deviance(fit)))
