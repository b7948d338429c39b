# Type III ANOVA tables with Satterthwaite's method from lmerTest, for tests/anova.rs.
# Run from this directory: Rscript make_anova.R
suppressPackageStartupMessages({ library(lmerTest); library(jsonlite) })
ref <- "../reference"
cases <- list(
  cake_reml = list(data = "cake.csv", formula = "angle ~ recipe * temp + (1 | recipe:replicate)"),
  orthodont_reml = list(data = "orthodont.csv", formula = "distance ~ age * Sex + (age | Subject)"),
  sleepstudy_reml = list(data = "sleepstudy.csv", formula = "Reaction ~ Days + (Days | Subject)")
)
for (name in names(cases)) {
  case <- cases[[name]]
  d <- read.csv(file.path(ref, case$data), stringsAsFactors = TRUE)
  m <- lmer(as.formula(case$formula), data = d, REML = TRUE)
  a <- anova(m, type = 3, ddf = "Satterthwaite")
  rows <- lapply(seq_len(nrow(a)), function(i) list(
    term = rownames(a)[i], num_df = a$NumDF[i], den_df = a$DenDF[i],
    F = a[["F value"]][i], p = a[["Pr(>F)"]][i]))
  out <- list(data = case$data, formula = case$formula, method = "REML",
              lmerTest = as.character(packageVersion("lmerTest")), anova = rows)
  writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), paste0(name, ".json"))
}
