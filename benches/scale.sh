#!/usr/bin/env bash
# `mixspec fit --engine datafusion` on a large simulated cohort (docs/scale.md): PARTS
# Parquet files of PER_PART patients each (`mixspec simulate`, seed = part number + 1),
# patient ids made unique across parts (`S<part>P…`: digits and capitals, whose byte order
# is R's order), only the rows with a working-alliance assessment (about 3.1 per patient)
# and the model's columns kept (pyarrow): `wai` (the first WAI item), `gaf`, `months`, `age`,
# `female`.
# Then wall time, peak memory (/usr/bin/time -v) and rows/s of the DataFusion engine and,
# when MEMORY=1, of the in-memory engine on the same folder.
#
# Usage: benches/scale.sh PARTS PER_PART [FORMULA]
#   benches/scale.sh 4 50000      # 200,000 patients
#   benches/scale.sh 10 1000000   # 10,000,000 patients, ~31M rows
# MIXSPEC=path/to/mixspec picks the binary (built with --features datafusion);
# KEEP=dir writes the parts there and keeps them; python3 with pyarrow is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
parts=$1
per_part=$2
formula=${3:-"wai ~ months * female + age + (months | patient)"}
bin=${MIXSPEC:-target/release/mixspec}
if [[ -n ${KEEP:-} ]]; then
  dir=$KEEP; mkdir -p "$dir"
else
  dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
fi

for ((k = 0; k < parts; k++)); do
  [[ -e $dir/part-$k.parquet ]] && continue
  [[ -e $dir/raw-$k.parquet ]] ||
    "$bin" simulate --patients "$per_part" --seed "$((k + 1))" --out "$dir/raw-$k.parquet"
  python3 - "$dir/raw-$k.parquet" "$dir/part-$k.parquet" "$k" <<'EOF'
import sys
import pyarrow as pa, pyarrow.compute as pc, pyarrow.parquet as pq
raw, out, k = sys.argv[1], sys.argv[2], sys.argv[3]
t = pq.read_table(raw, columns=["patient", "months", "wai1", "gaf", "age", "female"])
t = t.filter(pc.is_valid(t.column("wai1")))
ids = pc.binary_join_element_wise(pa.scalar(f"S{k}"), t.column("patient").cast(pa.string()), "")
t = t.set_column(0, "patient", ids).rename_columns(["patient", "months", "wai", "gaf", "age", "female"])
pq.write_table(t, out, compression="zstd")
EOF
  rm "$dir/raw-$k.parquet"
done
du -sh "$dir"
rows=$(python3 -c "import sys, pyarrow.parquet as pq; print(sum(pq.ParquetFile(f).metadata.num_rows for f in sys.argv[1:]))" "$dir"/part-*.parquet)
echo "rows: $rows"
printf 'uptime: %s\n' "$(uptime)"

engines=(datafusion)
[[ ${MEMORY:-0} == 1 ]] && engines+=(memory)
for engine in "${engines[@]}"; do
  log=$(mktemp)
  /usr/bin/time -v "$bin" fit --engine "$engine" --data "$dir" --formula "$formula" \
    --format json >"$dir.$engine.json" 2>"$log" || { cat "$log"; exit 1; }
  wall=$(grep 'Elapsed (wall clock)' "$log" | awk '{print $NF}')
  peak=$(grep 'Maximum resident' "$log" | awk '{print $NF}')
  secs=$(echo "$wall" | awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }')
  echo "$engine: wall $wall, peak $((peak / 1024)) MB, $(awk -v r="$rows" -v s="$secs" 'BEGIN { printf "%.0f", r / s }') rows/s"
  rm "$log"
done
