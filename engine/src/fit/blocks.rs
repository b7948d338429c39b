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

use super::levels::SMALL_DENSE;
use crate::design::Design;
use crate::spec::CovarianceType;
use crate::statistics::{NormalEquations, SubjectStatistics};

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
    /// Per level `j` of the first term, its coupling entries `row_ptr[j]..row_ptr[j + 1]`
    /// (CSR-like): one per dense-block row it touches ([`Blocks::rows`]).
    pub row_ptr: Vec<usize>,
    /// The dense-block rows each level touches, ascending, level by level; or, when every
    /// level touches every row (one grouping factor: the rows of `[X y]`), `0..d` once,
    /// shared by all (`shared_rows`) — one copy per level was 48 bytes a subject with
    /// `d = 6`.
    row_idx: Vec<usize>,
    shared_rows: bool,
    /// For each coupling entry, `q1` values: that row of `[Z_rest X y]'Z₁ⱼ`.
    pub a21: Vec<f64>,
    /// `d × d` column-major, full symmetric: `[Z_rest X y]'[Z_rest X y]`.
    pub a22: Vec<f64>,
    /// The coupling entries by dense row: for row `s`, `by_row[by_row_ptr[s]..by_row_ptr[s+1]]`
    /// lists `(entry, level)` where entry `entry` of level `level` is row `s`. The downdate walks the dense block
    /// column by column through this index, so its writes stay within one cached column.
    /// Only a dense block larger than [`SMALL_DENSE`] is downdated so; a smaller one is
    /// downdated level by level, and both are then empty.
    pub by_row_ptr: Vec<usize>,
    pub by_row: Vec<(usize, usize)>,
    pub layout: DenseLayout,
    /// γ: the least-squares coefficients of `y` on `X`, subtracted from `y` before the
    /// cross-products are formed (see [`residualise`]); β̂ = β̂(y − Xγ) + γ.
    pub gamma: Vec<f64>,
    /// Whether [`Blocks::refill`] takes γ out of `y` (the default). PIRLS turns it off: it
    /// uses only the solution (β̂, û), not the penalised residual sum of squares whose
    /// digits the location would cancel, and refills at every step.
    pub locate_response: bool,
    /// The observations grouped by level of the first term: level `l`'s are
    /// `order[level_start[l]..level_start[l + 1]]`.
    order: Vec<usize>,
    level_start: Vec<usize>,
}

impl Blocks {
    /// The cross-products of a design whose random-effect columns are divided by
    /// `z_scale` (per term, per column; see [`column_scales`]).
    pub fn new(design: &Design, z_scale: &[Vec<f64>]) -> Blocks {
        let mut blocks = Blocks::layout(design);
        blocks.refill(design, z_scale);
        blocks
    }

