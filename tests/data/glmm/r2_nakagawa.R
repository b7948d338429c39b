# Nakagawa's R² of generalized mixed models from performance::r2_nakagawa (performance
# 0.10.2, insight 0.19: Debian's r-cran-performance), with the variance components behind
# them (insight::get_variance), for tests/glmm.rs.
# Usage (from the repository root): Rscript tests/data/glmm/r2_nakagawa.R
suppressMessages({library(lme4); library(glmmTMB); library(performance); library(jsonlite)})
dir <- "tests/data/glmm"
cbpp <- read.csv(file.path(dir, "cbpp.csv"), stringsAsFactors = TRUE)
epil <- read.csv(file.path(dir, "epil.csv"), stringsAsFactors = TRUE)
cb <- "cbind(incidence, size - incidence) ~ period + (1 | herd)"
ep <- "y ~ lbase * trt + lage + V4 + (1 | subject)"
fits <- list(
  list(data = "cbpp.csv", formula = cb, family = "binomial", link = "logit",
       fit = glmer(as.formula(cb), cbpp, family = binomial)),
  list(data = "cbpp.csv", formula = cb, family = "binomial", link = "probit",
       fit = glmer(as.formula(cb), cbpp, family = binomial(link = "probit"))),
  list(data = "epil.csv", formula = ep, family = "poisson", link = "log",
       fit = glmer(as.formula(ep), epil, family = poisson)),
  list(data = "epil.csv", formula = ep, family = "negative-binomial", link = "log",
       fit = glmmTMB(as.formula(ep), epil, family = nbinom2)))
out <- lapply(fits, function(f) {
  r2 <- suppressWarnings(r2_nakagawa(f$fit))
  v <- suppressWarnings(insight::get_variance(f$fit))
  list(data = f$data, formula = f$formula, family = f$family, link = f$link,
       r2_marginal = unname(r2$R2_marginal), r2_conditional = unname(r2$R2_conditional),
       var_fixed = v$var.fixed, var_random = v$var.random, var_distribution = v$var.distribution)
})
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), file.path(dir, "r2_nakagawa.json"))
