//! Exact dense linear assignment (minimum-cost perfect matching).
//!
//! Jonker–Volgenant (LAPJV): column reduction with reduction transfer, two
//! passes of augmenting row reduction, then shortest augmenting paths
//! (Dijkstra on dense arrays). The cheap initialisation settles most rows, so
//! only a few rows need the O(n^2) Dijkstra augmentation.

use std::fmt;

/// Marks a row or column that is not (yet) assigned.
const NONE: usize = usize::MAX;

/// Why a cost matrix was rejected.
#[derive(Debug, Clone, PartialEq)]
pub enum AssignmentError {
    /// The slice does not hold `n * n` (resp. `n * d`) values.
    WrongLength { expected: usize, got: usize },
    /// A NaN or infinite cost would make the optimum undefined.
    NonFinite { row: usize, col: usize },
}

impl fmt::Display for AssignmentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongLength { expected, got } => {
                write!(f, "cost matrix has {got} entries, expected {expected}")
            }
            Self::NonFinite { row, col } => write!(f, "cost[{row}][{col}] is not finite"),
        }
    }
}

impl std::error::Error for AssignmentError {}

/// Solves the assignment problem for the row-major `n x n` matrix `cost`.
///
/// Returns `col_of_row`, a permutation of `0..n` minimising
/// `sum_i cost[i * n + col_of_row[i]]`. Optimal up to floating-point
/// rounding (exact for integer-valued costs of moderate size).
pub fn solve(cost: &[f64], n: usize) -> Result<Vec<usize>, AssignmentError> {
    let expected = n.saturating_mul(n);
    if cost.len() != expected {
        return Err(AssignmentError::WrongLength { expected, got: cost.len() });
    }
    if let Some(k) = cost.iter().position(|c| !c.is_finite()) {
        return Err(AssignmentError::NonFinite { row: k / n, col: k % n });
    }
    // Reduction transfer needs a second column, so tiny cases are answered here.
    if n <= 1 {
        return Ok((0..n).collect());
    }
    let mut lap = Lap::new(cost, n);
    let free = lap.column_reduction();
    let free = lap.augmenting_row_reduction(free);
    let free = lap.augmenting_row_reduction(free);
    lap.augment(&free);
    Ok(lap.col_of_row)
}

/// Solver state. Invariant throughout: every assigned row `i` has minimal
/// reduced cost `cost[i][j] - v[j]` at its own column, which keeps the
/// Dijkstra edge weights non-negative.
struct Lap<'a> {
    cost: &'a [f64],
    n: usize,
    /// Column duals.
    v: Vec<f64>,
    col_of_row: Vec<usize>,
    row_of_col: Vec<usize>,
}

impl<'a> Lap<'a> {
    fn new(cost: &'a [f64], n: usize) -> Self {
        Self { cost, n, v: vec![0.0; n], col_of_row: vec![NONE; n], row_of_col: vec![NONE; n] }
    }

