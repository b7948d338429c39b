//! The random part of the dense block as a sparse Cholesky factor, for models whose later
//! grouping factors couple few of each other's levels: STAR's teachers within schools, the
//! therapists of a patients-within-therapists model. There the dense factor of
//! [`super::factor`] spends its time on zeros: STAR's 1,534 teacher and school effects form
//! a block that is almost block-diagonal by school, and its dense factorisation and inverse
//! cost more per evaluation than the whole of lme4's sparse one (CHOLMOD).
//!
//! The block `[A B; B' C]` (A: the other terms' random effects, B: their coupling with
//! `[X y]`, C: `[X y]'[X y]`, each less the first term's downdate) is factorised as
//! `L_A = chol(PAP')` (sparse, P an approximate minimum degree ordering, found once with
//! the symbolic analysis), `W = L_A⁻¹PB` and `L_C = chol(C − W'W)` (dense, `p + 1` square).
//! The gradient's entries of `Σ22 = A⁻¹` come from the sparse factor by Takahashi's
//! recurrences (the inverse on the factor's pattern, which holds every entry of A's).
//!
//! Used only where `Z'Z` never changes between evaluations (no residual structure, not a
//! GLMM's reweighted copies): its pattern and values are read once. A new response
//! (`Problem::set_response`) changes only the `[X y]` columns, which are read at every
//! update.

use super::blocks::Blocks;
use super::factor::Lambda;
use faer::dyn_stack::{MemBuffer, MemStack, StackReq};
use faer::sparse::linalg::amd;
use faer::sparse::linalg::cholesky::simplicial::{
    factorize_simplicial_numeric_llt, factorize_simplicial_numeric_llt_scratch,
    factorize_simplicial_symbolic_cholesky, factorize_simplicial_symbolic_cholesky_scratch,
    prefactorize_symbolic_cholesky, prefactorize_symbolic_cholesky_scratch,
    SymbolicSimplicialCholesky,
};
use faer::sparse::{SparseColMatRef, SymbolicSparseColMatRef};

/// Below this many random effects in the dense block the dense factor is fast enough.
const MIN_SIZE: usize = 128;
/// The sparse factor is used when its operation count (`Σⱼ cⱼ²`, `cⱼ` the entries of
/// column j of L) times this is below the dense factor's (`n³/3`): a scalar sparse
/// column costs several times a blocked dense one, and Takahashi's recurrences as much
/// again.
const SPARSE_PENALTY: f64 = 16.0;

/// One nonzero `q_g × q_h` block of the random part of `Z'Z` between two levels of the
/// later terms (`g` at or after `h`).
struct Pair {
    /// First dense row, `q` and term of each level.
    g: (usize, usize, usize),
    h: (usize, usize, usize),
    /// Offset of its values (column-major `q_g × q_h`) and their positions in `values`.
    at: usize,
}

