# Predictions and conditional modes of cbpp's binomial GLMM from lme4::glmer (PIRLS
# converged, tolPwrss = 1e-10): predict() on the link and response scales, with and
# without the random effects, and ranef(), for tests/glmm.rs.
# Usage (from the repository root): Rscript tests/data/glmm/cbpp_predictions.R
suppressMessages({library(lme4); library(jsonlite)})
dir <- "tests/data/glmm"
d <- read.csv(file.path(dir, "cbpp.csv"), stringsAsFactors = TRUE)
m <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), d, family = binomial,
           control = glmerControl(tolPwrss = 1e-10))
re <- ranef(m)$herd
out <- list(eta = unname(predict(m)), mu = unname(predict(m, type = "response")),
            eta_population = unname(predict(m, re.form = NA)),
            mu_population = unname(predict(m, re.form = NA, type = "response")),
            levels = rownames(re), modes = re[[1]])
writeLines(toJSON(out, digits = NA, pretty = TRUE), file.path(dir, "cbpp_predictions.json"))
