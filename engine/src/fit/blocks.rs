//! The cross-products of `[Z X y]`, formed once per model and laid out for the blocked
//! Cholesky factorisation in [`super::factor`].
//!
//! The first random-effect term (the one with most levels) is kept block-diagonal: one
//! `q₁ × q₁` block per level. Everything else — the other terms' random effects, then the
//! fixed effects, then the response — forms one dense trailing block of size
//! `d = q_rest + p + 1`. The coupling between the two is stored sparsely, per level of the
//! first term, as the few dense-block rows that level touches. With a single grouping factor
//! the dense block is just `[X y]'[X y]`, so an evaluation costs O(levels · q₁³) and never
//! touches the observations.

use crate::design::Design;

/// Where the rows of the dense block come from.
#[derive(Debug, Clone)]
pub struct DenseLayout {
    /// For each random term after the first: its offset in the dense block, `q` and levels.
    pub terms: Vec<(usize, usize, usize)>,
    /// Size of the random part of the dense block.
    pub q_rest: usize,
    pub p: usize,
}

impl DenseLayout {
    /// Size of the dense block: other random effects, fixed effects and the response.
    pub fn d(&self) -> usize {
        self.q_rest + self.p + 1
    }

    /// Which random term (index into `terms`) owns dense row `r`, if any.
    pub fn term_of(&self, r: usize) -> Option<usize> {
        self.terms
            .iter()
            .position(|&(off, q, l)| r >= off && r < off + q * l)
    }
}

/// The fixed cross-product blocks of one model.
#[derive(Debug, Clone)]
pub struct Blocks {
    /// `q` of the first (block-diagonal) term and its number of levels.
    pub q1: usize,
    pub levels1: usize,
    /// `levels1` blocks of `q1 × q1` (column-major): `Z₁ⱼ'Z₁ⱼ`.
    pub a11: Vec<f64>,
    /// Per level of the first term, the range of its entries in `row_idx` (CSR-like).
    pub row_ptr: Vec<usize>,
    /// Dense-block row indices touched by each level, ascending.
    pub row_idx: Vec<usize>,
    /// For each entry of `row_idx`, `q1` values: that row of `[Z_rest X y]'Z₁ⱼ`.
    pub a21: Vec<f64>,
    /// `d × d` column-major, full symmetric: `[Z_rest X y]'[Z_rest X y]`.
    pub a22: Vec<f64>,
    /// The coupling entries by dense row: for row `s`, `by_row[by_row_ptr[s]..by_row_ptr[s+1]]`
    /// lists `(entry, level)` with `row_idx[entry] == s`. The downdate walks the dense block
    /// column by column through this index, so its writes stay within one cached column.
    pub by_row_ptr: Vec<usize>,
    pub by_row: Vec<(usize, usize)>,
    pub layout: DenseLayout,
}

