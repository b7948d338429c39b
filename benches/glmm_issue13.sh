#!/usr/bin/env bash
# Every speed figure of issue 13's acceptance in one run, each beside R in the same run and
# each printing uptime (quote figures only from a quiet machine, load < 0.5):
#   (a) cbpp Laplace in-process (criterion) beside glmer   — benches/glmm_compare.sh
#   (b) the 20,000-patient binary cohort, whole process, beside glmer
#   (c) the epilepsy negative binomial, whole process, beside glmmTMB
#   (d) the binary cohort from 1,000 to 1,000,000 patients — benches/glmm_scaling.sh
# Cohorts are made once and cached in ${COHORTS:-/tmp}.
# Usage: benches/glmm_issue13.sh [--no-scaling]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
export MIXSPEC=target/release/mixspec
dir=${COHORTS:-/tmp}
echo "== (a) cbpp, in-process"
benches/glmm_compare.sh cbpp_laplace
echo "== (b) 20,000-patient binary cohort, whole process"
cohort=$dir/binary_cohort_20000.csv
[[ -s $cohort ]] || benches/binary_cohort.sh 20000 42 "$cohort"
benches/glmm_whole.sh "$cohort" "high ~ time * outcome + (time | patient)" binomial
echo "== (c) epilepsy, negative binomial, whole process"
benches/glmm_whole.sh tests/data/glmm/epil.csv \
  "y ~ lbase * trt + lage + V4 + (1 | subject)" negative-binomial
if [[ ${1:-} != --no-scaling ]]; then
  echo "== (d) binary cohort scaling"
  benches/glmm_scaling.sh
fi
