#!/usr/bin/env bash
# Whole process, CSV to result, mixspec beside lme4 in the same run: wall time and peak
# memory (/usr/bin/time -v) of `mixspec fit --format json` (fit, Satterthwaite t-tests,
# Type III anova, JSON), of R reading the CSV and fitting with lme4 (the fit alone), and of
# R doing what mixspec does with lmerTest (summary() and anova()). Prints the ratios.
#
# Usage: benches/whole_process.sh DATA.csv "FORMULA" REML|ML [lme4|lmertest|both]
#   benches/whole_process.sh tests/data/reference/insteval.csv \
#     "y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept)" ML
#   Rscript benches/simulate_longitudinal.R 100000 42 /tmp/long_100k.csv
#   benches/whole_process.sh /tmp/long_100k.csv "TASKS ~ time * outcome + (time | patient)" ML
# MIXSPEC=path/to/mixspec picks the binary (default target/release/mixspec, built first).
set -euo pipefail
cd "$(dirname "$0")/.."
data=$1; formula=$2; method=$3; which=${4:-both}
bin=${MIXSPEC:-target/release/mixspec}
[[ -n ${MIXSPEC:-} ]] || cargo build --release --quiet
ml=(); [[ $method == ML ]] && ml=(--ml)
out=$(mktemp); trap 'rm -f "$out" "$out".*' EXIT

# Runs a command under /usr/bin/time -v; prints "seconds peak_MB".
measure() {
  /usr/bin/time -v "$@" >"$out.stdout" 2>"$out.time"
  awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]}
              /Maximum resident set size/ {m=$2/1024} END {printf "%.2f %.0f\n", s, m}' "$out.time"
}

printf 'uptime: %s\n' "$(uptime)"
read -r ours ours_mb < <(measure "$bin" fit --data "$data" --formula "$formula" "${ml[@]}" --format json)
read -r ours_obj ours_evals < <(python3 -c 'import json,sys; j=json.load(open(sys.argv[1]))
print("%.6f" % j["objective"], j["convergence"].get("evaluations", "-"))' "$out.stdout")
printf '%-34s %8.2fs %7s MB  objective %s  evaluations %s\n' "mixspec fit --format json" "$ours" \
  "$ours_mb" "$ours_obj" "$ours_evals"
for mode in lme4 lmertest; do
  [[ $which == both || $which == "$mode" ]] || continue
  package=$([[ $mode == lme4 ]] && echo lme4 || echo lmerTest)
  if ! Rscript -e "library($package)" >/dev/null 2>&1; then echo "$package: not installed"; continue; fi
  read -r theirs theirs_mb < <(measure Rscript benches/lme4_whole.R "$data" "$formula" "$method" "$mode")
  label=$([[ $mode == lme4 ]] && echo "R read.csv + lmer" || echo "R lmerTest lmer + summary + anova")
  printf '%-34s %8.2fs %7s MB  objective %s  ratio %.1fx\n' "$label" "$theirs" "$theirs_mb" \
    "$(cat "$out.stdout")" "$(awk -v a="$theirs" -v b="$ours" 'BEGIN {print a/b}')"
done