/// The sparse factorisation of one model's dense block, allocated once.
pub(super) struct SparseBlock {
    /// Random effects in the dense block, and `p + 1`.
    nr: usize,
    m: usize,
    /// The fill-reducing order of A's rows: `pinv[old] = new`.
    pinv: Vec<usize>,
    /// The upper triangle of PAP' (what faer reads), column-compressed, on a fixed pattern.
    col_ptr: Vec<usize>,
    row_idx: Vec<usize>,
    values: Vec<f64>,
    symbolic: SymbolicSimplicialCholesky<usize>,
    /// The values of L_A on `symbolic`'s pattern (columns start with their diagonal).
    l: Vec<f64>,
    pairs: Vec<Pair>,
    /// `Z'Z` of each pair, and where each entry of `T_g'(Z'Z)T_h` goes in `values`
    /// (`usize::MAX`: the upper half of a diagonal block, which the lower half holds).
    pair_values: Vec<f64>,
    pair_pos: Vec<usize>,
    diag_pos: Vec<usize>,
    /// The random part of `Z'Z` by column (both triangles, unpermuted), for the gradient.
    zz_ptr: Vec<usize>,
    zz: Vec<(usize, f64)>,
    /// Per level j of the first term, where the products of its random coupling rows go,
    /// `(a, b)` for `b ≤ a` in order, from `down_ptr[j]`.
    down_ptr: Vec<usize>,
    down_pos: Vec<usize>,
    /// The same pairs' positions in L_A's pattern (where the selected inverse holds them).
    level_sigma_pos: Vec<usize>,
    /// B, then W = L_A⁻¹PB: `nr × m`, row-major (a row's `m` values together, as the
    /// downdate and the solves touch them), rows in the permuted order.
    w: Vec<f64>,
    /// C, then L_C: `m × m`, column-major, lower triangle.
    c: Vec<f64>,
    buffer: MemBuffer,
    /// Σ22 = A⁻¹ on L's pattern (after [`SparseBlock::selected_inverse`]).
    sigma: Vec<f64>,
    /// Scratch of the selected inverse and of the pair products.
    slot: Vec<usize>,
    z: Vec<f64>,
    scratch: Vec<f64>,
}

