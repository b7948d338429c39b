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
  if (inherits(fit, "lme")) res$random_sd <- as.list(sqrt(diag(getVarCov(fit))))
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