    fn row(&self, i: usize) -> &'a [f64] {
        &self.cost[i * self.n..(i + 1) * self.n]
    }

    /// Sets `v[j]` to the column minimum and gives each column to its argmin
    /// row if that row is still free; then lowers the price of each singly
    /// matched column as far as its row still prefers it ("reduction
    /// transfer"). Returns the free rows.
    fn column_reduction(&mut self) -> Vec<usize> {
        let n = self.n;
        // Row-major scan keeps memory access sequential.
        let mut argmin = vec![0usize; n];
        let row0 = self.row(0);
        self.v.copy_from_slice(row0);
        for i in 1..n {
            let row = self.row(i);
            for ((vj, am), &c) in self.v.iter_mut().zip(&mut argmin).zip(row) {
                if c < *vj {
                    *vj = c;
                    *am = i;
                }
            }
        }
        let mut matches = vec![0u32; n];
        for j in (0..n).rev() {
            let i = argmin[j];
            matches[i] += 1;
            if matches[i] == 1 {
                self.col_of_row[i] = j;
                self.row_of_col[j] = i;
            } else if self.v[j] < self.v[self.col_of_row[i]] {
                // Keep the row on its cheapest column.
                self.row_of_col[self.col_of_row[i]] = NONE;
                self.col_of_row[i] = j;
                self.row_of_col[j] = i;
            }
        }
        let mut free = Vec::new();
        for i in 0..n {
            match matches[i] {
                0 => free.push(i),
                1 => {
                    let j1 = self.col_of_row[i];
                    let second = self
                        .row(i)
                        .iter()
                        .zip(&self.v)
                        .enumerate()
                        .filter(|&(j, _)| j != j1)
                        .map(|(_, (&c, &v))| c - v)
                        .fold(f64::INFINITY, f64::min);
                    self.v[j1] -= second;
                }
                _ => {}
            }
        }
        free
    }

    /// One pass of auction-like augmenting row reduction: each free row takes
    /// its cheapest column, bidding its price down to the second-cheapest
    /// level, and evicts the previous owner. An evicted row is retried at
    /// once if the price strictly fell. Returns the rows still free.
    ///
    /// Near-ties make prices fall by tiny steps, so the work is capped; the
    /// invariant holds after every step, so stopping early is safe.
    fn augmenting_row_reduction(&mut self, mut free: Vec<usize>) -> Vec<usize> {
        let len = free.len();
        let mut budget = 32 * self.n;
        let mut k = 0;
        let mut kept = 0;
        while k < len && budget > 0 {
            budget -= 1;
            let i = free[k];
            k += 1;
            let (mut j1, j2, u1, u2) = two_smallest(self.row(i), &self.v);
            let mut i0 = self.row_of_col[j1];
            let lowered = u1 < u2;
            if lowered {
                self.v[j1] -= u2 - u1;
            } else if i0 != NONE {
                // Tie: prefer the second column, which may be unowned.
                j1 = j2;
                i0 = self.row_of_col[j2];
            }
            self.col_of_row[i] = j1;
            self.row_of_col[j1] = i;
            if i0 != NONE {
                self.col_of_row[i0] = NONE;
                if lowered {
                    k -= 1;
                    free[k] = i0;
                } else {
                    free[kept] = i0;
                    kept += 1;
                }
            }
        }
        free.copy_within(k..len, kept);
        free.truncate(kept + len - k);
        free
    }

    /// Assigns every remaining free row along a shortest augmenting path.
    ///
    /// Dijkstra over columns with dense arrays. A scanned column gets
    /// `d = +inf` and a working price of `-inf`, so each relaxation is a
    /// branch-free sweep over all columns that the compiler vectorises;
    /// that beats gathering through a shrinking index list.
    fn augment(&mut self, free: &[usize]) {
        let n = self.n;
        let mut d = vec![0.0; n];
        let mut price = vec![0.0; n];
        // `u32` halves the sweep's extra traffic; `n * n` values fit in
        // memory, so `n < 2^32`.
        let mut pred = vec![0u32; n];
        let mut scanned: Vec<(usize, f64)> = Vec::new();
        for &f in free {
            price.copy_from_slice(&self.v);
            d.fill(f64::INFINITY);
            let (mut j, mut min) = relax(self.row(f), &price, 0.0, &mut d, &mut pred, f as u32);
            scanned.clear();
            while self.row_of_col[j] != NONE {
                let i = self.row_of_col[j];
                d[j] = f64::INFINITY;
                price[j] = f64::NEG_INFINITY;
                scanned.push((j, min));
                let row = self.row(i);
                let h = row[j] - self.v[j] - min;
                (j, min) = relax(row, &price, h, &mut d, &mut pred, i as u32);
            }
            // Price update keeps reduced costs non-negative for the new matching.
            for &(j, dj) in &scanned {
                self.v[j] += dj - min;
            }
            loop {
                let i = pred[j] as usize;
                self.row_of_col[j] = i;
                let next = self.col_of_row[i];
                self.col_of_row[i] = j;
                if i == f {
                    break;
                }
                j = next;
            }
        }
    }
}

/// Row-major `n x n` matrix of squared Euclidean distances between the rows
/// of `a` and `b` (each `n x d`, row-major).
///
/// Uses direct differences rather than `|a|^2 + |b|^2 - 2ab`, which avoids
/// cancellation for nearby points.
///
/// # Panics
/// If `a` or `b` does not hold `n * d` values.
pub fn sq_euclidean_cost(a: &[f64], b: &[f64], n: usize, d: usize) -> Vec<f64> {
    assert_eq!(a.len(), n * d, "a must be n x d");
    assert_eq!(b.len(), n * d, "b must be n x d");
    let mut out = vec![0.0; n * n];
    if d == 0 {
        return out;
    }
    for (ai, out_row) in a.chunks_exact(d).zip(out.chunks_exact_mut(n)) {
        for (bj, o) in b.chunks_exact(d).zip(out_row.iter_mut()) {
            *o = sq_dist(ai, bj);
        }
    }
    out
}

/// Eight independent accumulators let the compiler vectorise the sum.
#[inline(always)]
fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        for l in 0..8 {
            let t = x[l] - y[l];
            acc[l] += t * t;
        }
    }
    let tail: f64 = ar.iter().zip(br).map(|(x, y)| (x - y) * (x - y)).sum();
    acc.iter().sum::<f64>() + tail
}

/// SIMD width the hot loops are written for (lane arrays the compiler maps
/// to vector registers).
const LANES: usize = 4;

/// `a < b ? a : b`, which compiles to a single `minpd` (unlike `f64::min`).
#[inline(always)]
fn fmin(a: f64, b: f64) -> f64 {
    if a < b {
        a
    } else {
        b
    }
}

/// `a > b ? a : b`, a single `maxpd`.
#[inline(always)]
fn fmax(a: f64, b: f64) -> f64 {
    if a > b {
        a
    } else {
        b
    }
}

