# lme4::glmer references with PIRLS converged (tolPwrss = 1e-10) and a tight BOBYQA, for
# the cases whose default lme4 standard errors are spoiled by PIRLS's stopping rule.
#
# Why: glmer's standard errors come from deriv12(), central differences with step 1e-4 of
# the Laplace deviance over (theta, beta). Its deviance function re-runs PIRLS from the same
# start at every point and stops when the penalized deviance changes by less than
# tolPwrss = 1e-7 (relative). The modes it stops at are off by an amount that changes with
# the point, so the deviance is a slightly rough function and a second difference over 1e-4
# picks up that roughness: cbpp's SEs fall 0.5-1.3% short, and numDeriv's Richardson
# Hessian of the same default deviance function gives different ones again. With
# tolPwrss = 1e-10 the deviance is smooth: deriv12 and numDeriv::hessian then agree to 1e-6
# and glmer's own vcov() gives the SEs mixspec reports. Toenail's default fit also stops
# short of the optimum (log-likelihood -627.8154 against -627.8089 here).
#
# Usage (from the repository root): Rscript tests/data/glmm/converged_pirls.R
suppressMessages({library(lme4); library(jsonlite)})
dir <- "tests/data/glmm"
ctrl <- glmerControl(tolPwrss = 1e-10, optimizer = "bobyqa", optCtrl = list(rhoend = 1e-10, maxfun = 1e5))

fe_rows <- function(co) lapply(seq_len(nrow(co)), function(i) list(term = rownames(co)[i],
  estimate = unname(co[i, 1]), std_error = unname(co[i, 2]), z = unname(co[i, 3]), p = unname(co[i, 4])))

case <- function(name, data, formula, family = "binomial", link = "logit") {
  d <- read.csv(file.path(dir, data), stringsAsFactors = TRUE)
  fam <- get(family)(link = link)
  m0 <- glmer(as.formula(formula), data = d, family = fam)
  m <- glmer(as.formula(formula), data = d, family = fam, control = ctrl)
  dev <- update(m, devFunOnly = TRUE)
  par <- c(getME(m, "theta"), fixef(m))
  h <- numDeriv::hessian(dev, par)
  vc <- as.data.frame(VarCorr(m))
  res <- list(case = name, data = data, formula = formula, family = family, link = link, nagq = 1,
    lme4_version = as.character(packageVersion("lme4")), control = "tolPwrss = 1e-10, bobyqa rhoend = 1e-10",
    n_obs = nobs(m), loglik = as.numeric(logLik(m)), aic = AIC(m), bic = BIC(m),
    theta = unname(getME(m, "theta")), singular = isSingular(m),
    fixed_effects = fe_rows(coef(summary(m))),
    # The same SEs from numDeriv's Richardson Hessian of this deviance function, and from
    # lme4's defaults (tolPwrss = 1e-7), for the record.
    std_error_numderiv = unname(sqrt(diag(2 * solve(h)))[-seq_along(getME(m, "theta"))]),
    std_error_default = unname(sqrt(diag(as.matrix(vcov(m0))))),
    loglik_default = as.numeric(logLik(m0)),
    random_effects = lapply(seq_len(nrow(vc)), function(i) list(group = vc$grp[i],
      var1 = ifelse(is.na(vc$var1[i]), NA, vc$var1[i]), var2 = ifelse(is.na(vc$var2[i]), NA, vc$var2[i]),
      vcov = vc$vcov[i], sdcor = vc$sdcor[i])))
  writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
             file.path(dir, paste0(name, ".json")))
}

case("cbpp_binomial_laplace_converged", "cbpp.csv", "cbind(incidence, size - incidence) ~ period + (1 | herd)")
case("toenail_laplace_converged", "toenail.csv", "moderate_severe ~ treatment * time + (1 | patientID)")
case("epil_poisson_converged", "epil.csv", "y ~ lbase * trt + lage + V4 + (1 | subject)", "poisson", "log")
# The non-canonical binomial links, whose PIRLS (Fisher scoring) converges only linearly.
case("cbpp_probit_converged", "cbpp.csv", "cbind(incidence, size - incidence) ~ period + (1 | herd)", "binomial", "probit")
case("cbpp_cloglog_converged", "cbpp.csv", "cbind(incidence, size - incidence) ~ period + (1 | herd)", "binomial", "cloglog")
