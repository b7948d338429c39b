#!/usr/bin/env bash
# `mixspec fit --engine datafusion` on a large simulated cohort (docs/scale.md): PARTS
# Parquet files of PER_PART patients each, only the rows with a working-alliance assessment
# (about 3.1 per patient) and the model's columns kept (pyarrow): `wai` (the first WAI item),
# `gaf`, `months`, `age`, `female`.
# `mixspec simulate` holds its whole cohort (about 8 kB per patient), so each part is
# simulated in chunks of CHUNK patients (250,000 by default; seed = 1000 × part + chunk + 1)
# streamed into the part's file; patient ids are made unique as `S<part>C<chunk>P…` (digits
# and capitals, whose byte order is R's order).
# Then wall time, peak memory (/usr/bin/time -v) and rows/s of each engine in ENGINES
# (`datafusion` by default, plus `memory` when MEMORY=1; ENGINES= only writes the data).
#
# Usage: benches/scale.sh PARTS PER_PART [FORMULA]
#   benches/scale.sh 4 50000      # 200,000 patients
#   benches/scale.sh 10 1000000   # 10,000,000 patients, ~31M rows
# MIXSPEC=path/to/mixspec picks the binary (built with --features datafusion; any build
# simulates); KEEP=dir writes the parts there and keeps them; python3 with pyarrow is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
parts=$1
per_part=$2
formula=${3:-"wai ~ months * female + age + (months | patient)"}
bin=${MIXSPEC:-target/release/mixspec}
chunk=${CHUNK:-250000}
if [[ -n ${KEEP:-} ]]; then
  dir=$KEEP; mkdir -p "$dir"
else
  dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
fi

for ((k = 0; k < parts; k++)); do
  [[ -e $dir/part-$k.parquet ]] && continue
  raws=()
  for ((c = 0, left = per_part; left > 0; c++, left -= chunk)); do
    raw=$dir/raw-$k-$c.parquet
    [[ -e $raw ]] ||
      "$bin" simulate --patients "$((left < chunk ? left : chunk))" \
        --seed "$((1000 * k + c + 1))" --out "$raw"
    raws+=("$raw")
  done
  python3 - "$dir/part-$k.parquet" "$k" "${raws[@]}" <<'EOF'
import sys
import pyarrow as pa, pyarrow.compute as pc, pyarrow.parquet as pq
out, k, raws = sys.argv[1], sys.argv[2], sys.argv[3:]
writer = None
for c, raw in enumerate(raws):
    t = pq.read_table(raw, columns=["patient", "months", "wai1", "gaf", "age", "female"])
    t = t.filter(pc.is_valid(t.column("wai1")))
    ids = pc.binary_join_element_wise(pa.scalar(f"S{k}C{c}"), t.column("patient").cast(pa.string()), "")
    t = t.set_column(0, "patient", ids).rename_columns(["patient", "months", "wai", "gaf", "age", "female"])
    writer = writer or pq.ParquetWriter(out + ".tmp", t.schema, compression="zstd")
    writer.write_table(t)
writer.close()
EOF
  mv "$dir/part-$k.parquet.tmp" "$dir/part-$k.parquet"
  rm "${raws[@]}"
done
du -sh "$dir"
rows=$(python3 -c "import sys, pyarrow.parquet as pq; print(sum(pq.ParquetFile(f).metadata.num_rows for f in sys.argv[1:]))" "$dir"/part-*.parquet)
echo "rows: $rows"
printf 'uptime: %s\n' "$(uptime)"

read -ra engines <<<"${ENGINES-datafusion}"
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