impl SparseBlock {
    /// The sparse analysis of `blocks`' dense block, or `None` when it is small or dense
    /// enough that the dense factor is faster.
    pub(super) fn new(blocks: &Blocks) -> Option<SparseBlock> {
        let lay = &blocks.layout;
        let (nr, d, m) = (lay.q_rest, lay.d(), lay.p + 1);
        if nr < MIN_SIZE || blocks.q1 == 0 {
            return None;
        }
        // Each level of the later terms: first dense row, q, term; and the level of each row.
        let mut levels = Vec::new();
        let mut level_of = vec![0usize; nr];
        for (k, &(off, q, n)) in lay.terms.iter().enumerate() {
            for l in 0..n {
                level_of[off + l * q..off + (l + 1) * q].fill(levels.len());
                levels.push((off + l * q, q, k));
            }
        }
        // The random part of Z'Z by column, and its nonzero level pairs (g ≥ h).
        let mut pair_keys = Vec::new();
        let mut zz_ptr = vec![0];
        let mut zz = Vec::new();
        for s in 0..nr {
            let col = &blocks.a22[s * d..s * d + nr];
            for (r, &v) in col.iter().enumerate().filter(|&(_, &v)| v != 0.0) {
                zz.push((r, v));
                if r >= s {
                    pair_keys.push((level_of[r], level_of[s]));
                }
            }
            zz_ptr.push(zz.len());
        }
        pair_keys.sort_unstable();
        pair_keys.dedup();
        let mut pairs = Vec::with_capacity(pair_keys.len());
        let mut pair_values = Vec::new();
        for &(g, h) in &pair_keys {
            let (g, h) = (levels[g], levels[h]);
            let at = pair_values.len();
            for b in 0..h.1 {
                for a in 0..g.1 {
                    pair_values.push(blocks.a22[(h.0 + b) * d + g.0 + a]);
                }
            }
            pairs.push(Pair { g, h, at });
        }

        // The pattern of A (lower triangle, unpermuted): Z'Z's pairs, the first term's
        // downdates, the diagonal.
        let mut entries: Vec<(usize, usize)> = (0..nr).map(|r| (r, r)).collect();
        for p in &pairs {
            for b in 0..p.h.1 {
                for a in 0..p.g.1 {
                    let (r, s) = (p.g.0 + a, p.h.0 + b);
                    if r >= s {
                        entries.push((r, s));
                    }
                }
            }
        }
        let random_rows = |j: usize| {
            let rows = blocks.rows(j);
            &rows[..rows.partition_point(|&r| r < nr)]
        };
        for j in 0..blocks.levels1 {
            let rows = random_rows(j);
            for (a, &r) in rows.iter().enumerate() {
                entries.extend(rows[..=a].iter().map(|&s| (r, s)));
            }
        }
        entries.sort_unstable_by_key(|&(r, s)| (s, r));
        entries.dedup();

        // Fill-reducing order (AMD reads the pattern of A + A', so the lower half serves).
        let (lower_ptr, lower_idx) = compress(nr, entries.iter().map(|&(r, s)| (s, r)));
        let mut perm = vec![0usize; nr];
        let mut pinv = vec![0usize; nr];
        {
            let pattern =
                SymbolicSparseColMatRef::new_checked(nr, nr, &lower_ptr, None, &lower_idx);
            let mut mem = MemBuffer::new(amd::order_scratch::<usize>(nr, lower_idx.len()));
            amd::order(
                &mut perm,
                &mut pinv,
                pattern,
                amd::Control::default(),
                MemStack::new(&mut mem),
            )
            .ok()?;
        }
        // The upper triangle of PAP', and the symbolic factor.
        let (col_ptr, row_idx) = compress(
            nr,
            entries.iter().map(|&(r, s)| {
                let (i, j) = (pinv[r], pinv[s]);
                (i.max(j), i.min(j))
            }),
        );
        let pattern = SymbolicSparseColMatRef::new_checked(nr, nr, &col_ptr, None, &row_idx);
        let mut etree = vec![0isize; nr];
        let mut counts = vec![0usize; nr];
        let mut mem = MemBuffer::new(StackReq::any_of(&[
            prefactorize_symbolic_cholesky_scratch::<usize>(nr, row_idx.len()),
            factorize_simplicial_symbolic_cholesky_scratch::<usize>(nr),
        ]));
        let tree = prefactorize_symbolic_cholesky(
            &mut etree,
            &mut counts,
            pattern,
            MemStack::new(&mut mem),
        );
        let sparse_ops: f64 = counts.iter().map(|&c| (c as f64).powi(2)).sum();
        if sparse_ops * SPARSE_PENALTY > (nr as f64).powi(3) / 3.0 {
            return None;
        }
        let symbolic =
            factorize_simplicial_symbolic_cholesky(pattern, tree, &counts, MemStack::new(&mut mem))
                .ok()?;

        let position = |r: usize, s: usize| {
            let (i, j) = (pinv[r], pinv[s]);
            let (row, col) = (i.min(j), i.max(j));
            let rows = &row_idx[col_ptr[col]..col_ptr[col + 1]];
            col_ptr[col] + rows.binary_search(&row).expect("an entry of A's pattern")
        };
        let mut pair_pos = Vec::with_capacity(pair_values.len());
        for p in &pairs {
            for b in 0..p.h.1 {
                for a in 0..p.g.1 {
                    let (r, s) = (p.g.0 + a, p.h.0 + b);
                    pair_pos.push(if r >= s { position(r, s) } else { usize::MAX });
                }
            }
        }
        let diag_pos = (0..nr).map(|r| position(r, r)).collect();
        let mut down_ptr = vec![0];
        let mut down_pos = Vec::new();
        for j in 0..blocks.levels1 {
            let rows = random_rows(j);
            for (a, &r) in rows.iter().enumerate() {
                down_pos.extend(rows[..=a].iter().map(|&s| position(r, s)));
            }
            down_ptr.push(down_pos.len());
        }
        let (l_ptr, l_idx) = (symbolic.col_ptr(), symbolic.row_idx());
        let l_position = |r: usize, s: usize| {
            let (i, j) = (pinv[r], pinv[s]);
            let (row, col) = (i.max(j), i.min(j));
            let rows = &l_idx[l_ptr[col]..l_ptr[col + 1]];
            l_ptr[col] + rows.binary_search(&row).expect("A's pattern within L's")
        };
        let mut level_sigma_pos = Vec::with_capacity(down_pos.len());
        for j in 0..blocks.levels1 {
            let rows = random_rows(j);
            for (a, &r) in rows.iter().enumerate() {
                level_sigma_pos.extend(rows[..=a].iter().map(|&s| l_position(r, s)));
            }
        }
        let l_len = symbolic.len_val();
        let values = vec![0.0; row_idx.len()];
        Some(SparseBlock {
            nr,
            m,
            pinv,
            col_ptr,
            row_idx,
            values,
            buffer: MemBuffer::new(factorize_simplicial_numeric_llt_scratch::<usize, f64>(nr)),
            symbolic,
            l: vec![0.0; l_len],
            pairs,
            pair_values,
            pair_pos,
            diag_pos,
            zz_ptr,
            zz,
            down_ptr,
            down_pos,
            level_sigma_pos,
            w: vec![0.0; nr * m],
            c: vec![0.0; m * m],
            sigma: Vec::new(),
            slot: vec![usize::MAX; nr],
            z: Vec::new(),
            scratch: Vec::new(),
        })
    }

