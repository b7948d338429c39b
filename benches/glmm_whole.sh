#!/usr/bin/env bash
# Whole process, CSV to result, for generalized mixed models: wall time and peak memory of
# `mixspec fit --family F --format json` beside R reading the CSV and fitting with glmer
# (binomial, Poisson) or glmmTMB (negative binomial) plus summary(), in the same run.
# Prints uptime (the load matters: quote figures only from a quiet machine) and the ratio.
#
# Usage: benches/glmm_whole.sh DATA.csv "FORMULA" FAMILY [mixspec-only]
#   benches/binary_cohort.sh 20000 42 /tmp/binary_20k.csv
#   benches/glmm_whole.sh /tmp/binary_20k.csv "high ~ time * outcome + (time | patient)" binomial
#   benches/glmm_whole.sh tests/data/glmm/epil.csv "y ~ lbase * trt + lage + V4 + (1 | subject)" negative-binomial
# MIXSPEC=path/to/mixspec picks the binary (default target/release/mixspec, built first).
# RUNS=N runs each side N times (default 1), uptime before each run.
set -euo pipefail
cd "$(dirname "$0")/.."
data=$1; formula=$2; family=$3; which=${4:-both}
bin=${MIXSPEC:-target/release/mixspec}
[[ -n ${MIXSPEC:-} ]] || cargo build --release --quiet
out=$(mktemp); trap 'rm -f "$out" "$out".*' EXIT

# Runs a command under /usr/bin/time -v; prints "seconds peak_MB".
measure() {
  /usr/bin/time -v "$@" >"$out.stdout" 2>"$out.time"
  awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]}
              /Maximum resident set size/ {m=$2/1024} END {printf "%.2f %.0f\n", s, m}' "$out.time"
}

runs=${RUNS:-1}
for ((run = 1; run <= runs; run++)); do
  printf 'uptime: %s\n' "$(uptime)"
  read -r ours ours_mb < <(measure "$bin" fit --data "$data" --formula "$formula" --family "$family" --format json)
  ours_obj=$(python3 -c 'import json,sys; print("%.6f" % json.load(open(sys.argv[1]))["objective"])' "$out.stdout")
  printf '%-28s %8.2fs %7s MB  -2logLik %s\n' "mixspec fit --family $family" "$ours" "$ours_mb" "$ours_obj"
done
[[ $which == both ]] || exit 0
label=$([[ $family == negative-binomial ]] && echo "R glmmTMB + summary" || echo "R glmer + summary")
for ((run = 1; run <= runs; run++)); do
  printf 'uptime: %s\n' "$(uptime)"
  read -r theirs theirs_mb < <(measure Rscript benches/glmm_whole.R "$data" "$formula" "$family")
  printf '%-28s %8.2fs %7s MB  -2logLik %s  ratio to the last mixspec run %.1fx\n' "$label" "$theirs" "$theirs_mb" \
    "$(cat "$out.stdout")" "$(awk -v a="$theirs" -v b="$ours" 'BEGIN {print a/b}')"
done
