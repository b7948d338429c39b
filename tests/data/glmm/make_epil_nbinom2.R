# Reference for the epilepsy trial's negative binomial fit (tests/glmm.rs, `epil_nbinom2`):
# glmmTMB's nbinom2 (Var(y) = mu + mu^2 / theta) with the formula of `epil_poisson.json`,
# fitted to the committed `epil.csv` (MASS::epil, Thall & Vail 1990) read as a user's file.
# The reference is the better of glmmTMB's default fit and one with tighter nlminb
# tolerances (when that one converges). Usage, from this folder: Rscript make_epil_nbinom2.R
suppressMessages({library(glmmTMB); library(jsonlite)})
d <- read.csv("epil.csv", stringsAsFactors = TRUE)
formula <- "y ~ lbase * trt + lage + V4 + (1 | subject)"
m <- glmmTMB(as.formula(formula), data = d, family = nbinom2)
t <- glmmTMB(as.formula(formula), data = d, family = nbinom2,
             control = glmmTMBControl(optCtrl = list(iter.max = 1e4, eval.max = 1e4, rel.tol = 1e-14)))
if (t$fit$convergence == 0 && as.numeric(logLik(t)) > as.numeric(logLik(m))) m <- t
co <- summary(m)$coefficients$cond
sd <- unname(attr(VarCorr(m)$cond$subject, "stddev"))
res <- list(
  case = "epil_nbinom2", data = "epil.csv", formula = formula, family = "negative-binomial",
  link = "log", nagq = 1, glmmTMB_version = as.character(packageVersion("glmmTMB")),
  n_obs = nobs(m), groups = list(subject = nlevels(d$subject)),
  loglik = as.numeric(logLik(m)), aic = AIC(m), bic = BIC(m),
  # One scalar random effect and no residual scale: lme4's theta is its standard deviation.
  theta = sd, singular = sd < 1e-4,
  nb_theta = unname(sigma(m)),
  fixed_effects = lapply(seq_len(nrow(co)), function(i) list(term = rownames(co)[i],
    estimate = unname(co[i, 1]), std_error = unname(co[i, 2]), z = unname(co[i, 3]), p = unname(co[i, 4]))),
  random_effects = list(list(group = "subject", var1 = "(Intercept)", var2 = NA, vcov = sd^2, sdcor = sd)),
  # The Poisson fit of the same formula (lme4's, epil_poisson.json) is the boundary
  # theta -> Inf of this model: the likelihood-ratio statistic and its halved chi-square(1)
  # p-value, for the spec's compare.
  poisson_loglik = fromJSON("epil_poisson.json")$loglik
)
res$lrt_chisq <- 2 * (res$loglik - res$poisson_loglik)
res$lrt_p_boundary <- 0.5 * pchisq(res$lrt_chisq, 1, lower.tail = FALSE)
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"), "epil_nbinom2.json")