    /// Factorises the dense block at the relative covariance factors of `lambda`, the first
    /// term's coupling rows `l21` being those of [`super::levels`] at the same θ. Returns
    /// `log|L_A|²`, or `None` when a part is not positive definite; `L_C` is left in `c`
    /// for the caller to factorise.
    pub(super) fn update(&mut self, blocks: &Blocks, lambda: &Lambda, l21: &[f64]) -> Option<f64> {
        let lay = &blocks.layout;
        let (nr, m, d, q1) = (self.nr, self.m, lay.d(), blocks.q1);
        // Λ'(Z'Z)Λ + I on A's pattern.
        self.values.fill(0.0);
        for p in &self.pairs {
            let (qg, qh) = (p.g.1, p.h.1);
            let a = &self.pair_values[p.at..p.at + qg * qh];
            let pos = &self.pair_pos[p.at..p.at + qg * qh];
            if qg == 1 && qh == 1 {
                if pos[0] != usize::MAX {
                    self.values[pos[0]] += lambda.t[p.g.2 + 1][0] * a[0] * lambda.t[p.h.2 + 1][0];
                }
                continue;
            }
            let out = &mut self.scratch;
            congruence_pair(a, &lambda.t[p.g.2 + 1], qg, &lambda.t[p.h.2 + 1], qh, out);
            for (&at, &v) in pos.iter().zip(out.iter()) {
                if at != usize::MAX {
                    self.values[at] += v;
                }
            }
        }
        for &at in &self.diag_pos {
            self.values[at] += 1.0;
        }
        // B = Λ'(Z'[X y]) and C = [X y]'[X y].
        for (k, &(off, q, n)) in lay.terms.iter().enumerate() {
            let t = &lambda.t[k + 1];
            for l in 0..n {
                let o = off + l * q;
                for c in 0..m {
                    let src = &blocks.a22[(nr + c) * d + o..(nr + c) * d + o + q];
                    for a in 0..q {
                        let v: f64 = (a..q).map(|b| t[a * q + b] * src[b]).sum();
                        self.w[self.pinv[o + a] * m + c] = v;
                    }
                }
            }
        }
        for c in 0..m {
            for r in c..m {
                self.c[c * m + r] = blocks.a22[(nr + c) * d + nr + r];
            }
        }
        // Downdate by the first term's coupling rows.
        match q1 {
            1 => self.downdate::<1>(blocks, l21),
            2 => self.downdate::<2>(blocks, l21),
            _ => self.downdate::<0>(blocks, l21),
        }
        let a = SparseColMatRef::new(
            SymbolicSparseColMatRef::new_checked(nr, nr, &self.col_ptr, None, &self.row_idx),
            &self.values,
        );
        factorize_simplicial_numeric_llt(
            &mut self.l,
            a,
            Default::default(),
            &self.symbolic,
            MemStack::new(&mut self.buffer),
        )
        .ok()?;
        let col_ptr = self.symbolic.col_ptr();
        let mut log_det = 0.0;
        for j in 0..nr {
            log_det += 2.0 * self.l[col_ptr[j]].ln();
        }
        // W = L_A⁻¹ B, then C − W'W.
        self.forward();
        for row in self.w.chunks_exact(m) {
            for c in 0..m {
                for r in c..m {
                    self.c[c * m + r] -= row[r] * row[c];
                }
            }
        }
        log_det.is_finite().then_some(log_det)
    }