    /// Where the non-zero cross-products of a design lie: which dense rows each level of
    /// the first term touches, and the observations of each level. These depend only on
    /// the grouping codes, so they are found once per model; the values follow in
    /// [`Blocks::refill`].
    fn layout(design: &Design) -> Blocks {
        let n = design.n();
        let p = design.p();
        // Without random effects (a gls model) all observations form one pseudo-level with
        // no random effects of its own, and the dense block holds everything.
        let no_codes = vec![0u32; if design.random.is_empty() { n } else { 0 }];
        let (q1, levels1, codes1, rest) = match design.random.split_first() {
            Some((b, rest)) => (b.q(), b.levels.len(), &b.codes[..], rest),
            None => (0, 1, &no_codes[..], &[][..]),
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

        // Observations grouped by level of the first term (counting sort).
        let mut level_start = vec![0usize; levels1 + 1];
        for &c in codes1 {
            level_start[c as usize + 1] += 1;
        }
        for l in 0..levels1 {
            level_start[l + 1] += level_start[l];
        }
        let mut order = vec![0usize; n];
        let mut fill = level_start.clone();
        for (i, &c) in codes1.iter().enumerate() {
            order[fill[c as usize]] = i;
            fill[c as usize] += 1;
        }

        // Per level, the dense rows its observations touch: every component of each other
        // term's level they belong to (so that the relative covariance factor can be applied
        // per level later), the fixed effects and the response.
        let mut row_ptr = Vec::with_capacity(levels1 + 1);
        let mut row_idx = Vec::new();
        let mut seen = vec![false; d];
        let mut touched: Vec<usize> = Vec::new();
        row_ptr.push(0);
        for l in 0..levels1 {
            for &i in &order[level_start[l]..level_start[l + 1]] {
                let rows = rest
                    .iter()
                    .zip(&layout.terms)
                    .flat_map(|(b, &(o, q, _))| {
                        let base = o + b.codes[i] as usize * q;
                        base..base + q
                    })
                    .chain(layout.q_rest..d);
                for r in rows {
                    if !seen[r] {
                        seen[r] = true;
                        touched.push(r);
                    }
                }
            }
            touched.sort_unstable();
            for &r in &touched {
                row_idx.push(r);
                seen[r] = false;
            }
            touched.clear();
            row_ptr.push(row_idx.len());
        }
        let shared_rows = row_idx.len() == levels1 * d;
        if shared_rows {
            row_idx = (0..d).collect();
        }
        let mut blocks = Blocks {
            q1,
            levels1,
            a11: vec![0.0; levels1 * q1 * q1],
            a21: vec![0.0; row_ptr[levels1] * q1],
            row_ptr,
            row_idx,
            shared_rows,
            a22: vec![0.0; d * d],
            by_row_ptr: Vec::new(),
            by_row: Vec::new(),
            layout,
            gamma: vec![0.0; p],
            locate_response: true,
            order,
            level_start,
        };
        blocks.index_by_row();
        blocks
    }

    /// The dense-block rows level `j` of the first term touches, ascending: the rows of
    /// its coupling entries `row_ptr[j]..row_ptr[j + 1]`, in order.
    pub fn rows(&self, j: usize) -> &[usize] {
        rows_of(&self.row_idx, &self.row_ptr, self.shared_rows, j)
    }

    /// Recomputes the cross-products in place for a design with the same grouping codes as
    /// the one these blocks were made from, and new values (a new response, whitened rows):
    /// what the whitened residual structures need at every step, without reallocating or
    /// re-deriving the layout.
    pub fn refill(&mut self, design: &Design, z_scale: &[Vec<f64>]) {
        if self.locate_response {
            let (located, gamma) = residualise(design);
            self.gamma = gamma;
            self.fill(design, z_scale, &located, |_| 1.0);
        } else {
            self.gamma.iter_mut().for_each(|g| *g = 0.0);
            self.fill(design, z_scale, &design.y, |_| 1.0);
        }
    }

    /// The cross-products `[Z X y]'W[Z X y]` of `design`'s rows weighted by `w`, with `y` in
    /// place of its response: one PIRLS step's weighted least-squares problem, formed from
    /// the rows as they are rather than from a copy scaled by `√w` (the copy and its second
    /// pass over the rows were a fifth of a large binary fit's time). Only the blocks' own
    /// columns of `X` are read: none for blocks made from a design without them. PIRLS
    /// solves for β itself, so the response is not located ([`Blocks::locate_response`]
    /// must be off).
    pub fn refill_weighted(&mut self, design: &Design, z_scale: &[Vec<f64>], w: &[f64], y: &[f64]) {
        debug_assert!(
            !self.locate_response,
            "a weighted refill takes no location out"
        );
        self.gamma.iter_mut().for_each(|g| *g = 0.0);
        self.fill(design, z_scale, y, |i| w[i]);
    }

    /// The cross-products of `design`'s rows, row `i` weighted by `weight(i)`, with response
    /// `y`. A weight of one multiplies exactly, so the unweighted fills are the plain sums.
    fn fill(
        &mut self,
        design: &Design,
        z_scale: &[Vec<f64>],
        y: &[f64],
        weight: impl Fn(usize) -> f64,
    ) {
        let n = design.n();
        let (q1, d, p) = (self.q1, self.layout.d(), self.layout.p);
        let inverse: Vec<Vec<f64>> = z_scale
            .iter()
            .map(|d| d.iter().map(|d| 1.0 / d).collect())
            .collect();
        let (inverse1, inverse_rest) = match inverse.split_first() {
            Some((first, rest)) => (&first[..], rest),
            None => (&[][..], &[][..]),
        };
        let (values1, rest) = match design.random.split_first() {
            Some((b, rest)) => (&b.values[..], rest),
            None => (&[][..], &[][..]),
        };
        let layout = &self.layout;
        if rest.is_empty() && self.q1 > 0 {
            self.fill_one_term(design, y, values1, inverse1, weight);
            return;
        }

        // The sparse row of the dense block for observation i: (dense index, value).
        let mut entries: Vec<(usize, f64)> = Vec::with_capacity(d.min(64));
        let row_of = |i: usize, out: &mut Vec<(usize, f64)>| {
            out.clear();
            for (t, b) in rest.iter().enumerate() {
                let (o, q, _) = layout.terms[t];
                let base = o + b.codes[i] as usize * q;
                for c in 0..q {
                    out.push((base + c, b.values[i * q + c] * inverse_rest[t][c]));
                }
            }
            for j in 0..p {
                out.push((layout.q_rest + j, design.x[j * n + i]));
            }
            out.push((d - 1, y[i]));
        };

        self.a11.iter_mut().for_each(|v| *v = 0.0);
        self.a22.iter_mut().for_each(|v| *v = 0.0);
        // Scratch accumulator for one level's coupling rows, emptied through `row_idx`
        // (which holds every row the level's observations touch).
        let mut acc = vec![0.0; d * q1];
        let (mut z1, mut wz1) = (vec![0.0; q1], vec![0.0; q1]);
        for l in 0..self.levels1 {
            let block = &mut self.a11[l * q1 * q1..(l + 1) * q1 * q1];
            for &i in &self.order[self.level_start[l]..self.level_start[l + 1]] {
                let wi = weight(i);
                for (((z, wz), v), s) in z1
                    .iter_mut()
                    .zip(&mut wz1)
                    .zip(&values1[i * q1..])
                    .zip(inverse1)
                {
                    *z = v * s;
                    *wz = wi * *z;
                }
                for a in 0..q1 {
                    for b in 0..q1 {
                        block[b * q1 + a] += wz1[a] * z1[b];
                    }
                }
                row_of(i, &mut entries);
                for &(r, v) in &entries {
                    for a in 0..q1 {
                        acc[r * q1 + a] += v * wz1[a];
                    }
                }
                for &(r, vr) in &entries {
                    let wvr = wi * vr;
                    for &(s, vs) in &entries {
                        self.a22[s * d + r] += wvr * vs;
                    }
                }
            }
            let lo = self.row_ptr[l];
            let rows = rows_of(&self.row_idx, &self.row_ptr, self.shared_rows, l);
            for (e, &r) in (lo..).zip(rows) {
                self.a21[e * q1..(e + 1) * q1].copy_from_slice(&acc[r * q1..(r + 1) * q1]);
                acc[r * q1..(r + 1) * q1].iter_mut().for_each(|v| *v = 0.0);
            }
        }
    }

    /// [`Blocks::fill`] for one random-effect term, the commonest model (and every GLMM
    /// PIRLS step of one): each level touches every dense row in order, so the dense block
    /// is the Gram matrix of the columns of `[X y]` ([`gram`]), and each level's coupling
    /// rows are written in place ([`level_sums`]), without the general path's
    /// per-observation sparse rows.
    fn fill_one_term(
        &mut self,
        design: &Design,
        y: &[f64],
        values1: &[f64],
        inverse1: &[f64],
        weight: impl Fn(usize) -> f64,
    ) {
        let (n, q1, d, p) = (design.n(), self.q1, self.layout.d(), self.layout.p);
        // Row i's entry of column j of [X y].
        let x = &design.x[..p * n];
        let value = |j: usize, i: usize| if j < p { x[j * n + i] } else { y[i] };
        match d {
            1 => gram::<1>(n, &value, &weight, &mut self.a22),
            2 => gram::<2>(n, &value, &weight, &mut self.a22),
            3 => gram::<3>(n, &value, &weight, &mut self.a22),
            4 => gram::<4>(n, &value, &weight, &mut self.a22),
            5 => gram::<5>(n, &value, &weight, &mut self.a22),
            6 => gram::<6>(n, &value, &weight, &mut self.a22),
            _ => {
                for r in 0..d {
                    for s in 0..=r {
                        let v: f64 = (0..n).map(|i| weight(i) * value(r, i) * value(s, i)).sum();
                        self.a22[s * d + r] = v;
                        self.a22[r * d + s] = v;
                    }
                }
            }
        }
        self.a11.iter_mut().for_each(|v| *v = 0.0);
        self.a21.iter_mut().for_each(|v| *v = 0.0);
        let mut z = vec![0.0; 2 * q1];
        for l in 0..self.levels1 {
            let block = &mut self.a11[l * q1 * q1..(l + 1) * q1 * q1];
            let coupling = &mut self.a21[self.row_ptr[l] * q1..self.row_ptr[l + 1] * q1];
            let rows = &self.order[self.level_start[l]..self.level_start[l + 1]];
            let sums = (rows, values1, inverse1, &value, &weight);
            // A literal q unrolls the inlined loops and keeps the sums in registers.
            match q1 {
                1 => level_sums(1, sums, block, coupling, &mut z),
                2 => level_sums(2, sums, block, coupling, &mut z),
                3 => level_sums(3, sums, block, coupling, &mut z),
                _ => level_sums(q1, sums, block, coupling, &mut z),
            }
        }
    }

    /// The cross-products of a model with one grouping factor from its per-subject
    /// statistics ([`SubjectStatistics`], validated), the random-effect columns divided by
    /// `z_scale` ([`statistics_scales`]). The dense block is `[X y]'[X y]` and every
    /// subject touches all of it. The response's sums are first refined as [`residualise`]
    /// refines the rows ([`refine`]).
    ///
    /// `Z'X` and `Z'y` are taken out of `s` (left empty) and freed as soon as the coupling
    /// block is formed from them, so that with millions of subjects the statistics and the
    /// blocks are not held whole together; `Z'Z` stays (the fit's R² sums it).
    pub fn from_statistics(s: &mut SubjectStatistics, z_scale: &[f64]) -> Blocks {
        let (q, p, levels) = (s.q(), s.p(), s.subjects.len());
        let d = p + 1;
        let (xty, yty, delta) = refine(s);
        let gamma: Vec<f64> = s.gamma.iter().zip(&delta).map(|(g, d)| g + d).collect();
        let inverse: Vec<f64> = z_scale.iter().map(|s| 1.0 / s).collect();
        let (ztx, zty) = (std::mem::take(&mut s.ztx), std::mem::take(&mut s.zty));
        let mut a21 = Vec::with_capacity(levels * d * q);
        for (ztx, zty) in ztx.chunks_exact(q * p).zip(zty.chunks_exact(q)) {
            for r in 0..p {
                a21.extend((0..q).map(|a| ztx[a * p + r] * inverse[a]));
            }
            a21.extend((0..q).map(|a| {
                let fitted: f64 = (0..p).map(|k| ztx[a * p + k] * delta[k]).sum();
                (zty[a] - fitted) * inverse[a]
            }));
        }
        drop((ztx, zty));
        let mut a11 = Vec::with_capacity(levels * q * q);
        for ztz in s.ztz.chunks_exact(q * q) {
            // Column-major, as `refill` lays it out (the block is symmetric).
            for b in 0..q {
                for a in 0..q {
                    a11.push(ztz[a * q + b] * inverse[a] * inverse[b]);
                }
            }
        }
        let mut a22 = vec![0.0; d * d];
        for c in 0..p {
            for r in 0..p {
                a22[c * d + r] = s.xtx[r * p + c];
            }
            a22[c * d + p] = xty[c];
            a22[p * d + c] = xty[c];
        }
        a22[d * d - 1] = yty;
        let mut blocks = Blocks {
            q1: q,
            levels1: levels,
            a11,
            row_ptr: (0..=levels).map(|l| l * d).collect(),
            row_idx: (0..d).collect(),
            shared_rows: true,
            a21,
            a22,
            by_row_ptr: Vec::new(),
            by_row: Vec::new(),
            layout: DenseLayout {
                terms: Vec::new(),
                q_rest: 0,
                p,
            },
            gamma,
            locate_response: true,
            // No observations: these blocks cannot be refilled from rows.
            order: Vec::new(),
            level_start: Vec::new(),
        };
        blocks.index_by_row();
        blocks
    }

    /// Fills [`Blocks::by_row`]: the coupling entries indexed by dense row, from the rows
    /// each level touches; none for a dense block of at most [`SMALL_DENSE`] rows, which
    /// nothing walks by row (16 bytes an entry: a gigabyte for ten million subjects with
    /// `d = 6`).
    fn index_by_row(&mut self) {
        let d = self.layout.d();
        if d <= SMALL_DENSE {
            return;
        }
        let mut by_row_ptr = vec![0usize; d + 1];
        for j in 0..self.levels1 {
            for &r in self.rows(j) {
                by_row_ptr[r + 1] += 1;
            }
        }
        for r in 0..d {
            by_row_ptr[r + 1] += by_row_ptr[r];
        }
        let mut by_row = vec![(0, 0); by_row_ptr[d]];
        let mut fill = by_row_ptr.clone();
        for j in 0..self.levels1 {
            for (e, &r) in (self.row_ptr[j]..).zip(self.rows(j)) {
                by_row[fill[r]] = (e, j);
                fill[r] += 1;
            }
        }
        self.by_row_ptr = by_row_ptr;
        self.by_row = by_row;
    }
}

/// The `D × D` weighted Gram matrix `Σᵢ w(i) v(i) v(i)'` of the columns `value(j, ·)`
/// into `a22` (full, column-major): every entry summed row by row in row order (as one sum
/// per entry would be), all at once in local accumulators, so that no sum waits on the
/// previous row's store.
fn gram<const D: usize>(
    n: usize,
    value: &impl Fn(usize, usize) -> f64,
    weight: &impl Fn(usize) -> f64,
    a22: &mut [f64],
) {
    let mut acc = [[0.0; D]; D];
    for i in 0..n {
        let wi = weight(i);
        let v: [f64; D] = std::array::from_fn(|j| value(j, i));
        for r in 0..D {
            let wv = wi * v[r];
            for s in 0..=r {
                acc[r][s] += wv * v[s];
            }
        }
    }
    for r in 0..D {
        for s in 0..=r {
            a22[s * D + r] = acc[r][s];
            a22[r * D + s] = acc[r][s];
        }
    }
}

/// What [`level_sums`] reads: one level's rows, the first term's values and inverse
/// scales, the value of dense column `j` at row `i`, and the rows' weights.
type LevelInputs<'a, V, W> = (&'a [usize], &'a [f64], &'a [f64], &'a V, &'a W);

