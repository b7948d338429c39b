# nlme reference fits for the residual structures and covariance types that lme4 lacks.
# Run from the repository root: Rscript tests/data/nlme/make_references.R
# (Needs r-base-core; nlme ships with R.) Writes tests/data/nlme/*.json.
suppressMessages({library(nlme); library(jsonlite)})
out <- function(name, fit, data, formula, residual, covariance = NULL) {
  co <- summary(fit)$tTable
  cp <- tryCatch(coef(fit$modelStruct$corStruct, unconstrained = FALSE), error = function(e) NULL)
  vp <- tryCatch(coef(fit$modelStruct$varStruct, unconstrained = FALSE), error = function(e) NULL)
  res <- list(case = name, data = data, formula = formula, residual = residual, covariance = covariance,
    method = fit$method, nlme_version = as.character(packageVersion("nlme")), n_obs = fit$dims$N,
    loglik = as.numeric(logLik(fit)), aic = AIC(fit), sigma = fit$sigma,
    correlation_parameter = if (is.null(cp)) NULL else unname(cp[1]),
    variance_ratios = if (is.null(vp)) NULL else as.list(vp),
    fixed_effects = lapply(seq_len(nrow(co)), function(i) list(term = rownames(co)[i],
      estimate = co[i, "Value"], std_error = co[i, "Std.Error"], t = co[i, "t-value"], p = co[i, "p-value"])))
  # gls tests every coefficient on the residual degrees of freedom, N - p.
  if (inherits(fit, "gls")) res$df <- fit$dims$N - fit$dims$p
  # (getVarCov has no nested form: nested fits go without random_sd.)
  if (inherits(fit, "lme")) res$random_sd <- tryCatch(as.list(sqrt(diag(getVarCov(fit)))),
                                                      error = function(e) NULL)
  writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"),
             file.path("tests/data/nlme", paste0(name, ".json")))
}
ss <- read.csv("tests/data/reference/sleepstudy.csv", stringsAsFactors = TRUE)
ss$Subject <- factor(ss$Subject)
out("sleepstudy_gls_ar1_reml", gls(Reaction ~ Days, ss, correlation = corAR1(form = ~ 1 | Subject)),
    "sleepstudy.csv", "Reaction ~ Days", "ar1(Subject)")
out("sleepstudy_gls_cs_ml", gls(Reaction ~ Days, ss, correlation = corCompSymm(form = ~ 1 | Subject), method = "ML"),
    "sleepstudy.csv", "Reaction ~ Days", "cs(Subject)")
out("sleepstudy_pdcs_reml", lme(Reaction ~ Days, ss, random = list(Subject = pdCompSymm(~ Days))),
    "sleepstudy.csv", "Reaction ~ Days + (Days | Subject)", NULL, "cs")
od <- read.csv("tests/data/reference/orthodont.csv", stringsAsFactors = TRUE)
out("orthodont_gls_car1_reml", gls(distance ~ age * Sex, od, correlation = corCAR1(form = ~ age | Subject)),
    "orthodont.csv", "distance ~ age * Sex", "car1(age | Subject)")
out("orthodont_varident_reml", lme(distance ~ age * Sex, od, random = ~ 1 | Subject, weights = varIdent(form = ~ 1 | Sex)),
    "orthodont.csv", "distance ~ age * Sex + (1 | Subject)", "varident(Sex)")
# CAR(1) in a time whose steps are small (≈ 0.05): φ^Δt puts the optimum at φ ≈ 2e-5, a badly
# scaled search (BOBYQA stopped 0.49 deviance units short of this ML optimum).
ov <- read.csv("tests/data/reference/residual/ovary.csv", stringsAsFactors = TRUE)
for (m in c("REML", "ML"))
  out(paste0("ovary_car1_", tolower(m)),
      lme(follicles ~ sin2pt + cos2pt, ov, random = ~ 1 | Mare,
          correlation = corCAR1(form = ~ Time | Mare), method = m),
      "residual/ovary.csv", "follicles ~ sin2pt + cos2pt + (1 | Mare)", "car1(Time | Mare)")

# Nested therapist/patient growth models with residual structures (issue 19): random
# intercept and slope of months for therapists and for patients within them, residuals
# correlated within patient (`case` = therapist.patient). The data are
# `benches/make_issue19_data.py DIR small`'s therapist_ar1.csv (AR(1) residuals, phi 0.5).
th <- read.csv("tests/data/derivatives/therapist_ar1.csv", stringsAsFactors = TRUE)
ctl <- lmeControl(maxIter = 500, msMaxIter = 500, niterEM = 100, opt = "optim")
therapist_formula <- "y ~ months + (months | therapist) + (months | therapist:patient)"
for (m in c("REML", "ML"))
  out(paste0("therapist_ar1_", tolower(m)),
      lme(y ~ months, th, random = ~ months | therapist/patient,
          correlation = corAR1(form = ~ 1 | therapist/patient), method = m, control = ctl),
      "derivatives/therapist_ar1.csv", therapist_formula, "ar1(case)")
out("therapist_car1_reml",
    lme(y ~ months, th, random = ~ months | therapist/patient,
        correlation = corCAR1(form = ~ months | therapist/patient), control = ctl),
    "derivatives/therapist_ar1.csv", therapist_formula, "car1(months | case)")
out("therapist_cs_reml",
    lme(y ~ months, th, random = ~ 1 | therapist/patient,
        correlation = corCompSymm(form = ~ 1 | therapist/patient), control = ctl),
    "derivatives/therapist_ar1.csv", "y ~ months + (1 | therapist) + (1 | therapist:patient)",
    "cs(case)")
out("therapist_varident_reml",
    lme(y ~ months, th, random = ~ months | therapist/patient,
        weights = varIdent(form = ~ 1 | months), control = ctl),
    "derivatives/therapist_ar1.csv", therapist_formula, "varident(months)")
