#!/usr/bin/env bash
# BENCHMARKS.md's model-classes table (issue 19): per class, whole process (CSV to JSON,
# `mixspec fit --format json`) beside R's `read.csv` + `lme4::lmer` in the same run, through
# benches/whole_process.sh. Prints each run as it goes, then the table in Markdown, ready
# to paste: evaluations, both times (the faster of RUNS runs each), the ratio, both
# objectives, and the load average before each model.
#
# Usage: benches/issue19.sh [OUTDIR] [RUNS]        (defaults: /tmp/issue19, 1)
#   Data, made once in OUTDIR: benches/make_issue19_data.py (therapist, kb07-shaped),
#   benches/star.R (STAR from mlmRev), `mixspec simulate` (the one-factor cohort);
#   sleepstudy and InstEval from tests/data/reference.
#   MIXSPEC=… picks the binary (default target/release/mixspec, built first).
#   ONLY=regex runs the classes whose name matches (e.g. ONLY='STAR|nested').
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/issue19}; runs=${2:-1}
mkdir -p "$out"
bin=${MIXSPEC:-target/release/mixspec}
[[ -n ${MIXSPEC:-} ]] || flock /tmp/mixspec-cargo.lock cargo build --release --quiet
export MIXSPEC=$bin
[[ -f $out/therapist.csv ]] || python3 benches/make_issue19_data.py "$out"
[[ -f $out/star.csv ]] || Rscript benches/star.R "$out/star.csv"
[[ -f $out/cohort.csv ]] || "$bin" simulate --patients 20000 --seed 4 --out "$out/cohort.csv"

rows=()
# One class: whole_process.sh RUNS times; keeps the fastest time of each side.
run() {
  local class=$1 model=$2 data=$3 formula=$4 method=$5
  [[ $class =~ ${ONLY:-.} ]] || return 0
  local load ours=inf theirs=inf evals=- obj_ours=- obj_theirs=- log
  load=$(cut -d' ' -f1 /proc/loadavg)
  printf '\n== %s: %s (%s) on %s\n' "$class" "$formula" "$method" "$data"
  for ((i = 0; i < runs; i++)); do
    log=$(benches/whole_process.sh "$data" "$formula" "$method" lme4)
    echo "$log"
    read -r t obj_ours evals < <(awk '/^mixspec fit/ {sub("s$", "", $5); print $5, $9, $11}' <<<"$log")
    ours=$(awk -v a="$ours" -v b="$t" 'BEGIN {print (b < a) ? b : a}')
    read -r t obj_theirs < <(awk '/^R read.csv/ {sub("s$", "", $5); print $5, $9}' <<<"$log")
    theirs=$(awk -v a="$theirs" -v b="$t" 'BEGIN {print (b < a) ? b : a}')
  done
  rows+=("$(awk -v c="$class" -v m="$model" -v e="$evals" -v a="$ours" -v b="$theirs" \
    -v oa="$obj_ours" -v ob="$obj_theirs" -v l="$load" 'BEGIN {
      r = (a > 0) ? sprintf("%.1f×", b / a) : "— (below the timer)"
      printf "| %s | %s | %s | %.2f s | %.2f s | %s | %s / %s | %s |", c, m, e, a, b, r, oa, ob, l }')")
}

run "one factor" "cohort, 20,000 patients, \`gaf ~ months + (months \\| patient)\`, ML" \
  "$out/cohort.csv" "gaf ~ months + (months | patient)" ML
run "one factor, small" "sleepstudy, \`(Days \\| Subject)\`, REML" \
  tests/data/reference/sleepstudy.csv "Reaction ~ Days + (Days | Subject)" REML
run "scalar crossed" "InstEval, \`(1 \\| s) + (1 \\| d) + (1 \\| dept)\`, ML" \
  tests/data/reference/insteval.csv "y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept)" ML
run "vector crossed" "kb07-shaped, \`(1 + spkr + prec + load \\| subj) + (… \\| item)\`, ML" \
  "$out/kb07.csv" \
  "rt ~ 1 + spkr + prec + load + (1 + spkr + prec + load | subj) + (1 + spkr + prec + load | item)" ML
run "nested vector" "therapist, \`(months \\| therapist) + (months \\| therapist:patient)\`, REML" \
  "$out/therapist.csv" "y ~ months + (months | therapist) + (months | therapist:patient)" REML
run "mixed scalar + vector (STAR)" "STAR, \`(yrs \\| id) + (1 \\| tch) + (yrs \\| sch)\`, REML" \
  "$out/star.csv" "math ~ gr + sx + eth + cltype + (yrs | id) + (1 | tch) + (yrs | sch)" REML
run "vector crossed, many levels" "InstEval, \`(1 \\| s) + (1 \\| d) + (1 + service \\| dept)\`, ML" \
  tests/data/reference/insteval.csv "y ~ 1 + service + (1 | s) + (1 | d) + (1 + service | dept)" ML
# Residual structures (AR(1), CAR(1), CS, varIdent) have no lme4 counterpart: their row is
# measured beside nlme (see BENCHMARKS.md); add a `run` line here once one is comparable.

printf '\n%s, %s run(s) per side, fastest kept; mixspec %s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" \
  "$runs" "$(git rev-parse --short HEAD)"
echo '| class | model | evaluations | mixspec | lme4 | ratio | objective mixspec / lme4 | load |'
echo '|---|---|---|---|---|---|---|---|'
printf '%s\n' "${rows[@]}"
echo '| residual structures | AR(1), CAR(1), CS, varIdent | — | — | — (nlme) | — | — | — |'
