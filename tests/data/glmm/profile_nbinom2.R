# Profile-likelihood intervals of the epilepsy trial's negative binomial (tests/glmm.rs,
# `profile_intervals_match_lme4_and_glmmtmb`): glmmTMB's confint(method = "profile") for
# nbinom2, with the fit of make_epil_nbinom2.R (the better of glmmTMB's default fit and a
# tighter one). glmmTMB profiles on its internal scale (log sd, log theta_NB) and
# interpolates between profile points (TMB's tmbprofile); npts = 64 points to the 99%
# level (the default is 8) keeps that error small. The intervals of the log-scale
# parameters are exponentiated here (a profile interval maps through a monotone
# transformation exactly).
#
# Usage (from the repository root): Rscript tests/data/glmm/profile_nbinom2.R
suppressMessages({library(glmmTMB); library(jsonlite)})
dir <- "tests/data/glmm"
rows <- function(ci) lapply(seq_len(nrow(ci)), function(i) list(parameter = rownames(ci)[i],
  lower = unname(ci[i, 1]), upper = unname(ci[i, 2])))
out <- list()
# glmmTMB's nbinom2: fixed effects, the subject SD and theta_NB.
d <- read.csv(file.path(dir, "epil.csv"), stringsAsFactors = TRUE)
formula <- "y ~ lbase * trt + lage + V4 + (1 | subject)"
m <- glmmTMB(as.formula(formula), data = d, family = nbinom2)
t <- glmmTMB(as.formula(formula), data = d, family = nbinom2,
             control = glmmTMBControl(optCtrl = list(iter.max = 1e4, eval.max = 1e4, rel.tol = 1e-14)))
if (t$fit$convergence == 0 && as.numeric(logLik(t)) > as.numeric(logLik(m))) m <- t
t0 <- proc.time()[["elapsed"]]
ci <- confint(m, method = "profile", parm = seq_along(m$obj$par), npts = 64, level = 0.95)
secs <- proc.time()[["elapsed"]] - t0
ci <- ci[, 1:2, drop = FALSE]
names_par <- names(m$obj$par)
# theta (log sd) and betad (log theta_NB) rows are on the log scale: back to the natural one.
logscale <- names_par %in% c("theta", "betad", "betadisp")
ci[logscale, ] <- exp(ci[logscale, ])
rownames(ci) <- c(rownames(summary(m)$coefficients$cond), ifelse(names_par[logscale] == "theta", "sd_(Intercept)|subject", "nb_theta"))
out$epil_nbinom2 <- list(case = "epil_nbinom2", data = "epil.csv", formula = formula,
  family = "negative-binomial", link = "log", nagq = 1,
  software = paste("glmmTMB", packageVersion("glmmTMB")),
  control = "nlminb rel.tol = 1e-14; default fit; profile npts = 64",
  internal_names = names_par, loglik = as.numeric(logLik(m)), seconds = secs, intervals = rows(ci))

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
           file.path(dir, "profile_nbinom2.json"))
