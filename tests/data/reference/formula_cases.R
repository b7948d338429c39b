# Reference fits for formulas lme4 accepts beyond plain columns: an unparenthesized bar,
# poly(), scale(), factor(), log10(), log2(), and random terms with tied numbers of levels
# (lme4's mkReTrms reorders with rev(order(nl)) only when some term has more levels than the
# one before it). Same schema as the other references (see lme4_fit.R beside this file).
# Run from this folder: Rscript formula_cases.R   (R 4.2, lme4 1.1-31, lmerTest, pbkrtest)
suppressMessages({library(lme4); library(lmerTest); library(jsonlite)})

# Part x Operator gauge study with as many parts as operators, so that the two main grouping
# factors tie on their number of levels.
set.seed(19)
g <- expand.grid(rep = 1:2, Operator = sprintf("o%d", 1:6), Part = sprintf("p%d", 1:6))
part <- rnorm(6, 0, 2); op <- rnorm(6, 0, 1); po <- rnorm(36, 0, 0.7)
g$y <- round(10 + part[as.integer(g$Part)] + op[as.integer(g$Operator)] +
  po[(as.integer(g$Part) - 1) * 6 + as.integer(g$Operator)] + rnorm(nrow(g), 0, 0.5), 3)
write.csv(g[, c("Part", "Operator", "y")], "gauge.csv", row.names = FALSE)

fit_json <- function(case, data, formula, reml) {
  d <- read.csv(data, stringsAsFactors = TRUE)
  m <- lmerTest::lmer(as.formula(formula), data = d, REML = reml)
  co <- coef(summary(m)); vc <- as.data.frame(VarCorr(m))
  kr <- if (reml) coef(summary(m, ddf = "Kenward-Roger")) else NULL
  fe <- lapply(seq_len(nrow(co)), function(i) c(list(term = rownames(co)[i], estimate = co[i, "Estimate"],
    std_error = co[i, "Std. Error"], df = co[i, "df"], t = co[i, "t value"], p = co[i, "Pr(>|t|)"]),
    if (is.null(kr)) list() else list(df_kr = kr[i, "df"], p_kr = kr[i, "Pr(>|t|)"])))
  re <- lapply(seq_len(nrow(vc)), function(i) list(group = vc$grp[i], var1 = vc$var1[i], var2 = vc$var2[i],
    vcov = vc$vcov[i], sdcor = vc$sdcor[i]))
  ll <- logLik(m)
  out <- list(case = case, data = data, formula = formula, method = if (reml) "REML" else "ML",
    lme4_version = as.character(packageVersion("lme4")), n_obs = nobs(m), groups = as.list(ngrps(m)),
    term_order = names(getME(m, "cnms")),
    loglik = as.numeric(ll), objective = if (reml) unname(REMLcrit(m)) else unname(deviance(m)),
    aic = AIC(m), bic = BIC(m), sigma = sigma(m), theta = unname(getME(m, "theta")),
    singular = isSingular(m), fixed_effects = fe, random_effects = re)
  writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"), paste0(case, ".json"))
}

fit_json("formula_dyestuff_bare_bar_reml", "dyestuff.csv", "Yield ~ 1|Batch", TRUE)
fit_json("formula_sleepstudy_bare_bar_reml", "sleepstudy.csv", "Reaction ~ (1 + Days)|Subject", TRUE)
fit_json("formula_sleepstudy_poly_reml", "sleepstudy.csv",
  "Reaction ~ poly(Days, 2) + (poly(Days, 2) | Subject)", TRUE)
fit_json("formula_sleepstudy_factor_scale_reml", "sleepstudy.csv",
  "Reaction ~ factor(Days) + (scale(Days) | Subject)", TRUE)
fit_json("formula_sleepstudy_log_ml", "sleepstudy.csv",
  "log2(Reaction) ~ log10(Days + 1) + (1 | Subject)", FALSE)
fit_json("formula_gauge_ties_reml", "gauge.csv",
  "y ~ (1|Part) + (1|Operator) + (1|Part:Operator)", TRUE)
fit_json("formula_gauge_ties_kept_reml", "gauge.csv",
  "y ~ (1|Part:Operator) + (1|Part) + (1|Operator)", TRUE)

# Columns of poly() and scale() themselves, for the engine's unit tests.
x <- c(0, 1, 2, 3, 5, 8, 13, 21)
writeLines(toJSON(list(x = x, poly3 = unname(unclass(poly(x, 3))), scale = as.vector(scale(x)),
  names = colnames(model.matrix(~ poly(x, 2) + scale(x) + factor(x %% 3) + log10(x + 1) + log2(x + 1)))),
  digits = NA, pretty = TRUE), "formula_columns.json")
