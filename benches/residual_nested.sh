#!/usr/bin/env bash
# Issue 19, residual structures with several grouping factors: the therapist model
# `y ~ months + (months | therapist) + (months | therapist:patient)` with AR(1) residuals
# within patient (`--residual "ar1(case)"`), REML, whole process (CSV to JSON,
# Satterthwaite included) beside nlme::lme (R's read.csv + lme with
# `corAR1(form = ~ 1 | therapist/patient)`, the fit alone), the load before each run.
# With BEFORE=path/to/other/mixspec that binary runs too, interleaved (e.g. a build whose
# search was BOBYQA for these models).
#
# Usage: benches/residual_nested.sh [OUTDIR] [RUNS]      (defaults: /tmp/issue19, 1)
#   Data: benches/make_issue19_data.py OUTDIR (therapist_ar1.csv: 200 therapists x 15
#   patients x 10 months, residual phi 0.5). MIXSPEC=… picks the binary (default
#   target/release/mixspec, built first).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/issue19}; runs=${2:-1}
bin=${MIXSPEC:-target/release/mixspec}
[[ -n ${MIXSPEC:-} ]] || flock /tmp/mixspec-cargo.lock cargo build --release --quiet
mkdir -p "$out"
data=$out/therapist_ar1.csv
[[ -f $data ]] || python3 benches/make_issue19_data.py "$out"
formula="y ~ months + (months | therapist) + (months | therapist:patient)"
tmp=$(mktemp); trap 'rm -f "$tmp" "$tmp".*' EXIT

# Wall seconds of a command under /usr/bin/time -v (its stdout kept in $tmp.out).
seconds() {
  /usr/bin/time -v "$@" >"$tmp.out" 2>"$tmp.time"
  awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]}
              END {printf "%.2f", s}' "$tmp.time"
}

mixspec() {
  local label=$1 exe=$2 t
  t=$(seconds "$exe" fit --data "$data" --formula "$formula" --residual "ar1(case)" --format json)
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); c=j["convergence"]
print("%-8s %6ss  load %s  %-6s %4s evaluations  REML criterion %.6f  phi %s  converged %s" % (
  sys.argv[2], sys.argv[3], sys.argv[4], c.get("optimizer"), c.get("evaluations"),
  j["objective"], j.get("correlation_parameter"), c.get("converged")))' "$tmp.out" "$label" "$t" \
    "$(cut -d' ' -f1 /proc/loadavg)"
}

cat >"$tmp.R" <<'RS'
suppressMessages(library(nlme))
a <- commandArgs(TRUE)
d <- read.csv(a[1], stringsAsFactors = TRUE)
f <- lme(y ~ months, d, random = ~ months | therapist/patient,
         correlation = corAR1(form = ~ 1 | therapist/patient), method = "REML")
cat(sprintf("%.6f %.6f\n", -2 * as.numeric(logLik(f)), coef(f$modelStruct$corStruct, unconstrained = FALSE)))
RS

printf 'uptime: %s\ndata: %s (%s rows)\n' "$(uptime)" "$data" "$(($(wc -l <"$data") - 1))"
for ((i = 0; i < runs; i++)); do
  mixspec this "$bin"
  [[ -z ${BEFORE:-} ]] || mixspec before "$BEFORE"
  load=$(cut -d' ' -f1 /proc/loadavg)
  t=$(seconds Rscript "$tmp.R" "$data")
  read -r crit phi <"$tmp.out"
  printf '%-8s %6ss  load %s  REML criterion %s  phi %s\n' nlme "$t" "$load" "$crit" "$phi"
done
printf 'uptime: %s\n' "$(uptime)"