/// One level's `Z₁ⱼ'WZ₁ⱼ` into `block` and `[X y]'WZ₁ⱼ` into `coupling` (both zeroed),
/// with `q` values per random effect; `z` is scratch of `2q`. Inlined into each caller
/// with `q` a literal, so that the loops unroll and the sums stay in registers.
#[inline(always)]
fn level_sums<V: Fn(usize, usize) -> f64, W: Fn(usize) -> f64>(
    q: usize,
    (rows, values1, inverse1, value, weight): LevelInputs<'_, V, W>,
    block: &mut [f64],
    coupling: &mut [f64],
    z: &mut [f64],
) {
    let (z, wz) = z[..2 * q].split_at_mut(q);
    let (block, inverse1) = (&mut block[..q * q], &inverse1[..q]);
    for &i in rows {
        let wi = weight(i);
        for c in 0..q {
            z[c] = values1[i * q + c] * inverse1[c];
            wz[c] = wi * z[c];
        }
        for a in 0..q {
            for b in 0..q {
                block[b * q + a] += wz[a] * z[b];
            }
        }
        for (r, row) in coupling.chunks_exact_mut(q).enumerate() {
            let v = value(r, i);
            for c in 0..q {
                row[c] += v * wz[c];
            }
        }
    }
}

/// [`Blocks::rows`] from the fields, for a caller that writes another field meanwhile.
fn rows_of<'a>(row_idx: &'a [usize], row_ptr: &[usize], shared: bool, j: usize) -> &'a [usize] {
    if shared {
        row_idx
    } else {
        &row_idx[row_ptr[j]..row_ptr[j + 1]]
    }
}

