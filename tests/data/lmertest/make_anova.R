# Type III ANOVA tables from lmerTest, with Satterthwaite's method (`anova`) and with
# Kenward-Roger's (`anova_kr`, through pbkrtest), for tests/anova.rs.
# Run from this directory: Rscript make_anova.R
suppressPackageStartupMessages({ library(lmerTest); library(pbkrtest); library(jsonlite) })
ref <- "../reference"
# An unbalanced design, where Kenward-Roger's F differs from Satterthwaite's and its scaling
# factor is not 1: cake without every 7th row.
cake <- read.csv(file.path(ref, "cake.csv"))
write.csv(cake[seq_len(nrow(cake)) %% 7 != 0, ], "cake_unbalanced.csv", row.names = FALSE)
cases <- list(
  cake_reml = list(data = "cake.csv", formula = "angle ~ recipe * temp + (1 | recipe:replicate)"),
  cake_crossed_reml = list(data = "cake.csv",
                           formula = "angle ~ recipe * temp + (1 | replicate) + (1 | recipe:replicate)"),
  cake_unbalanced_reml = list(data = "../lmertest/cake_unbalanced.csv",
                              formula = "angle ~ recipe * temp + (1 | replicate) + (1 | recipe:replicate)"),
  orthodont_reml = list(data = "orthodont.csv", formula = "distance ~ age * Sex + (age | Subject)"),
  sleepstudy_reml = list(data = "sleepstudy.csv", formula = "Reaction ~ Days + (Days | Subject)")
)
table <- function(a) lapply(seq_len(nrow(a)), function(i) list(
  term = rownames(a)[i], num_df = a$NumDF[i], den_df = a$DenDF[i],
  F = a[["F value"]][i], p = a[["Pr(>F)"]][i]))
for (name in names(cases)) {
  case <- cases[[name]]
  d <- read.csv(file.path(ref, case$data), stringsAsFactors = TRUE)
  m <- lmer(as.formula(case$formula), data = d, REML = TRUE)
  out <- list(data = case$data, formula = case$formula, method = "REML",
              lmerTest = as.character(packageVersion("lmerTest")),
              pbkrtest = as.character(packageVersion("pbkrtest")),
              anova = table(anova(m, type = 3, ddf = "Satterthwaite")),
              anova_kr = table(anova(m, type = 3, ddf = "Kenward-Roger")))
  writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), paste0(name, ".json"))
}
