//! Generation (SPEC): Euler integration of the learned velocity from Gaussian noise, `dt` steps
//! from 0 to `t1` (`t1 > 1`: extended generation), the final x clamped to [-1, 1].
//!
//! Each Euler step relaxes the network anew from zero hidden state for `relax.steps` steps, as
//! the free phase of training does, so that generation sees the equilibria training saw.

use crate::config::{GenerateConfig, RelaxConfig, VelocityMode};
use crate::gradep::{velocity, CHUNK};
use crate::model::Params;
use crate::real::Real;
use crate::relax::{energy_grad_x, relax, Packed, States, Visible};
use rayon::prelude::*;

/// Number of Euler steps to reach `t1` with step `dt`.
pub fn euler_steps(dt: f64, t1: f64) -> usize {
    (t1 / dt).round().max(1.0) as usize
}

/// The velocity the network assigns to each row of `x`.
pub fn velocity_at<T: Real>(p: &Packed<T>, r: &RelaxConfig, mode: VelocityMode, x: &[T]) -> Vec<T> {
    let mut s = States::from_visible(p.dims, x);
    match mode {
        VelocityMode::Energy => {
            relax(p, &mut s, &Visible::Fixed, r.eps, r.steps);
            let minus_alpha = T::of(-r.alpha);
            energy_grad_x(p, &s).into_iter().map(|g| minus_alpha * g).collect()
        }
        VelocityMode::Spring => {
            relax(p, &mut s, &Visible::spring(x, &[], r.k, r.alpha, 0.0), r.eps, r.steps);
            velocity(r, &s, x)
        }
    }
}

/// Samples per parallel work unit: small batches are split so that every thread has work.
pub fn generation_chunk(n: usize) -> usize {
    CHUNK.min(n.div_ceil(rayon::current_num_threads())).max(1)
}

/// Integrates from `noise` (row-major, `n_x` per sample) to `g.t1`; samples in [-1, 1].
/// `on_step` is called after each Euler step of each chunk (for progress reporting).
pub fn generate<T: Real>(
    p: &Params<T>,
    r: &RelaxConfig,
    g: &GenerateConfig,
    noise: &[f64],
    on_step: &(dyn Fn() + Sync),
) -> Vec<T> {
    generate_horizons(p, r, g, &[g.t1], noise, on_step).remove(0)
}

/// The samples at each end time in `t1s` (`g.t1` is ignored), from one integration to the largest:
/// the same noise and the same trajectory for every horizon, as an extended-generation study needs.
pub fn generate_horizons<T: Real>(
    p: &Params<T>,
    r: &RelaxConfig,
    g: &GenerateConfig,
    t1s: &[f64],
    noise: &[f64],
    on_step: &(dyn Fn() + Sync),
) -> Vec<Vec<T>> {
    let packed = Packed::new(p);
    let nx = packed.dims.n_x;
    let dt = T::of(g.dt);
    let stops: Vec<usize> = t1s.iter().map(|&t1| euler_steps(g.dt, t1)).collect();
    let last = stops.iter().copied().max().unwrap_or(0);
    let chunk = generation_chunk(noise.len() / nx) * nx;
    let clamp = |v: T| v.max(-T::one()).min(T::one());
    // Per chunk: its rows at every stop, in the order of `t1s`.
    let per_chunk: Vec<Vec<Vec<T>>> = noise
        .par_chunks(chunk)
        .map(|noise| {
            let mut x: Vec<T> = noise.iter().map(|&v| T::of(v)).collect();
            let mut snapshots = vec![Vec::new(); stops.len()];
            for step in 1..=last {
                let v = velocity_at(&packed, r, g.mode, &x);
                x.iter_mut().zip(v).for_each(|(x, v)| *x = *x + dt * v);
                on_step();
                for (snap, _) in snapshots.iter_mut().zip(&stops).filter(|(_, &s)| s == step) {
                    *snap = x.iter().map(|&v| clamp(v)).collect();
                }
            }
            snapshots
        })
        .collect();
    (0..stops.len()).map(|h| per_chunk.iter().flat_map(|c| c[h].iter().copied()).collect()).collect()
}