/// Per random-effect term, per column, the power of two nearest the column's root mean
/// square (1 for a column of zeros): what [`Blocks::new`] divides the columns by, so that the
/// optimizer's θ is on the scale of the response's residual whatever the unit of a
/// predictor (Days × 1e10 left the slope's θ near 1e-11, where every step and tolerance of
/// the search is absolute). A compound-symmetry term has one SD for all its columns, so
/// one scale: their geometric mean. Powers of two make the rescaling exact.
pub fn column_scales(design: &Design) -> Vec<Vec<f64>> {
    design
        .random
        .iter()
        .map(|b| {
            let q = b.q();
            let sums: Vec<f64> = (0..q)
                .map(|c| {
                    (0..b.codes.len())
                        .map(|i| b.values[i * q + c].powi(2))
                        .sum()
                })
                .collect();
            scales_from_sums(&sums, b.codes.len(), b.covariance)
        })
        .collect()
}

/// [`column_scales`] of the one term of per-subject statistics: the columns' sums of
/// squares are the diagonals of `Zᵢ'Zᵢ` summed over subjects.
pub fn statistics_scales(s: &SubjectStatistics) -> Vec<f64> {
    let q = s.q();
    let sums: Vec<f64> = (0..q)
        .map(|c| s.ztz.chunks_exact(q * q).map(|b| b[c * q + c]).sum())
        .collect();
    scales_from_sums(&sums, s.n as usize, s.covariance)
}