    /// A, B and C less the first term's coupling rows `l21` (`Σⱼ L21ⱼL21ⱼ'`); `Q` is
    /// `q1` when it is a small constant (so that the products unroll), 0 otherwise.
    fn downdate<const Q: usize>(&mut self, blocks: &Blocks, l21: &[f64]) {
        let (nr, m) = (self.nr, self.m);
        let q1 = if Q > 0 { Q } else { blocks.q1 };
        let dot = |a: &[f64], b: &[f64]| -> f64 {
            if Q > 0 {
                (0..Q).map(|i| a[i] * b[i]).sum()
            } else {
                dot(a, b)
            }
        };
        for j in 0..blocks.levels1 {
            let (lo, hi) = (blocks.row_ptr[j], blocks.row_ptr[j + 1]);
            let rows = blocks.rows(j);
            let nrand = rows.partition_point(|&r| r < nr);
            let (random, fixed) = l21[lo * q1..hi * q1].split_at(nrand * q1);
            let pos = &self.down_pos[self.down_ptr[j]..self.down_ptr[j + 1]];
            let mut k = 0;
            for (a, ra) in random.chunks_exact(q1).enumerate() {
                for rb in random.chunks_exact(q1).take(a + 1) {
                    self.values[pos[k]] -= dot(ra, rb);
                    k += 1;
                }
            }
            for (rb, &r) in random.chunks_exact(q1).zip(rows) {
                let w = &mut self.w[self.pinv[r] * m..][..m];
                for (ra, &x) in fixed.chunks_exact(q1).zip(&rows[nrand..]) {
                    w[x - nr] -= dot(ra, rb);
                }
            }
            for (a, (ra, &x)) in fixed.chunks_exact(q1).zip(&rows[nrand..]).enumerate() {
                let x = x - nr;
                for (rb, &y) in fixed.chunks_exact(q1).zip(&rows[nrand..]).take(a + 1) {
                    self.c[(y - nr) * m + x] -= dot(ra, rb);
                }
            }
        }
    }

    /// `m` (`p + 1`) and the `m × m` lower triangle that `L_C` is factorised in.
    pub(super) fn fixed_part(&mut self) -> (usize, &mut [f64]) {
        (self.m, &mut self.c)
    }

    /// `L_C` (column-major `m × m`) after the caller factorised it.
    pub(super) fn l_c(&self) -> &[f64] {
        &self.c
    }

    /// `W ← L_A⁻¹ W`, all `m` columns at once.
    fn forward(&mut self) {
        let (col_ptr, row_idx) = (self.symbolic.col_ptr(), self.symbolic.row_idx());
        let m = self.m;
        let mut xj = vec![0.0; m];
        for j in 0..self.nr {
            let (lo, hi) = (col_ptr[j], col_ptr[j + 1]);
            let ljj = self.l[lo];
            for (x, v) in xj.iter_mut().zip(&mut self.w[j * m..(j + 1) * m]) {
                *v /= ljj;
                *x = *v;
            }
            for e in lo + 1..hi {
                let lij = self.l[e];
                let row = &mut self.w[row_idx[e] * m..(row_idx[e] + 1) * m];
                row.iter_mut().zip(&xj).for_each(|(v, x)| *v -= lij * x);
            }
        }
    }

