//! GradEP: the three phases (free, then +beta and -beta each from the free equilibrium), the
//! learned velocity and loss, and the symmetric EP gradient
//! `g = 1/(2 beta) [dE/dtheta(s+) - dE/dtheta(s-)]`, batch mean (SPEC).
//!
//! The batch is cut into chunks that run in parallel, each small enough to stay in its core's
//! cache for all `3T` steps; chunk results are summed in chunk order, so the result does not
//! depend on the number of threads.

use crate::config::RelaxConfig;
use crate::model::{Dims, Params};
use crate::real::{matmul, MatRef, Real};
use crate::relax::{relax, Packed, States, Visible};
use rayon::prelude::*;
use std::fmt;

/// Samples per parallel work unit.
pub const CHUNK: usize = 64;

/// The three phases of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Free,
    PlusBeta,
    MinusBeta,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Phase::Free => "free",
            Phase::PlusBeta => "nudged +beta",
            Phase::MinusBeta => "nudged -beta",
        })
    }
}

/// The equilibria of the three phases.
#[derive(Debug, Clone)]
pub struct Equilibria<T> {
    pub free: States<T>,
    pub plus: States<T>,
    pub minus: States<T>,
}

impl<T: Real> Equilibria<T> {
    /// The first phase whose equilibrium has a non-finite value.
    pub fn failed_phase(&self) -> Option<Phase> {
        [(Phase::Free, &self.free), (Phase::PlusBeta, &self.plus), (Phase::MinusBeta, &self.minus)]
            .into_iter()
            .find(|(_, s)| !s.is_finite())
            .map(|(phase, _)| phase)
    }
}

/// Free phase from `(x_t, 0, 0)`, then both nudged phases from the free equilibrium.
pub fn three_phases<T: Real>(p: &Packed<T>, c: &RelaxConfig, x_t: &[T], u: &[T]) -> Equilibria<T> {
    let mut free = States::from_visible(p.dims, x_t);
    relax(p, &mut free, &Visible::spring(x_t, u, c.k, c.alpha, 0.0), c.eps, c.steps);
    let nudged = |beta: f64| {
        let mut s = free.clone();
        relax(p, &mut s, &Visible::spring(x_t, u, c.k, c.alpha, beta), c.eps, c.steps);
        s
    };
    let (plus, minus) = (nudged(c.beta), nudged(-c.beta));
    Equilibria { free, plus, minus }
}

/// The learned velocity `v = alpha k (x* - x_t)` at the free equilibrium.
pub fn velocity<T: Real>(c: &RelaxConfig, free: &States<T>, x_t: &[T]) -> Vec<T> {
    let ak = T::of(c.alpha * c.k);
    free.x.iter().zip(x_t).map(|(&x, &xt)| ak * (x - xt)).collect()
}

/// `sum over samples and pixels of (v - u)^2`, accumulated in f64.
fn squared_error_sum<T: Real>(v: &[T], u: &[T]) -> f64 {
    v.iter().zip(u).map(|(&v, &u)| (v - u).to_f64().unwrap_or(f64::NAN).powi(2)).sum()
}

