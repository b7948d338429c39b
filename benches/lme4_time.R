# Times lme4's lmer() on one data set and formula, the way benches/fits.rs times mixspec:
# data read and formula parsed outside the timing, median over repetitions.
# Usage: Rscript benches/lme4_time.R DATA.csv "FORMULA" REML|ML REPS
suppressMessages(library(lme4))
a <- commandArgs(trailingOnly = TRUE)
d <- read.csv(a[1], stringsAsFactors = TRUE)
f <- as.formula(a[2]); reml <- toupper(a[3]) == "REML"; reps <- as.integer(a[4])
times <- replicate(reps, { t0 <- proc.time()[["elapsed"]]; lmer(f, data = d, REML = reml); proc.time()[["elapsed"]] - t0 })
cat(sprintf("%.6f\n", median(times)))
