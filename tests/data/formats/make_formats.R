# Makes the SPSS test files of tests/formats.rs and data/mbt_cohort.sav with haven (ReadStat).
# Run from the repository root:  Rscript tests/data/formats/make_formats.R
# then  python3 tests/data/formats/make_formats.py  for the Parquet and Arrow files.
# The outputs are committed; the tests need neither R nor Python.
library(haven)

out <- "tests/data/formats"
ss <- read.csv("tests/data/reference/sleepstudy.csv")
ss$Subject <- paste0("S", ss$Subject)

# The two cells that every format marks missing its own way.
gone <- c(5, 100)

# CSV: the reference, with the two cells empty.
csv <- ss
csv$Reaction[gone] <- NA
write.csv(csv, file.path(out, "sleepstudy.csv"), row.names = FALSE, na = "")

# SPSS: Subject a labelled numeric of measurement level nominal (haven writes an R factor so:
# codes 1..18 in the levels' order, here the labels' sort order, so its reference level is the
# CSV's); Reaction with one cell at the discrete user-missing code -99 and one inside the
# user-missing range [-9999, -1000]; Days with a value label but of measurement level scale
# (haven writes every labelled() vector so), which therefore stays numeric.
reaction <- ss$Reaction
reaction[gone] <- c(-99, -5000)
sav <- data.frame(
  Reaction = labelled_spss(reaction, na_values = -99, na_range = c(-9999, -1000),
                           label = "Average reaction time (ms)"),
  Days = labelled(ss$Days, c(baseline = 0)),
  Subject = factor(ss$Subject)
)
write_sav(sav, file.path(out, "sleepstudy.sav"))
write_sav(sav, file.path(out, "sleepstudy.zsav"), compress = "zsav")

# Sets the measurement level (1 nominal, 2 ordinal, 3 scale) of variable `k` in a written
# file's variable display record (type 7, subtype 11: measure, width, alignment per variable).
set_measure <- function(path, k, level) {
  bytes <- readBin(path, "raw", n = file.size(path))
  ints <- function(...) writeBin(as.integer(c(...)), raw(), size = 4, endian = "little")
  key <- ints(7, 11)
  at <- which(vapply(seq_len(length(bytes) - 7),
                     function(i) all(bytes[i:(i + 7)] == key), logical(1)))
  stopifnot(length(at) == 1)
  field <- at + 16 + (k - 1) * 12
  bytes[field:(field + 3)] <- ints(level)
  writeBin(bytes, path)
}

# A labelled variable with a value that has no label (code 3), nominal: refused, naming it.
partial <- sav
subjects <- levels(sav$Subject)
partial$Subject <- labelled(as.integer(sav$Subject),
                            setNames(seq_along(subjects), subjects)[-3])
write_sav(partial, file.path(out, "unlabelled_value.sav"))
set_measure(file.path(out, "unlabelled_value.sav"), 3, 1)

# A corrupt file: the good file cut in the middle of its data.
bytes <- readBin(file.path(out, "sleepstudy.sav"), "raw", n = 1e6)
writeBin(bytes[seq_len(length(bytes) - 700)], file.path(out, "truncated.sav"))

# The bundled cohort, with value labels where the CSV has text: R factors, which haven writes
# as labelled numerics of measurement level nominal (codes in the labels' sort order).
cohort <- read.csv("data/mbt_cohort.csv", na.strings = "")
cohort$patient <- factor(cohort$patient)
cohort$version <- factor(cohort$version)
write_sav(cohort, "data/mbt_cohort.sav")

# lme4 on the SPSS file as haven reads it (user-missing to NA, labels to factor levels): the
# reference for the fit from every format.
suppressMessages(library(lme4))
d <- read_sav(file.path(out, "sleepstudy.sav"))
d$Subject <- as_factor(d$Subject)
d$Reaction <- as.numeric(zap_missing(d$Reaction))
d$Days <- as.numeric(d$Days)
fit <- lmer(Reaction ~ Days + Subject + (0 + Days | Subject), d)
writeLines(jsonlite::toJSON(list(
  formula = "Reaction ~ Days + Subject + (0 + Days | Subject)",
  n_obs = nobs(fit), objective = REMLcrit(fit),
  fixed_effects = as.list(fixef(fit))
), auto_unbox = TRUE, digits = NA, pretty = TRUE), file.path(out, "sleepstudy_lme4.json"))