/// The scales of one term's columns from their sums of squares over `n` observations.
fn scales_from_sums(sums: &[f64], n: usize, covariance: CovarianceType) -> Vec<f64> {
    let q = sums.len();
    let log2_rms: Vec<f64> = sums
        .iter()
        .map(|ss| {
            let l = (ss / n.max(1) as f64).sqrt().log2().round();
            if l.is_finite() {
                l.clamp(-500.0, 500.0)
            } else {
                0.0
            }
        })
        .collect();
    if covariance == CovarianceType::CompoundSymmetry {
        let mean = (log2_rms.iter().sum::<f64>() / q.max(1) as f64).round();
        vec![mean.exp2(); q]
    } else {
        log2_rms.iter().map(|l| l.exp2()).collect()
    }
}

/// `y − Xγ` and γ, γ the least-squares coefficients of `y` on `X`.
///
/// The fit depends on `y` only through `y − Xβ`, so replacing `y` by `y − Xγ` changes β̂ by
/// exactly −γ and nothing else (θ, σ, the likelihood, the random effects, Var(β̂)). It
/// matters for precision: the factorisation finds the penalised residual sum of squares as
/// `y'y` less what the model explains, which for a response far from zero relative to its
/// spread (Reaction + 1e8) cancels almost every digit and left θ, σ and the likelihood
/// wrong. After this step `y` is on the scale of its residuals whatever its location.
///
/// γ need not be exact, only close enough to remove the bulk: it is solved from the
/// normal equations with the columns scaled to unit length (so the scale of a predictor
/// does not matter), then corrected once from the residual; a step is kept only if it
/// shrinks `y`. O(n p²), once per set of cross-products.
pub(crate) fn residualise(design: &Design) -> (Vec<f64>, Vec<f64>) {
    let (n, p) = (design.n(), design.p());
    let mut y = design.y.clone();
    let mut gamma = vec![0.0; p];
    let col = |j: usize| &design.x[j * n..(j + 1) * n];
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(u, v)| u * v).sum::<f64>();
    if p == 0 {
        return (y, gamma);
    }
    let Ok(normal) = NormalEquations::new(p, |a, b| dot(col(a), col(b)), 0.0) else {
        return (y, gamma);
    };
    let mut norm = dot(&y, &y);
    for _ in 0..2 {
        let xty: Vec<f64> = (0..p).map(|j| dot(col(j), &y)).collect();
        let step = normal.solve(&xty);
        let mut next = y.clone();
        for (j, s) in step.iter().enumerate() {
            next.iter_mut().zip(col(j)).for_each(|(v, x)| *v -= s * x);
        }
        let next_norm = dot(&next, &next);
        if next_norm.is_nan() || next_norm >= norm {
            break;
        }
        gamma.iter_mut().zip(&step).for_each(|(g, s)| *g += s);
        (y, norm) = (next, next_norm);
    }
    (y, gamma)
}