/// Defines `$name`, which runs `$body` compiled for AVX2 when the CPU has it
/// (the lane-array loops then use 256-bit vectors) and as is otherwise.
macro_rules! with_avx2 {
    ($(#[$doc:meta])* fn $name:ident = $body:ident($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        $(#[$doc])*
        fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                #[target_feature(enable = "avx2")]
                unsafe fn avx2($($arg: $ty),*) -> $ret {
                    $body($($arg),*)
                }
                // SAFETY: the CPU supports AVX2, checked just above.
                return unsafe { avx2($($arg),*) };
            }
            $body($($arg),*)
        }
    };
}

with_avx2! {
    /// Dijkstra relaxation through row `i`: `d[j] = min(d[j], row[j] - price[j] - h)`,
    /// setting `pred[j] = i` where it improves. Returns the argmin and minimum
    /// of the new `d`.
    fn relax = relax_lanes(row: &[f64], price: &[f64], h: f64, d: &mut [f64], pred: &mut [u32], i: u32) -> (usize, f64)
}

with_avx2! {
    /// Columns and values `(j1, j2, u1, u2)` of the two smallest entries of
    /// `row - v` (`j1 != j2`; `row` has at least two entries).
    fn two_smallest = two_smallest_lanes(row: &[f64], v: &[f64]) -> (usize, usize, f64, f64)
}

/// Body of [`two_smallest`]: per-lane smallest pair, merged at the end.
#[inline(always)]
fn two_smallest_lanes(row: &[f64], v: &[f64]) -> (usize, usize, f64, f64) {
    let mut m1 = [f64::INFINITY; LANES];
    let mut m2 = [f64::INFINITY; LANES];
    let mut i1 = [0u64; LANES];
    let mut i2 = [0u64; LANES];
    let split = row.len() - row.len() % LANES;
    for (k, (c, p)) in (0u64..).zip(row.chunks_exact(LANES).zip(v.chunks_exact(LANES))) {
        for l in 0..LANES {
            let h = c[l] - p[l];
            let j = k * LANES as u64 + l as u64;
            let lt1 = u64::from(h < m1[l]).wrapping_neg();
            let lt2 = u64::from(h < m2[l]).wrapping_neg();
            i2[l] ^= (i2[l] ^ j) & lt2;
            i2[l] ^= (i2[l] ^ i1[l]) & lt1;
            i1[l] ^= (i1[l] ^ j) & lt1;
            m2[l] = fmin(fmax(h, m1[l]), m2[l]);
            m1[l] = fmin(h, m1[l]);
        }
    }
    let lanes = m1.iter().zip(i1).chain(m2.iter().zip(i2));
    let tail = row[split..].iter().zip(&v[split..]).map(|(c, p)| c - p);
    let all = lanes.map(|(&h, j)| (h, j as usize)).chain(tail.zip(split..));
    let (mut j1, mut j2) = (0, 0);
    let (mut u1, mut u2) = (f64::INFINITY, f64::INFINITY);
    for (h, j) in all {
        if h < u1 {
            (u2, j2) = (u1, j1);
            (u1, j1) = (h, j);
        } else if h < u2 {
            (u2, j2) = (h, j);
        }
    }
    (j1, j2, u1, u2)
}

/// Body of [`relax`], written so that it vectorises: lane arrays, and
/// integer selects as bit masks because an `if` there stays a branch.
#[inline(always)]
fn relax_lanes(row: &[f64], price: &[f64], h: f64, d: &mut [f64], pred: &mut [u32], i: u32) -> (usize, f64) {
    let mut m = [f64::INFINITY; LANES];
    let mut at = [0u64; LANES];
    let split = d.len() - d.len() % LANES;
    let (d_body, d_tail) = d.split_at_mut(split);
    let lanes = row
        .chunks_exact(LANES)
        .zip(price.chunks_exact(LANES))
        .zip(d_body.chunks_exact_mut(LANES))
        .zip(pred.chunks_exact_mut(LANES));
    for (k, (((c, p), dd), pr)) in (0u64..).zip(lanes) {
        for l in 0..LANES {
            let r = c[l] - p[l] - h;
            pr[l] ^= (pr[l] ^ i) & u32::from(r < dd[l]).wrapping_neg();
            dd[l] = fmin(r, dd[l]);
            at[l] ^= (at[l] ^ k) & u64::from(dd[l] < m[l]).wrapping_neg();
            m[l] = fmin(dd[l], m[l]);
        }
    }
    let (mut best_at, mut best) = (0, f64::INFINITY);
    for l in 0..LANES {
        if m[l] < best {
            (best_at, best) = (at[l] as usize * LANES + l, m[l]);
        }
    }
    for (j, dj) in (split..).zip(d_tail) {
        let r = row[j] - price[j] - h;
        if r < *dj {
            *dj = r;
            pred[j] = i;
        }
        if *dj < best {
            (best_at, best) = (j, *dj);
        }
    }
    (best_at, best)
}
