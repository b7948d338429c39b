# STAR (mlmRev, apt r-cran-mlmrev) as a CSV for benches/issue19.sh: the rows with math and
# every covariate of math ~ gr + sx + eth + cltype + (yrs | id) + (1 | tch) + (yrs | sch).
# Usage: Rscript benches/star.R OUT.csv
data(star, package = "mlmRev")
vars <- c("id", "tch", "sch", "gr", "sx", "eth", "cltype", "yrs", "math")
d <- star[complete.cases(star[, vars]), vars]
d$gr <- paste0("g", as.character(d$gr)) # plain labels: treatment contrasts on both sides
write.csv(d, commandArgs(TRUE)[1], row.names = FALSE)
