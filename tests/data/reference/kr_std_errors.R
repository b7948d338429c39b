# Kenward–Roger adjusted standard errors (pbkrtest via lmerTest's summary(ddf = "Kenward-Roger")),
# the `std_error_kr` of `mixspec fit --kr`. Run from this folder:
#   Rscript kr_std_errors.R   (R 4.2, lme4 1.1-31, lmerTest, pbkrtest)
suppressMessages({ library(lmerTest); library(jsonlite) })
cases <- list(
  list(name = "sleepstudy", data = "sleepstudy.csv", formula = "Reaction ~ Days + (Days | Subject)"),
  list(name = "orthodont", data = "orthodont.csv", formula = "distance ~ age * Sex + (age | Subject)"),
  # Unbalanced (every subject loses some days, more for later subjects): the adjustment is
  # not zero.
  list(name = "sleepstudy_unbalanced", data = "sleepstudy_unbalanced.csv",
       formula = "Reaction ~ Days + (Days | Subject)")
)
s <- read.csv("sleepstudy.csv")
keep <- (s$Days + as.integer(factor(s$Subject))) %% 4 != 0 | s$Days < 2
write.csv(s[keep, ], "sleepstudy_unbalanced.csv", row.names = FALSE)
out <- lapply(cases, function(k) {
  d <- read.csv(k$data)
  m <- lmer(as.formula(k$formula), data = d, REML = TRUE)
  kr <- coef(summary(m, ddf = "Kenward-Roger"))
  list(name = k$name, data = k$data, formula = k$formula,
       terms = rownames(kr), std_error_kr = unname(kr[, "Std. Error"]),
       std_error = unname(coef(summary(m))[, "Std. Error"]))
})
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "kr_std_errors.json")
