#!/usr/bin/env bash
# Times mixspec (criterion, in-process) beside lme4 (same data, same formula, same machine,
# same run) and prints the ratio. Needs R with lme4 for the lme4 column:
#   apt-get install r-base-core r-cran-lme4
# Usage: benches/compare.sh [criterion filter]
set -euo pipefail
cd "$(dirname "$0")/.."
data=tests/data/reference
cases=(
  "sleepstudy_reml;sleepstudy.csv;Reaction ~ Days + (Days | Subject);REML;50"
  "penicillin_reml;penicillin.csv;diameter ~ 1 + (1 | plate) + (1 | sample);REML;50"
  "pastes_nested_reml;pastes.csv;strength ~ 1 + (1 | batch/cask);REML;50"
  "insteval_ml;insteval.csv;y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept);ML;3"
)
cargo bench --bench fits -- --noplot ${1:+"$1"} >/tmp/mixspec-bench.txt 2>&1 || { cat /tmp/mixspec-bench.txt; exit 1; }
printf '%-20s %14s %14s %9s\n' case mixspec lme4 ratio
for c in "${cases[@]}"; do
  IFS=';' read -r id file formula method reps <<<"$c"
  # criterion prints "time:   [low mid high]"; take the middle estimate, in seconds.
  ours=$(awk -v id="$id" '$1==id {found=1} found && /time:/ {for (i=1;i<=NF;i++) if ($i=="time:") print $(i+3), $(i+4); exit}' /tmp/mixspec-bench.txt |
    awk '{v=$1; u=$2; f=(u=="ns")?1e-9:(u=="µs"||u=="us")?1e-6:(u=="ms")?1e-3:1; printf "%.9f", v*f}')
  if command -v Rscript >/dev/null && Rscript -e 'library(lme4)' >/dev/null 2>&1; then
    theirs=$(Rscript benches/lme4_time.R "$data/$file" "$formula" "$method" "$reps")
    ratio=$(awk -v a="$theirs" -v b="$ours" 'BEGIN {printf "%.1fx", a/b}')
  else
    theirs="n/a"; ratio="n/a"
  fi
  printf '%-20s %13.6fs %14s %9s\n' "$id" "$ours" "$theirs" "$ratio"
done