    /// `X ← L_A⁻ᵀ X` for row-major `nr × k` X (permuted order).
    fn backward(&self, x: &mut [f64], k: usize) {
        let (col_ptr, row_idx) = (self.symbolic.col_ptr(), self.symbolic.row_idx());
        let mut s = vec![0.0; k];
        for j in (0..self.nr).rev() {
            let (lo, hi) = (col_ptr[j], col_ptr[j + 1]);
            s.copy_from_slice(&x[j * k..(j + 1) * k]);
            for e in lo + 1..hi {
                let (lij, i) = (self.l[e], row_idx[e]);
                s.iter_mut()
                    .zip(&x[i * k..(i + 1) * k])
                    .for_each(|(s, v)| *s -= lij * v);
            }
            let ljj = self.l[lo];
            x[j * k..(j + 1) * k]
                .iter_mut()
                .zip(&s)
                .for_each(|(v, s)| *v = s / ljj);
        }
    }

    /// `[u_rest; β̂]` as [`super::factor::Factor::dense_solution`] gives it: β̂ from `L_C`,
    /// then `L_A'Pu = W[:, y] − W[:, X]β̂`.
    pub(super) fn solution(&self) -> Vec<f64> {
        let (nr, m) = (self.nr, self.m);
        let p = m - 1;
        let l = |r: usize, c: usize| self.c[c * m + r];
        let mut beta: Vec<f64> = (0..p).map(|c| l(p, c)).collect();
        for c in (0..p).rev() {
            let acc: f64 = (c + 1..p).map(|r| l(r, c) * beta[r]).sum();
            beta[c] = (beta[c] - acc) / l(c, c);
        }
        let mut x: Vec<f64> = (0..nr)
            .map(|i| {
                let w = &self.w[i * m..(i + 1) * m];
                w[p] - (0..p).map(|c| w[c] * beta[c]).sum::<f64>()
            })
            .collect();
        self.backward(&mut x, 1);
        let mut out: Vec<f64> = (0..nr).map(|r| x[self.pinv[r]]).collect();
        out.extend(beta);
        out
    }

    /// `L22⁻ᵀ L_[Xy]'` as the gradient needs it (into `out`, row-major `nr × m`, unpermuted
    /// rows): the columns of W back-substituted through `L_A'`.
    pub(super) fn back_substitute_w(&mut self, out: &mut [f64]) {
        let m = self.m;
        let mut x = std::mem::take(&mut self.z);
        x.clear();
        x.extend_from_slice(&self.w);
        self.backward(&mut x, m);
        for (o, &i) in out.chunks_exact_mut(m).zip(&self.pinv) {
            o.copy_from_slice(&x[i * m..(i + 1) * m]);
        }
        self.z = x;
    }

    /// Σ22 = A⁻¹ on the pattern of L_A, by Takahashi's recurrences from the last column
    /// back: for j with below-diagonal rows J, `Σᵢⱼ = −(Σ_{k∈J} Σᵢₖ lₖⱼ)/lⱼⱼ` (i ∈ J) and
    /// `Σⱼⱼ = (1/lⱼⱼ − Σ_{k∈J} lₖⱼΣₖⱼ)/lⱼⱼ`. Every `Σᵢₖ` needed lies on the pattern (for
    /// k ∈ J, column k holds every i ∈ J below k), so nothing else is formed.
    pub(super) fn selected_inverse(&mut self) {
        let (col_ptr, row_idx) = (self.symbolic.col_ptr(), self.symbolic.row_idx());
        let (l, sigma, slot, z) = (&self.l, &mut self.sigma, &mut self.slot, &mut self.z);
        sigma.clear();
        sigma.resize(l.len(), 0.0);
        for j in (0..self.nr).rev() {
            let (lo, hi) = (col_ptr[j], col_ptr[j + 1]);
            let rows = &row_idx[lo + 1..hi];
            let lj = &l[lo + 1..hi];
            z.clear();
            z.resize(rows.len(), 0.0);
            for (t, &i) in rows.iter().enumerate() {
                slot[i] = t;
            }
            for (t, &k) in rows.iter().enumerate() {
                let lkj = lj[t];
                for e in col_ptr[k]..col_ptr[k + 1] {
                    let u = slot[row_idx[e]];
                    if u == usize::MAX {
                        continue;
                    }
                    // Σᵢₖ (i = row_idx[e] ≥ k): to zᵢ through lₖⱼ, and to zₖ through lᵢⱼ.
                    z[u] += lkj * sigma[e];
                    if u != t {
                        z[t] += lj[u] * sigma[e];
                    }
                }
            }
            let ljj = l[lo];
            let mut diag = 1.0 / ljj;
            for (t, &i) in rows.iter().enumerate() {
                let s = -z[t] / ljj;
                sigma[lo + 1 + t] = s;
                diag -= lj[t] * s;
                slot[i] = usize::MAX;
            }
            sigma[lo] = diag / ljj;
        }
    }

