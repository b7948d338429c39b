#!/usr/bin/env python3
"""Simulated data sets shaped like issue 19's benchmark models (vector random terms on
several grouping factors), deterministic for a seed, pure Python (no numpy).

Usage: benches/make_issue19_data.py OUTDIR [small|sparse]
  therapist.csv  200 therapists x 15 patients x 10 months (small: 12 x 5 x 5):
                 y ~ months + (months | therapist) + (months | therapist:patient)
  kb07.csv       56 subjects x 32 items, 1,789 rows (small: 16 x 8, 120 rows), three
                 +-0.5 contrasts spkr, prec, load:
                 rt ~ 1 + spkr + prec + load + (1 + spkr + prec + load | subj)
                                             + (1 + spkr + prec + load | item)
  star_like.csv  only with `small` (the full STAR comes from mlmRev, benches/star.R):
                 students in teachers in schools, yrs 0..3:
                 math ~ yrs + (yrs | id) + (1 | tch) + (yrs | sch)
  sparse:        star_sparse.csv (24 schools x 6 teachers x 3 students, a new teacher
                 each year, one move in ten to the next school) and
                 therapist_sparse.csv (70 therapists x 3 patients x 4 months): just large
                 enough (over 128 random effects after the first term) for the sparse
                 factor of the dense block (engine/src/fit/sparse.rs).
  therapist_ar1.csv  (small: 30 x 6 x 6; none with sparse) the therapist design with
                 residuals AR(1) within patient (phi 0.5) and a column `case` naming the
                 patient within its therapist, the residual group:
                 --residual "ar1(case)" (nlme: corAR1(form = ~ 1 | therapist/patient))
The small and sparse versions are the test data of tests/derivatives.rs.
"""
import math
import os
import random
import sys


def mvn(rng, sds, corr):
    """One draw of a vector with these SDs and a common correlation."""
    z = [rng.gauss(0, 1) for _ in sds]
    common = rng.gauss(0, 1)
    return [s * (math.sqrt(1 - corr) * zi + math.sqrt(corr) * common) for s, zi in zip(sds, z)]


def therapist(rng, n_ther, n_pat, n_months):
    rows = []
    for t in range(1, n_ther + 1):
        bt = mvn(rng, [2.0, 0.4], 0.3)
        for p in range(1, n_pat + 1):
            bp = mvn(rng, [4.0, 0.8], 0.2)
            for month in range(n_months):
                y = 30 + bt[0] + bp[0] + (-1.0 + bt[1] + bp[1]) * month + rng.gauss(0, 3)
                rows.append(("t%d" % t, "p%d" % p, month, round(y, 4)))
    return ["therapist", "patient", "months", "y"], rows


def therapist_ar1(rng, n_ther, n_pat, n_months, phi):
    """The therapist design with residuals AR(1) in months within each patient."""
    rows = []
    for t in range(1, n_ther + 1):
        bt = mvn(rng, [2.0, 0.4], 0.3)
        for p in range(1, n_pat + 1):
            bp = mvn(rng, [4.0, 0.8], 0.2)
            e = rng.gauss(0, 3)
            for month in range(n_months):
                if month > 0:
                    e = phi * e + math.sqrt(1 - phi * phi) * rng.gauss(0, 3)
                y = 30 + bt[0] + bp[0] + (-1.0 + bt[1] + bp[1]) * month + e
                rows.append(("t%d" % t, "p%d" % p, "t%d.p%d" % (t, p), month, round(y, 4)))
    return ["therapist", "patient", "case", "months", "y"], rows


