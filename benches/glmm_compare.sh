#!/usr/bin/env bash
# In-process fit times of generalized mixed models, mixspec (criterion, benches/glmm.rs)
# beside glmer / glmmTMB (benches/glmm_time.R) in the same run, with the ratio and uptime.
# Usage: benches/glmm_compare.sh [criterion filter]
set -euo pipefail
cd "$(dirname "$0")/.."
data=tests/data/glmm
cases=(
  "cbpp_laplace;cbpp.csv;cbind(incidence, size - incidence) ~ period + (1 | herd);binomial;1;50"
  "cbpp_agq25;cbpp.csv;cbind(incidence, size - incidence) ~ period + (1 | herd);binomial;25;50"
  "toenail_laplace;toenail.csv;moderate_severe ~ treatment * time + (1 | patientID);binomial;1;10"
  "epil_poisson;epil.csv;y ~ lbase * trt + lage + V4 + (1 | subject);poisson;1;20"
  "epil_negative_binomial;epil.csv;y ~ lbase * trt + lage + V4 + (1 | subject);negative-binomial;1;20"
)
printf 'uptime: %s\n' "$(uptime)"
cargo bench --bench glmm -- --noplot ${1:+"$1"} >/tmp/mixspec-glmm-bench.txt 2>&1 || { cat /tmp/mixspec-glmm-bench.txt; exit 1; }
printf '%-24s %14s %14s %9s\n' case mixspec R ratio
for c in "${cases[@]}"; do
  IFS=';' read -r id file formula family nagq reps <<<"$c"
  [[ -z ${1:-} || $id == *"$1"* ]] || continue
  # criterion prints "time:   [low mid high]"; take the middle estimate, in seconds.
  ours=$(awk -v id="$id" '$1==id {found=1} found && /time:/ {for (i=1;i<=NF;i++) if ($i=="time:") print $(i+3), $(i+4); exit}' /tmp/mixspec-glmm-bench.txt |
    awk '{v=$1; u=$2; f=(u=="ns")?1e-9:(u=="µs"||u=="us")?1e-6:(u=="ms")?1e-3:1; printf "%.9f", v*f}')
  theirs=$(Rscript benches/glmm_time.R "$data/$file" "$formula" "$family" "$nagq" "$reps")
  printf '%-24s %13.6fs %13.6fs %9s\n' "$id" "$ours" "$theirs" "$(awk -v a="$theirs" -v b="$ours" 'BEGIN {printf "%.1fx", a/b}')"
done
echo "uptime: $(uptime)"
