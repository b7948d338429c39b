#!/usr/bin/env bash
# Residual structures (issue 19): whole-process fits (CSV to JSON, Satterthwaite included)
# of a simulated cohort with AR(1), CAR(1), compound-symmetry and varident residuals,
# printing the load, wall time, peak memory, optimizer, evaluations and objective of each.
# With BEFORE=path/to/other/mixspec the same fits run with that binary too, interleaved, so
# that two builds are compared in the same minutes.
#
# Usage: benches/residual.sh [PATIENTS] [OUTDIR]      (defaults: 10000, /tmp/residual)
#   The cohort is `mixspec simulate --patients PATIENTS --seed 1` (no R needed).
#   MIXSPEC=… picks the binary (default target/release/mixspec, built first).
set -euo pipefail
cd "$(dirname "$0")/.."
patients=${1:-10000}; out=${2:-/tmp/residual}
bin=${MIXSPEC:-target/release/mixspec}
[[ -n ${MIXSPEC:-} ]] || cargo build --release --quiet
mkdir -p "$out"
data=$out/cohort_$patients.csv
[[ -f $data ]] || "$bin" simulate --patients "$patients" --seed 1 --out "$data"
tmp=$(mktemp); trap 'rm -f "$tmp" "$tmp".*' EXIT

# One fit under /usr/bin/time -v: seconds, MB, optimizer, evaluations, objective.
fit() {
  local exe=$1 formula=$2 residual=$3
  /usr/bin/time -v "$exe" fit --data "$data" --formula "$formula" --residual "$residual" \
    --format json >"$tmp.json" 2>"$tmp.time"
  awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]}
              /Maximum resident set size/ {m=$2/1024} END {printf "%6.2fs %5.0f MB", s, m}' "$tmp.time"
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); c=j["convergence"]
print("  %-6s %4s evaluations  objective %.6f  converged %s" % (c.get("optimizer"),
      c.get("evaluations"), j["objective"], c.get("converged")))' "$tmp.json"
}

printf 'uptime: %s\ndata: %s (%s rows)\n' "$(uptime)" "$data" "$(($(wc -l <"$data") - 1))"
for model in \
  "gaf ~ months + (1 | patient);car1(months | patient)" \
  "gaf ~ months + (1 | patient);ar1(patient)" \
  "gaf ~ months + (months | patient);car1(months | patient)" \
  "gaf ~ months + (1 | patient);cs(patient)" \
  "gaf ~ months + (1 | patient);varident(version)" \
  "gaf ~ months;car1(months | patient)"; do
  formula=${model%;*}; residual=${model#*;}
  printf '\n== %s, --residual "%s" (REML)\n' "$formula" "$residual"
  printf '%-8s ' this; fit "$bin" "$formula" "$residual"
  if [[ -n ${BEFORE:-} ]]; then printf '%-8s ' before; fit "$BEFORE" "$formula" "$residual"; fi
done
printf '\nuptime: %s\n' "$(uptime)"
