# Profile-likelihood intervals of generalized mixed models (tests/glmm.rs, `profile_*`):
# lme4's confint(method = "profile") for glmer fits.
#
# lme4 profiles a glmer fit over its own deviance function (devfun2: the sd/cor scale of
# theta, then the fixed effects, every other parameter re-optimised) and interpolates the
# signed root zeta with splines. The fits use the converged-PIRLS control of
# converged_pirls.R, so that the deviance the profile walks is smooth; the profile is taken
# on a finer grid than the default (delta.cutoff = 1/32) to keep the spline's error well
# below the tolerance tested.
#
# glmmTMB's profile of the negative binomial is made by profile_nbinom2.R.
#
# Usage (from the repository root): Rscript tests/data/glmm/profile_glmm.R
suppressMessages({library(lme4); library(jsonlite)})
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

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
           file.path(dir, "profile_glmm.json"))
