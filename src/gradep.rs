//! GradEP: the three phases (free, then +beta and -beta each from the free equilibrium), the
//! learned velocity and loss, and the symmetric EP gradient
//! `g = 1/(2 beta) [dE/dtheta(s+) - dE/dtheta(s-)]`, batch mean (SPEC), in any [`Arith`].
//!
//! The batch is cut into chunks that run in parallel, each small enough to stay in its core's
//! cache for all `3T` steps; chunk results are summed in chunk order, so the result does not
//! depend on the number of threads (and in fixed point the sums are exact anyway).

use crate::arith::Arith;
use crate::config::RelaxConfig;
use crate::model::{Params, States};
use crate::relax::{relax, Packed, Visible};
use crate::saturation::Saturations;
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
pub struct Equilibria<N> {
    pub free: States<N>,
    pub plus: States<N>,
    pub minus: States<N>,
}

impl<N> Equilibria<N> {
    /// The first phase whose equilibrium has a non-finite value.
    pub fn failed_phase<A: Arith<Num = N>>(&self, a: &A) -> Option<Phase> {
        [(Phase::Free, &self.free), (Phase::PlusBeta, &self.plus), (Phase::MinusBeta, &self.minus)]
            .into_iter()
            .find(|(_, s)| ![&s.x, &s.h1, &s.h2].iter().all(|v| a.all_finite(v)))
            .map(|(phase, _)| phase)
    }
}

/// Free phase from `(x_t, 0, 0)`, then both nudged phases from the free equilibrium.
pub fn three_phases<A: Arith>(
    a: &A,
    p: &Packed<A>,
    c: &RelaxConfig,
    x_t: &[A::Num],
    u: &[A::Num],
    sat: &mut Saturations,
) -> Equilibria<A::Num> {
    let mut free = States::from_visible(p.dims, x_t);
    let spring = Visible::spring(a, x_t, u, c, 0.0, sat);
    relax(a, p, &mut free, &spring, c.eps, c.steps, sat);
    let mut nudged = |beta: f64| {
        let mut s = free.clone();
        let spring = Visible::spring(a, x_t, u, c, beta, sat);
        relax(a, p, &mut s, &spring, c.eps, c.steps, sat);
        s
    };
    let (plus, minus) = (nudged(c.beta), nudged(-c.beta));
    Equilibria { free, plus, minus }
}

/// The learned velocity `v = alpha k (x* - x_t)` at the free equilibrium, in f64.
pub fn velocity<A: Arith>(a: &A, c: &RelaxConfig, free: &States<A::Num>, x_t: &[A::Num]) -> Vec<f64> {
    let ak = c.alpha * c.k;
    free.x.iter().zip(x_t).map(|(&x, &xt)| ak * (a.state_value(x) - a.state_value(xt))).collect()
}

/// The EP gradient of a batch from its equilibria (batch mean), in f64.
pub fn ep_gradient<A: Arith>(a: &A, c: &RelaxConfig, eq: &Equilibria<A::Num>) -> Params<f64> {
    let sum = a.ep_sum(eq.plus.dims(), &eq.plus, &eq.minus);
    a.gradient(&sum, 1.0 / (2.0 * c.beta * eq.plus.n as f64))
}

/// One GradEP measurement on a batch.
#[derive(Debug, Clone)]
pub struct StepResult<A: Arith> {
    /// `mean over batch and pixels of (v - u)^2`.
    pub loss: f64,
    /// `sum over the batch of [dE/dtheta(s+) - dE/dtheta(s-)]`: the EP gradient times `2 beta n`.
    pub sum: Params<A::GradSum>,
    /// Samples in the batch.
    pub n: usize,
    /// Overflows of the fixed-point datapath in the three phases.
    pub saturations: Saturations,
}

/// Loss and EP gradient sum of a whole batch (`x_t`, `u` row-major, `n_x` values per sample),
/// chunked and parallel. Fails with the first phase that produced a non-finite state.
pub fn gradep_step<A: Arith>(
    a: &A,
    p: &Params<A::Num>,
    c: &RelaxConfig,
    x_t: &[A::Num],
    u: &[A::Num],
) -> Result<StepResult<A>, Phase> {
    let d = p.dims();
    let packed = Packed::new(a, p);
    type Part<G> = Result<(f64, Params<G>, Saturations), Phase>;
    let parts: Vec<Part<A::GradSum>> = x_t
        .par_chunks(CHUNK * d.n_x)
        .zip(u.par_chunks(CHUNK * d.n_x))
        .map(|(x_t, u)| {
            let mut sat = Saturations::default();
            let eq = three_phases(a, &packed, c, x_t, u, &mut sat);
            if let Some(phase) = eq.failed_phase(a) {
                return Err(phase);
            }
            let sq = a.squared_error(c.alpha * c.k, &eq.free.x, x_t, u);
            Ok((sq, a.ep_sum(d, &eq.plus, &eq.minus), sat))
        })
        .collect();
    let mut loss = 0.0;
    let mut sum = Params::zeros(d);
    let mut saturations = Saturations::default();
    for part in parts {
        let (sq, g, sat) = part?;
        loss += sq;
        saturations += sat;
        for (acc, g) in sum.tensors_mut().into_iter().zip(g.tensors()) {
            acc.iter_mut().zip(g.1).for_each(|(a, &b)| *a += b);
        }
    }
    if !loss.is_finite() {
        return Err(Phase::Free);
    }
    let n = x_t.len() / d.n_x;
    Ok(StepResult { loss: loss / x_t.len() as f64, sum, n, saturations })
}
