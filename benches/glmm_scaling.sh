#!/usr/bin/env bash
# Scaling of the binary cohort (`high ~ time * outcome + (time | patient)`) from 1,000 to
# 1,000,000 patients, whole process: mixspec at every size, glmer up to R_MAX patients
# (default 100,000; glmer's time grows past what a benchmark run should wait for).
# Cohorts are cached in ${COHORTS:-/tmp} (never commit them: 1M patients is ~150 MB).
# Usage: benches/glmm_scaling.sh [sizes...]   (default: 1000 10000 100000 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-1000 10000 100000 1000000}"); read -r -a sizes <<<"${sizes[*]}"
dir=${COHORTS:-/tmp}; r_max=${R_MAX:-100000}
formula="high ~ time * outcome + (time | patient)"
for n in "${sizes[@]}"; do
  file=$dir/binary_cohort_$n.csv
  [[ -s $file ]] || benches/binary_cohort.sh "$n" 42 "$file"
  echo "== $n patients, $(($(wc -l <"$file") - 1)) rows"
  if (( n <= r_max )); then
    benches/glmm_whole.sh "$file" "$formula" binomial
  else
    benches/glmm_whole.sh "$file" "$formula" binomial mixspec-only
  fi
done