    /// The nonzero `(row, value)` of column `c` of `Z'Z`'s random part.
    pub(super) fn coupling(&self, c: usize) -> &[(usize, f64)] {
        &self.zz[self.zz_ptr[c]..self.zz_ptr[c + 1]]
    }

    /// `Σ22[rows[a], rows[b]]` for `b ≤ a` in that order, `rows` the random rows that level
    /// `j` of the first term touches (after [`SparseBlock::selected_inverse`]).
    pub(super) fn level_sigma(&self, j: usize) -> impl Iterator<Item = f64> + '_ {
        self.level_sigma_pos[self.down_ptr[j]..self.down_ptr[j + 1]]
            .iter()
            .map(|&at| self.sigma[at])
    }

    /// `Σ22[x, y]` (unpermuted indices) after [`SparseBlock::selected_inverse`], for x and y
    /// coupled in A (or equal).
    pub(super) fn sigma(&self, x: usize, y: usize) -> f64 {
        let (i, j) = (self.pinv[x], self.pinv[y]);
        let (row, col) = (i.max(j), i.min(j));
        let (col_ptr, row_idx) = (self.symbolic.col_ptr(), self.symbolic.row_idx());
        let rows = &row_idx[col_ptr[col]..col_ptr[col + 1]];
        let at = rows
            .binary_search(&row)
            .expect("Σ22 is asked for only where A is nonzero");
        self.sigma[col_ptr[col] + at]
    }
}

/// `out = T_g' A T_h` for a `q_g × q_h` block A (column-major) and lower-triangular factors.
fn congruence_pair(a: &[f64], tg: &[f64], qg: usize, th: &[f64], qh: usize, out: &mut Vec<f64>) {
    out.clear();
    out.resize(qg * qh, 0.0);
    for b in 0..qh {
        for r in 0..qg {
            // (T_g'A)[r, ·] · T_h[·, b] = Σ_{c ≥ b} Σ_{k ≥ r} T_g[k, r] A[k, c] T_h[c, b]
            let mut v = 0.0;
            for c in b..qh {
                let thcb = th[b * qh + c];
                if thcb == 0.0 {
                    continue;
                }
                let s: f64 = (r..qg).map(|k| tg[r * qg + k] * a[c * qg + k]).sum();
                v += s * thcb;
            }
            out[b * qg + r] = v;
        }
    }
}

/// Column-compressed pattern of `(column, row)` pairs (sorted by column then row, distinct).
fn compress(n: usize, entries: impl Iterator<Item = (usize, usize)>) -> (Vec<usize>, Vec<usize>) {
    let mut pairs: Vec<(usize, usize)> = entries.collect();
    pairs.sort_unstable();
    pairs.dedup();
    let mut ptr = vec![0usize; n + 1];
    for &(c, _) in &pairs {
        ptr[c + 1] += 1;
    }
    for c in 0..n {
        ptr[c + 1] += ptr[c];
    }
    (ptr, pairs.into_iter().map(|(_, r)| r).collect())
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
