# Reference values for `describe` (tests/spec_cli.rs): R's t.test(var.equal = TRUE), Welch's
# t.test and chisq.test(correct = FALSE) on one value per patient.
# Run from this folder: Rscript make_reference.R
set.seed(20240611)
n <- 41
patient <- seq_len(n)
group <- ifelse(runif(n) < 0.45, "poor", "good")
age <- round(rnorm(n, ifelse(group == "poor", 30, 26), 6))
female <- rbinom(n, 1, ifelse(group == "poor", 0.7, 0.85))
score <- round(rnorm(n, 40, 12), 1)          # measured at baseline only
score[c(5, 17)] <- NA                        # two patients without a baseline score
long <- data.frame(
  patient = rep(patient, each = 2), months = rep(c(0, 3), n),
  group = rep(group, each = 2), age = rep(age, each = 2), female = rep(female, each = 2),
  score = as.vector(rbind(score, NA))
)
# File order is not time order for every patient: the first value is by time.
long <- long[order(long$patient, -long$months), ]
write.csv(long, "groups.csv", row.names = FALSE, na = "")

g <- factor(group)
ref <- function(variable, x) {
  if (all(x %in% c(0, 1, NA))) {
    ct <- suppressWarnings(chisq.test(table(g, x), correct = FALSE))
    data.frame(variable, test = "pearson_chisq", statistic = unname(ct$statistic),
               df = unname(ct$parameter), p = ct$p.value, welch_t = NA, welch_df = NA, welch_p = NA)
  } else {
    st <- t.test(x ~ g, var.equal = TRUE)
    wt <- t.test(x ~ g)
    data.frame(variable, test = "student_t", statistic = unname(st$statistic),
               df = unname(st$parameter), p = st$p.value, welch_t = unname(wt$statistic),
               welch_df = unname(wt$parameter), welch_p = wt$p.value)
  }
}
out <- rbind(ref("age", age), ref("female", female), ref("score", score))
write.csv(out, "reference.csv", row.names = FALSE)
