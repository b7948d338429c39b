#!/usr/bin/env bash
# BENCHMARKS.md's model classes — issue 19's four models (vector random terms on several
# grouping factors) after one factor and crossed scalar terms — whole process (CSV to JSON)
# beside lme4 in the same run, through benches/whole_process.sh; prints the load, each
# side's time and objective, and mixspec's number of evaluations.
#
# Usage: benches/issue19.sh [OUTDIR] [lme4|lmertest|both]
#   Data: benches/make_issue19_data.py (therapist, kb07-shaped) and benches/star.R (STAR from
#   mlmRev); InstEval from tests/data/reference. MIXSPEC=… picks the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/issue19}; which=${2:-lme4}
mkdir -p "$out"
[[ -f $out/therapist.csv ]] || python3 benches/make_issue19_data.py "$out"
[[ -f $out/star.csv ]] || Rscript benches/star.R "$out/star.csv"
bin=${MIXSPEC:-target/release/mixspec}
[[ -n ${MIXSPEC:-} ]] || cargo build --release --quiet
export MIXSPEC=$bin

run() {
  local data=$1 formula=$2 method=$3
  local ml=(); [[ $method == ML ]] && ml=(--ml)
  printf '\n== %s (%s) on %s\n' "$formula" "$method" "$data"
  "$bin" fit --data "$data" --formula "$formula" "${ml[@]}" --format json |
    python3 -c 'import json,sys; j=json.load(sys.stdin); o=j["convergence"]
print("mixspec evaluations:", o.get("evaluations"), " converged:", o.get("converged"))'
  benches/whole_process.sh "$data" "$formula" "$method" "$which"
}

run tests/data/reference/sleepstudy.csv "Reaction ~ Days + (Days | Subject)" REML
run tests/data/reference/insteval.csv "y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept)" ML
run "$out/therapist.csv" "y ~ months + (months | therapist) + (months | therapist:patient)" REML
run "$out/kb07.csv" "rt ~ 1 + spkr + prec + load + (1 + spkr + prec + load | subj) + (1 + spkr + prec + load | item)" ML
run "$out/star.csv" "math ~ gr + sx + eth + cltype + (yrs | id) + (1 | tch) + (yrs | sch)" REML
run tests/data/reference/insteval.csv "y ~ 1 + service + (1 | s) + (1 | d) + (1 + service | dept)" ML
