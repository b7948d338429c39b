# Reference for specs/mbt_remission.spec's `remission_outcome` (tests/spec_cli.rs): lme4's
# glmer with adaptive Gauss-Hermite quadrature (nAGQ = 10) of remission (GAF >= 60 at an
# assessment) on months by outcome group (good: GAF >= 60 at 36 months), with a random
# intercept per patient, on the bundled cohort (data/mbt_cohort.csv). The spec's rows are
# those with a GAF and an outcome group (every such patient has a TASKS rating, so the
# spec's `not missing(early_tasks)` removes none: 901 rows, 148 patients, checked below).
# `loglik_exact` is the exact marginal log-likelihood at glmer's estimates by numerical
# integration per patient, the value quadrature approximates. The better of lme4's default
# fit and a tight BOBYQA refit is kept. Usage, from this folder: Rscript make_mbt_remission.R
suppressMessages({library(lme4); library(jsonlite)})
d <- read.csv("../../../data/mbt_cohort.csv")
final <- tapply(ifelse(d$months == 36, d$gaf, NA), d$patient,
                function(x) if (all(is.na(x))) NA else max(x, na.rm = TRUE))
d$outcome <- factor(ifelse(final[d$patient] >= 60, "good", "poor"), levels = c("good", "poor"))
d$remission <- as.integer(d$gaf >= 60)
wai <- tapply(!is.na(d$wai1), d$patient, any)
d <- d[!is.na(d$remission) & !is.na(d$outcome) & wai[d$patient], ]
stopifnot(nrow(d) == 901, length(unique(d$patient)) == 148)
formula <- remission ~ months * outcome + (1 | patient)
m <- glmer(formula, data = d, family = binomial, nAGQ = 10)
t <- update(m, control = glmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-10, maxfun = 1e5)))
if (-2 * logLik(t) < -2 * logLik(m)) m <- t
X <- getME(m, "X"); eta0 <- drop(X %*% fixef(m)); s <- getME(m, "theta")[[1]]; y <- getME(m, "y")
exact <- sum(vapply(split(seq_along(y), d$patient), function(i) {
  f <- function(b) vapply(b, function(bb) exp(sum(dbinom(y[i], 1, plogis(eta0[i] + s * bb), log = TRUE))) * dnorm(bb), 0)
  log(integrate(f, -12, 12, rel.tol = 1e-12, abs.tol = 0)$value)
}, 0))
co <- coef(summary(m))
res <- list(case = "mbt_remission_outcome_agq10", formula = deparse(formula), family = "binomial",
  link = "logit", nagq = 10, lme4_version = as.character(packageVersion("lme4")), n_obs = nobs(m),
  groups = as.list(ngrps(m)), loglik_lme4 = as.numeric(logLik(m)), loglik_exact = exact,
  theta = unname(getME(m, "theta")),
  fixed_effects = lapply(seq_len(nrow(co)), function(i) list(term = rownames(co)[i],
    estimate = unname(co[i, 1]), std_error = unname(co[i, 2]), z = unname(co[i, 3]), p = unname(co[i, 4]))))
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE), "mbt_remission_outcome_agq10.json")
