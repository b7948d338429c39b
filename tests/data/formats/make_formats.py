"""Makes the Parquet and Arrow test files of tests/formats.rs from sleepstudy.csv (made by
make_formats.R). Run from the repository root:  python3 tests/data/formats/make_formats.py
The outputs are committed; the tests need neither R nor Python."""

import os

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq

out = "tests/data/formats"
t = pacsv.read_csv(os.path.join(out, "sleepstudy.csv"))
# Subject dictionary-encoded (a factor), Days 32-bit integers, a boolean that reads as 0/1.
t = t.set_column(2, "Subject", t.column("Subject").dictionary_encode())
t = t.set_column(1, "Days", t.column("Days").cast(pa.int32()))
late = pa.array([d >= 5 for d in t.column("Days").to_pylist()])
t = t.append_column("Late", late)

pq.write_table(t, os.path.join(out, "sleepstudy.parquet"), row_group_size=50)

# The same rows as a folder of part files (zstd-compressed) and as a glob's matches.
parts = os.path.join(out, "sleepstudy_parts")
os.makedirs(parts, exist_ok=True)
for i, (start, stop) in enumerate([(0, 70), (70, 180)]):
    pq.write_table(t.slice(start, stop - start),
                   os.path.join(parts, f"part-{i}.parquet"), compression="zstd")

# Arrow IPC: a plain .arrow file, and Feather v2 with its default lz4 compression.
with pa.OSFile(os.path.join(out, "sleepstudy.arrow"), "wb") as f:
    with pa.ipc.new_file(f, t.schema) as w:
        w.write_table(t, max_chunksize=50)
feather.write_feather(t, os.path.join(out, "sleepstudy.feather"))

# A column of a type no model can use: lists of numbers.
bad = t.append_column("Readings", pa.array([[1.0, 2.0]] * t.num_rows))
pq.write_table(bad, os.path.join(out, "list_column.parquet"))

# One column of each type that reads as numbers or text, with known values: dates and
# timestamps as days since 1970-01-01, durations as seconds, decimals by their scale.
import datetime
import decimal

types = pa.table({
    "date": pa.array([datetime.date(1970, 1, 11), None], pa.date32()),
    "stamp": pa.array([datetime.datetime(1970, 1, 2, 12), None], pa.timestamp("ms")),
    "wait": pa.array([90, None], pa.duration("s")),
    "price": pa.array([decimal.Decimal("12.50"), None], pa.decimal128(6, 2)),
    "count": pa.array([7, None], pa.uint8()),
    "ratio": pa.array([0.5, None], pa.float32()),
    "code": pa.array(["b", None], pa.large_string()),
})
pq.write_table(types, os.path.join(out, "types.parquet"))
