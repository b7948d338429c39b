# lme4 1.1-31 fits of specs/therapist_effects.spec's models on data/therapist_cohort.csv, and
# the boundary-mixture p-values of their likelihood-ratio tests. Run from the repository root:
#   Rscript tests/data/therapist/lme4_therapist.R > tests/data/therapist/lme4_therapist.txt
# TASKS is scored as the bundled wai-s / wai-sr instruments score it (the mean of the
# subscale's items; no item is missing in the simulated file).
suppressMessages(library(lme4))
d <- read.csv("data/therapist_cohort.csv")
items <- ifelse(d$version == "S", "S", ifelse(d$version == "SR", "SR", NA))
tasks_s <- rowMeans(d[, paste0("wai", c(1, 2, 8, 12))])
tasks_sr <- rowMeans(d[, paste0("wai", c(1, 2, 10, 12))])
d$TASKS <- ifelse(is.na(items), NA, ifelse(items == "S", tasks_s, tasks_sr))
d <- d[!is.na(d$TASKS), ]
ctrl <- lmerControl(optimizer = "bobyqa")
m0 <- lmer(TASKS ~ months + (months | patient), d, REML = TRUE, control = ctrl)
m1 <- lmer(TASKS ~ months + (months | patient) + (1 | therapist), d, REML = TRUE, control = ctrl)
m2 <- lmer(TASKS ~ months + (months | patient) + (months | therapist), d, REML = TRUE, control = ctrl)
mix <- function(x, df) 0.5 * (if (df == 1) as.numeric(x <= 0) else pchisq(x, df - 1, lower.tail = FALSE)) +
  0.5 * pchisq(x, df, lower.tail = FALSE)
ll <- sapply(list(m0, m1, m2), function(m) as.numeric(logLik(m)))
cat(sprintf("n %d\n", nrow(d)))
cat(sprintf("loglik %s %.6f\n", c("no_therapist", "therapist_intercept", "therapist_slope"), ll), sep = "")
x1 <- 2 * (ll[2] - ll[1]); x2 <- 2 * (ll[3] - ll[2])
cat(sprintf("chisq therapist_intercept %.6f p %.6e\n", x1, mix(x1, 1)))
cat(sprintf("chisq therapist_slope %.6f p %.6e\n", x2, mix(x2, 2)))
vc <- as.data.frame(VarCorr(m2))
print(vc, digits = 8)
slope_t <- vc$vcov[vc$grp == "therapist" & vc$var1 == "months" & is.na(vc$var2)]
slope_p <- vc$vcov[vc$grp == "patient" & vc$var1 == "months" & is.na(vc$var2)]
cat(sprintf("share of slope variance between therapists %.6f\n", slope_t / (slope_t + slope_p)))
