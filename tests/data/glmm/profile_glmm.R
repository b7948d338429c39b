# Profile-likelihood intervals of generalized mixed models (tests/glmm.rs, `profile_*`):
# lme4's confint(method = "profile") for glmer fits, glmmTMB's for the nbinom2 fit.
#
# lme4 profiles a glmer fit over its own deviance function (devfun2: the sd/cor scale of
# theta, then the fixed effects, every other parameter re-optimised) and interpolates the
# signed root zeta with splines. The fits use the converged-PIRLS control of
# converged_pirls.R, so that the deviance the profile walks is smooth; the profile is taken
# on a finer grid than the default (delta.cutoff = 1/32) to keep the spline's error well
# below the tolerance tested.
#
# glmmTMB profiles on its internal scale (log sd, log theta_NB) and interpolates between
# profile points (TMB's tmbprofile); npts = 400 points to the 99% level keeps that error small.
# The fit is make_epil_nbinom2.R's: the better of glmmTMB's default fit and a tighter one.
# The intervals of log-scale parameters are exponentiated here (a profile interval maps
# through a monotone transformation exactly).
#
# Usage (from the repository root): Rscript tests/data/glmm/profile_glmm.R
suppressMessages({library(lme4); library(glmmTMB); library(jsonlite)})
dir <- "tests/data/glmm"
ctrl <- glmerControl(tolPwrss = 1e-10, optimizer = "bobyqa", optCtrl = list(rhoend = 1e-10, maxfun = 1e5))

rows <- function(ci) lapply(seq_len(nrow(ci)), function(i) list(parameter = rownames(ci)[i],
  lower = unname(ci[i, 1]), upper = unname(ci[i, 2])))

lme4_case <- function(name, data, formula, family = "binomial", link = "logit", nAGQ = 1) {
  d <- read.csv(file.path(dir, data), stringsAsFactors = TRUE)
  m <- glmer(as.formula(formula), data = d, family = get(family)(link = link), nAGQ = nAGQ,
             control = ctrl)
  t0 <- proc.time()[["elapsed"]]
  p <- profile(m, delta.cutoff = 1 / 32, maxpts = 400, signames = FALSE)
  ci <- confint(p)
  list(case = name, data = data, formula = formula, family = family, link = link, nagq = nAGQ,
       software = paste("lme4", packageVersion("lme4")),
       control = "tolPwrss = 1e-10, bobyqa rhoend = 1e-10; profile delta.cutoff = 1/32",
       loglik = as.numeric(logLik(m)), estimates = c(getME(m, "theta"), fixef(m)),
       seconds = proc.time()[["elapsed"]] - t0, intervals = rows(ci))
}

out <- list()
out$cbpp_binomial <- lme4_case("cbpp_binomial", "cbpp.csv",
  "cbind(incidence, size - incidence) ~ period + (1 | herd)")
out$cbpp_binomial_agq25 <- lme4_case("cbpp_binomial_agq25", "cbpp.csv",
  "cbind(incidence, size - incidence) ~ period + (1 | herd)", nAGQ = 25)
out$epil_poisson <- lme4_case("epil_poisson", "epil.csv",
  "y ~ lbase * trt + lage + V4 + (1 | subject)", "poisson", "log")
out$epil_poisson_slope <- lme4_case("epil_poisson_slope", "epil.csv",
  "y ~ lbase * trt + lage + period + (1 + period | subject)", "poisson", "log")

# glmmTMB's nbinom2: fixed effects, the subject SD and theta_NB.
d <- read.csv(file.path(dir, "epil.csv"), stringsAsFactors = TRUE)
formula <- "y ~ lbase * trt + lage + V4 + (1 | subject)"
m <- glmmTMB(as.formula(formula), data = d, family = nbinom2)
t <- glmmTMB(as.formula(formula), data = d, family = nbinom2,
             control = glmmTMBControl(optCtrl = list(iter.max = 1e4, eval.max = 1e4, rel.tol = 1e-14)))
if (t$fit$convergence == 0 && as.numeric(logLik(t)) > as.numeric(logLik(m))) m <- t
t0 <- proc.time()[["elapsed"]]
ci <- confint(m, method = "profile", parm = seq_along(m$obj$par), npts = 400, level = 0.95)
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
  control = "nlminb rel.tol = 1e-14; default fit; profile npts = 400",
  internal_names = names_par, loglik = as.numeric(logLik(m)), seconds = secs, intervals = rows(ci))

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
           file.path(dir, "profile_glmm.json"))
