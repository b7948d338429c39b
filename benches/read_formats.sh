#!/usr/bin/env bash
# Reading a large cohort as CSV and as Parquet, whole process: the same simulated rows
# (`mixspec simulate`, 100,000 patients by default) written both ways, then wall time and
# peak memory of `mixspec describe-data` (reading alone; three runs each) and of
# `mixspec fit --format json` (benches/whole_process.sh without R) on each file.
#
# Usage: benches/read_formats.sh [PATIENTS]
# MIXSPEC=path/to/mixspec picks the binary (default target/release/mixspec, built first).
set -euo pipefail
cd "$(dirname "$0")/.."
patients=${1:-100000}
bin=${MIXSPEC:-target/release/mixspec}
[[ -n ${MIXSPEC:-} ]] || cargo build --release --quiet
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT

for ext in csv parquet; do
  "$bin" simulate --patients "$patients" --seed 4 --out "$dir/cohort.$ext"
done
ls -l "$dir"
printf 'uptime: %s\n' "$(uptime)"
for ext in csv parquet; do
  for run in 1 2 3; do
    /usr/bin/time -f "describe-data cohort.$ext (run $run): %e s, %M KB peak" \
      "$bin" describe-data "$dir/cohort.$ext" >/dev/null
  done
done
for ext in csv parquet; do
  echo "fit cohort.$ext:"
  MIXSPEC=$bin benches/whole_process.sh "$dir/cohort.$ext" "gaf ~ months + (months | patient)" ML none
done
