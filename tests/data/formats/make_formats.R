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

# SPSS: Subject a labelled numeric (codes 1..18 in the labels' sort order, so its reference
# level is the CSV's), Reaction with one cell at the discrete user-missing code -99 and one
# inside the user-missing range [-9999, -1000].
subjects <- sort(unique(ss$Subject))
codes <- setNames(seq_along(subjects), subjects)
reaction <- ss$Reaction
reaction[gone] <- c(-99, -5000)
sav <- data.frame(
  Reaction = labelled_spss(reaction, na_values = -99, na_range = c(-9999, -1000),
                           label = "Average reaction time (ms)"),
  Days = ss$Days,
  Subject = labelled(unname(codes[ss$Subject]), codes, label = "Subject")
)
write_sav(sav, file.path(out, "sleepstudy.sav"))
write_sav(sav, file.path(out, "sleepstudy.zsav"), compress = "zsav")

# A labelled variable with a value that has no label: refused, naming the variable.
partial <- sav
partial$Subject <- labelled(unname(codes[ss$Subject]), codes[-3], label = "Subject")
write_sav(partial, file.path(out, "unlabelled_value.sav"))

# A corrupt file: the good file cut in the middle of its data.
bytes <- readBin(file.path(out, "sleepstudy.sav"), "raw", n = 1e6)
writeBin(bytes[seq_len(length(bytes) - 700)], file.path(out, "truncated.sav"))

# The bundled cohort, with value labels where the CSV has text.
cohort <- read.csv("data/mbt_cohort.csv", na.strings = "")
label_codes <- function(x) {
  levels <- sort(unique(x[!is.na(x)]))
  codes <- setNames(seq_along(levels), levels)
  labelled(unname(codes[x]), codes)
}
cohort$patient <- label_codes(cohort$patient)
cohort$version <- label_codes(cohort$version)
write_sav(cohort, "data/mbt_cohort.sav")
