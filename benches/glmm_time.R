# Times one generalized mixed-model fit in R the way benches/glmm.rs times mixspec: data
# read outside the timing, median over repetitions. glmer for binomial and Poisson (NAGQ
# nodes), glmmTMB nbinom2 for the negative binomial.
# Usage: Rscript benches/glmm_time.R DATA.csv "FORMULA" FAMILY NAGQ REPS
a <- commandArgs(trailingOnly = TRUE)
d <- read.csv(a[1], stringsAsFactors = TRUE)
f <- as.formula(a[2]); family <- a[3]; nagq <- as.integer(a[4]); reps <- as.integer(a[5])
suppressMessages({library(lme4); library(glmmTMB)})
fit <- function() if (family == "negative-binomial") glmmTMB(f, data = d, family = nbinom2) else
  glmer(f, data = d, family = family, nAGQ = nagq)
times <- replicate(reps, { t0 <- proc.time()[["elapsed"]]; fit(); proc.time()[["elapsed"]] - t0 })
cat(sprintf("%.6f\n", median(times)))