/// The same refinement as [`residualise`] on sums instead of rows: with `X'X` and the
/// statistics of `r = y − Xγ`, a step δ solving `X'X δ = X'r` gives `X'(r − Xδ) = X'r − X'Xδ`
/// and `(r − Xδ)'(r − Xδ) = r'r − 2δ'X'r + δ'X'Xδ`; a step is kept only if it shrinks
/// `r'r`. From sums a producer centred on the response's mean it removes what is left of
/// the location; digits the producer lost in `y'y` stay lost (docs/scale.md). Returns `X'r`,
/// `r'r` and δ.
fn refine(s: &SubjectStatistics) -> (Vec<f64>, f64, Vec<f64>) {
    let p = s.p();
    let (mut xty, mut yty, mut delta) = (s.xty.clone(), s.yty, vec![0.0; p]);
    let Ok(normal) = NormalEquations::new(p, |a, b| s.xtx[a * p + b], 0.0) else {
        return (xty, yty, delta);
    };
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(u, v)| u * v).sum::<f64>();
    for _ in 0..2 {
        let step = normal.solve(&xty);
        let xtx_step: Vec<f64> = (0..p)
            .map(|j| dot(&s.xtx[j * p..(j + 1) * p], &step))
            .collect();
        let next = yty - 2.0 * dot(&step, &xty) + dot(&step, &xtx_step);
        if next.is_nan() || next < 0.0 || next >= yty {
            break;
        }
        xty.iter_mut().zip(&xtx_step).for_each(|(v, w)| *v -= w);
        delta.iter_mut().zip(&step).for_each(|(d, s)| *d += s);
        yty = next;
    }
    (xty, yty, delta)
}
