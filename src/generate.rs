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
pub fn euler_steps(g: &GenerateConfig) -> usize {
    (g.t1 / g.dt).round().max(1.0) as usize
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

/// Integrates from `noise` (row-major, `n_x` per sample) and returns the samples in [-1, 1].
/// `on_step` is called after each Euler step of each chunk (for progress reporting).
pub fn generate<T: Real>(
    p: &Params<T>,
    r: &RelaxConfig,
    g: &GenerateConfig,
    noise: &[f64],
    on_step: &(dyn Fn() + Sync),
) -> Vec<T> {
    let packed = Packed::new(p);
    let nx = packed.dims.n_x;
    let dt = T::of(g.dt);
    let mut x: Vec<T> = noise.iter().map(|&v| T::of(v)).collect();
    x.par_chunks_mut(CHUNK * nx).for_each(|x| {
        for _ in 0..euler_steps(g) {
            let v = velocity_at(&packed, r, g.mode, x);
            x.iter_mut().zip(v).for_each(|(x, v)| *x = *x + dt * v);
            on_step();
        }
    });
    let one = T::one();
    x.into_iter().map(|v| v.max(-one).min(one)).collect()
}
