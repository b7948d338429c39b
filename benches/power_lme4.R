# lme4 + lmerTest refits of the cohorts of the issue's a priori design (docs/power.md,
# specs/power_slope.spec): what simr would spend per simulation, timed on a smaller run.
# Usage: Rscript benches/power_lme4.R [simulations per size, default 100]
suppressPackageStartupMessages({ library(lme4); library(lmerTest) })
args <- commandArgs(trailingOnly = TRUE)
nsim <- if (length(args) > 0) as.integer(args[1]) else 100L
set.seed(11)
times <- 0:4
simulate_cohort <- function(n) {
  id <- rep(seq_len(n), each = length(times))
  time <- rep(times, n)
  group <- factor(rep(rep(c("a", "b"), each = n / 2), each = length(times)))
  b0 <- rnorm(n, 0, 1)[id]
  b1 <- rnorm(n, 0, 0.3)[id]
  y <- 0.5 * time + 0.25 * time * (group == "b") + b0 + b1 * time + rnorm(length(id))
  data.frame(y, time, group, id = factor(id))
}
total <- 0
fits <- 0
rejected <- c()
for (n in c(40, 80, 120)) {
  cohorts <- lapply(seq_len(nsim), function(i) simulate_cohort(n))
  elapsed <- system.time({
    p <- vapply(cohorts, function(d) {
      fit <- lmerTest::lmer(y ~ time * group + (time | id), data = d)
      summary(fit)$coefficients["time:groupb", "Pr(>|t|)"]
    }, numeric(1))
  })[["elapsed"]]
  total <- total + elapsed
  fits <- fits + nsim
  cat(sprintf("N = %d: %d refits in %.2f s (%.1f ms each), power %.3f\n", n, nsim, elapsed,
              1000 * elapsed / nsim, mean(p < 0.05)))
}
cat(sprintf("all: %.1f ms per refit; 3 sizes x 2000 simulations would take %.0f s\n",
            1000 * total / fits, 6000 * total / fits))