/// `sum over samples of [dE/dtheta(s+) - dE/dtheta(s-)]`, not yet scaled by `1/(2 beta n)`.
///
/// Written as `a+ b+ - a- b- = (a+ - a-) mean(b) + mean(a) (b+ - b-)`, so the small difference
/// between the nudged states is taken before the products, not after (no cancellation).
fn ep_difference_sum<T: Real>(d: Dims, plus: &States<T>, minus: &States<T>) -> Params<T> {
    let (rp1, rp2) = plus.rho_hidden();
    let (rm1, rm2) = minus.rho_hidden();
    let half = T::of(0.5);
    let diff = |a: &[T], b: &[T]| a.iter().zip(b).map(|(&a, &b)| a - b).collect::<Vec<T>>();
    let mean = |a: &[T], b: &[T]| a.iter().zip(b).map(|(&a, &b)| half * (a + b)).collect::<Vec<T>>();
    let (dx, mx) = (diff(&plus.x, &minus.x), mean(&plus.x, &minus.x));
    let (dr1, mr1) = (diff(&rp1, &rm1), mean(&rp1, &rm1));
    let (dr2, mr2) = (diff(&rp2, &rm2), mean(&rp2, &rm2));
    let n = plus.n;
    let mut g = Params::zeros(d);
    // dE/dW0 = -rho(h1) x^T; dE/dW1 = -rho(h2) rho(h1)^T.
    let outer_diff = |dst: &mut [T], da: &[T], mb: &[T], ma: &[T], db: &[T], ra: usize, rb: usize| {
        let m = MatRef::row_major;
        matmul(dst, m(da, n, ra).t(), m(mb, n, rb), false);
        matmul(dst, m(ma, n, ra).t(), m(db, n, rb), true);
    };
    outer_diff(&mut g.w0, &dr1, &mx, &mr1, &dx, d.n_h1, d.n_x);
    outer_diff(&mut g.w1, &dr2, &mr1, &mr2, &dr1, d.n_h2, d.n_h1);
    let column_sums = |v: &[T], out: &mut [T]| {
        for row in v.chunks(out.len()) {
            out.iter_mut().zip(row).for_each(|(o, &x)| *o = *o + x);
        }
    };
    column_sums(&dr1, &mut g.b0);
    column_sums(&dr2, &mut g.b1);
    column_sums(&dx, &mut g.bx);
    // The sign of dE/dtheta: every term carries a minus.
    g.tensors_mut().into_iter().flatten().for_each(|v| *v = -*v);
    g
}

/// The EP gradient of a batch from its equilibria (batch mean).
pub fn ep_gradient<T: Real>(c: &RelaxConfig, eq: &Equilibria<T>) -> Params<T> {
    let mut g = ep_difference_sum(eq.plus.dims(), &eq.plus, &eq.minus);
    scale(&mut g, 1.0 / (2.0 * c.beta * eq.plus.n as f64));
    g
}

fn scale<T: Real>(g: &mut Params<T>, by: f64) {
    let by = T::of(by);
    g.tensors_mut().into_iter().flatten().for_each(|v| *v = *v * by);
}

/// One GradEP measurement on a batch.
#[derive(Debug, Clone)]
pub struct StepResult<T> {
    /// `mean over batch and pixels of (v - u)^2`.
    pub loss: f64,
    /// EP estimate of the gradient of `1/2 sum_pixels (v - u)^2`, batch mean.
    pub grad: Params<T>,
}

/// Loss and EP gradient of a whole batch (`x_t`, `u` row-major, `n_x` values per sample),
/// chunked and parallel. Fails with the first phase that produced a non-finite state.
pub fn gradep_step<T: Real>(
    p: &Params<T>,
    c: &RelaxConfig,
    x_t: &[T],
    u: &[T],
) -> Result<StepResult<T>, Phase> {
    let d = p.dims();
    let packed = Packed::new(p);
    let parts: Vec<Result<(f64, Params<T>), Phase>> = x_t
        .par_chunks(CHUNK * d.n_x)
        .zip(u.par_chunks(CHUNK * d.n_x))
        .map(|(x_t, u)| {
            let eq = three_phases(&packed, c, x_t, u);
            if let Some(phase) = eq.failed_phase() {
                return Err(phase);
            }
            let sq = squared_error_sum(&velocity(c, &eq.free, x_t), u);
            Ok((sq, ep_difference_sum(d, &eq.plus, &eq.minus)))
        })
        .collect();
    let mut loss = 0.0;
    let mut grad = Params::zeros(d);
    for part in parts {
        let (sq, g) = part?;
        loss += sq;
        for (acc, g) in grad.tensors_mut().into_iter().zip(g.tensors()) {
            acc.iter_mut().zip(g.1).for_each(|(a, &b)| *a = *a + b);
        }
    }
    let n = x_t.len() / d.n_x;
    scale(&mut grad, 1.0 / (2.0 * c.beta * n as f64));
    if !loss.is_finite() {
        return Err(Phase::Free);
    }
    Ok(StepResult { loss: loss / x_t.len() as f64, grad })
}
