#!/usr/bin/env bash
# The binary cohort of issue 13's benchmarks: patients from ../shared/tools/simulate_longitudinal.R
# (unbalanced schedule, dropout, random intercept and slope), with high = 1 when TASKS ≥ 5.5.
# Cohorts above 20,000 patients are made in chunks of 20,000 (seeds SEED, SEED+1, ...; patient
# ids prefixed by the chunk), since the simulator builds one data frame per patient.
# Usage: benches/binary_cohort.sh N_PATIENTS SEED OUT.csv
set -euo pipefail
n=$1; seed=$2; out=$3
sim=${SIMULATE:-$(dirname "$0")/../../shared/tools/simulate_longitudinal.R}
[[ -f $sim ]] || sim=/work/shared/tools/simulate_longitudinal.R
tmp=$(mktemp); trap 'rm -f "$tmp"' EXIT
echo 'patient,time,outcome,age,TASKS,high' >"$out"
chunk=0; left=$n
while (( left > 0 )); do
  size=$(( left < 20000 ? left : 20000 ))
  Rscript "$sim" "$size" $(( seed + chunk )) "$tmp"
  awk -F, -v c="$chunk" 'NR > 1 { gsub(/"/, ""); printf "c%d%s,%s,%s,%s,%s,%d\n", c, $1, $2, $3, $4, $5, ($5 >= 5.5) }' "$tmp" >>"$out"
  left=$(( left - size )); chunk=$(( chunk + 1 ))
done