def kb07(rng, n_subj, n_item, n_rows):
    """Crossed subjects x items, each cell at most once, `n_rows` of them kept (kb07 has
    1,789 of 56 x 32 = 1,792)."""
    subj = [mvn(rng, [300.0, 60.0, 40.0, 50.0], 0.3) for _ in range(n_subj)]
    item = [mvn(rng, [350.0, 50.0, 80.0, 30.0], 0.2) for _ in range(n_item)]
    cells = [(s, i) for s in range(n_subj) for i in range(n_item)]
    rng.shuffle(cells)
    cells = sorted(cells[:n_rows])
    rows = []
    for s, i in cells:
        # kb07's design: the contrasts counterbalanced over subjects and items.
        spkr = 0.5 if (s + i) % 2 else -0.5
        prec = 0.5 if (s // 2 + i) % 2 else -0.5
        load = 0.5 if (s + i // 2) % 2 else -0.5
        x = [1.0, spkr, prec, load]
        fixed = [2180.0, 70.0, -330.0, 80.0]
        b = [f + bs + bi for f, bs, bi in zip(fixed, subj[s], item[i])]
        rt = sum(xi * bi for xi, bi in zip(x, b)) + rng.gauss(0, 700)
        rows.append(("S%d" % (s + 1), "I%d" % (i + 1), spkr, prec, load, round(rt, 2)))
    return ["subj", "item", "spkr", "prec", "load", "rt"], rows


def star_like(rng, n_sch, n_tch, n_id, moves=False):
    """With `moves`, as in STAR a student has a new teacher each year (of their school
    with probability 0.9, else of the next school), so teachers are crossed with students
    and a few schools are coupled."""
    rows = []
    bs = [mvn(rng, [8.0, 2.0], 0.3) for _ in range(n_sch)] if moves else None
    bt = [[rng.gauss(0, 6) for _ in range(n_tch)] for _ in range(n_sch)] if moves else None
    for s in range(1, n_sch + 1):
        if not moves:
            bs_s = mvn(rng, [8.0, 2.0], 0.3)
        for t in range(1, n_tch + 1):
            if not moves:
                bt_t = rng.gauss(0, 6)
            for i in range(1, n_id + 1):
                bi = mvn(rng, [20.0, 4.0], 0.4)
                for yrs in range(4):
                    if rng.random() < 0.15:
                        continue
                    sch, tch = s, t
                    if moves:
                        if yrs > 0:
                            if rng.random() < 0.1:
                                sch = s % n_sch + 1
                            tch = rng.randrange(1, n_tch + 1)
                        bs_s, bt_t = bs[sch - 1], bt[sch - 1][tch - 1]
                    y = 500 + bs_s[0] + bt_t + bi[0] + (25 + bs_s[1] + bi[1]) * yrs
                    y += rng.gauss(0, 15)
                    rows.append(("s%d.i%d.%d" % (s, t, i), "s%d.t%d" % (sch, tch), "s%d" % sch,
                                 yrs, round(y, 2)))
    return ["id", "tch", "sch", "yrs", "math"], rows


def write(path, header, rows):
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        for r in rows:
            f.write(",".join(str(v) for v in r) + "\n")


def main():
    out = sys.argv[1]
    size = sys.argv[2] if len(sys.argv) > 2 else ""
    os.makedirs(out, exist_ok=True)
    rng = random.Random(19)
    if size == "sparse":
        write(os.path.join(out, "star_sparse.csv"), *star_like(rng, 24, 6, 3, moves=True))
        write(os.path.join(out, "therapist_sparse.csv"), *therapist(rng, 70, 3, 4))
    elif size == "small":
        write(os.path.join(out, "therapist.csv"), *therapist(rng, 12, 5, 5))
        write(os.path.join(out, "kb07.csv"), *kb07(rng, 16, 8, 120))
        write(os.path.join(out, "star_like.csv"), *star_like(rng, 6, 3, 4))
        write(os.path.join(out, "therapist_ar1.csv"),
              *therapist_ar1(random.Random(191), 30, 6, 6, 0.5))
    else:
        write(os.path.join(out, "therapist.csv"), *therapist(rng, 200, 15, 10))
        write(os.path.join(out, "kb07.csv"), *kb07(rng, 56, 32, 1789))
        # Its own stream, so that the files above stay as they were.
        write(os.path.join(out, "therapist_ar1.csv"),
              *therapist_ar1(random.Random(191), 200, 15, 10, 0.5))


if __name__ == "__main__":
    main()