impl Blocks {
    pub fn new(design: &Design) -> Blocks {
        let n = design.n();
        let p = design.p();
        // Without random effects (a gls model) all observations form one pseudo-level with
        // no random effects of its own, and the dense block holds everything.
        let no_codes = vec![0u32; if design.random.is_empty() { n } else { 0 }];
        let (q1, levels1, codes1, values1, rest) = match design.random.split_first() {
            Some((b, rest)) => (b.q(), b.levels.len(), &b.codes[..], &b.values[..], rest),
            None => (0, 1, &no_codes[..], &[][..], &[][..]),
        };
        let mut terms = Vec::new();
        let mut off = 0;
        for b in rest {
            terms.push((off, b.q(), b.levels.len()));
            off += b.q() * b.levels.len();
        }
        let layout = DenseLayout {
            terms,
            q_rest: off,
            p,
        };
        let d = layout.d();

        // The sparse row of the dense block for observation i: (dense index, value).
        let mut entries: Vec<(usize, f64)> = Vec::with_capacity(d.min(64));
        let row_of = |i: usize, out: &mut Vec<(usize, f64)>| {
            out.clear();
            for (t, b) in rest.iter().enumerate() {
                let (o, q, _) = layout.terms[t];
                let base = o + b.codes[i] as usize * q;
                for c in 0..q {
                    out.push((base + c, b.values[i * q + c]));
                }
            }
            for j in 0..p {
                out.push((layout.q_rest + j, design.x[j * n + i]));
            }
            out.push((d - 1, design.y[i]));
        };

        // Observations grouped by level of the first term (counting sort).
        let mut start = vec![0usize; levels1 + 1];
        for &c in codes1 {
            start[c as usize + 1] += 1;
        }
        for l in 0..levels1 {
            start[l + 1] += start[l];
        }
        let mut order = vec![0usize; n];
        let mut fill = start.clone();
        for (i, &c) in codes1.iter().enumerate() {
            order[fill[c as usize]] = i;
            fill[c as usize] += 1;
        }

        let mut a11 = vec![0.0; levels1 * q1 * q1];
        let mut a22 = vec![0.0; d * d];
        let mut row_ptr = Vec::with_capacity(levels1 + 1);
        let mut row_idx = Vec::new();
        let mut a21 = Vec::new();
        // Scratch accumulator for one level's coupling rows, reset through `touched`.
        let mut acc = vec![0.0; d * q1];
        let mut seen = vec![false; d];
        let mut touched: Vec<usize> = Vec::new();
        row_ptr.push(0);
        for l in 0..levels1 {
            let block = &mut a11[l * q1 * q1..(l + 1) * q1 * q1];
            for &i in &order[start[l]..start[l + 1]] {
                let z1 = &values1[i * q1..(i + 1) * q1];
                for a in 0..q1 {
                    for b in 0..q1 {
                        block[b * q1 + a] += z1[a] * z1[b];
                    }
                }
                row_of(i, &mut entries);
                for &(r, v) in &entries {
                    if !seen[r] {
                        seen[r] = true;
                        touched.push(r);
                    }
                    for a in 0..q1 {
                        acc[r * q1 + a] += v * z1[a];
                    }
                }
                for &(r, vr) in &entries {
                    for &(s, vs) in &entries {
                        a22[s * d + r] += vr * vs;
                    }
                }
            }
            // Keep every component of a touched random-effect level together, so that the
            // relative covariance factor can be applied per level later.
            let extra: Vec<usize> = touched
                .iter()
                .filter_map(|&r| layout.term_of(r).map(|t| (r, t)))
                .flat_map(|(r, t)| {
                    let (o, q, _) = layout.terms[t];
                    let base = o + (r - o) / q * q;
                    base..base + q
                })
                .collect();
            for r in extra {
                if !seen[r] {
                    seen[r] = true;
                    touched.push(r);
                }
            }
            touched.sort_unstable();
            for &r in &touched {
                row_idx.push(r);
                a21.extend_from_slice(&acc[r * q1..(r + 1) * q1]);
                acc[r * q1..(r + 1) * q1].iter_mut().for_each(|v| *v = 0.0);
                seen[r] = false;
            }
            touched.clear();
            row_ptr.push(row_idx.len());
        }
        let mut by_row_ptr = vec![0usize; d + 1];
        for &r in &row_idx {
            by_row_ptr[r + 1] += 1;
        }
        for r in 0..d {
            by_row_ptr[r + 1] += by_row_ptr[r];
        }
        let mut by_row = vec![(0, 0); row_idx.len()];
        let mut fill = by_row_ptr.clone();
        for j in 0..levels1 {
            for (e, &r) in row_idx
                .iter()
                .enumerate()
                .take(row_ptr[j + 1])
                .skip(row_ptr[j])
            {
                by_row[fill[r]] = (e, j);
                fill[r] += 1;
            }
        }
        Blocks {
            q1,
            levels1,
            a11,
            row_ptr,
            row_idx,
            a21,
            a22,
            by_row_ptr,
            by_row,
            layout,
        }
    }
}
