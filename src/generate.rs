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

/// Integrates from `noise` (row-major, `n_x` per sample) and returns the samples, in [-1, 1], at
/// each end time in `t1s` (`g.t1` is ignored): one integration to the largest, so every horizon
/// sees the same noise and the same trajectory, as an extended-generation study needs.
/// `on_step` is called after each Euler step of each chunk (for progress reporting).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::energy::state_gradient;
    use crate::model::Dims;
    use rand::{Rng, SeedableRng};

    fn setup() -> (Params<f64>, RelaxConfig, Vec<f64>) {
        let d = Dims { n_x: 6, n_h1: 5, n_h2: 4 };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let p = Params::init(d, 1.5, &mut rng);
        let noise = (0..3 * 6).map(|_| rng.random_range(-2.0..2.0)).collect();
        (p, RelaxConfig { steps: 600, ..RelaxConfig::default() }, noise)
    }

    #[test]
    fn horizons_share_one_trajectory_and_are_clamped() {
        let (p, r, noise) = setup();
        for mode in [VelocityMode::Energy, VelocityMode::Spring] {
            let g = GenerateConfig { dt: 0.05, t1: 1.0, mode };
            let both = generate_horizons(&p, &r, &g, &[0.5, 1.0], &noise, &|| {});
            let alone = generate_horizons(&p, &r, &g, &[1.0], &noise, &|| {});
            assert_eq!(both[1], alone[0], "{mode:?}");
            assert_ne!(both[0], both[1]);
            assert!(both.iter().flatten().all(|v| (-1.0..=1.0).contains(v)));
        }
    }

    /// Both read-outs are `-alpha dE/dx`, at different states: the spring's equilibrium satisfies
    /// `dE/dx + k (x* - x) = 0`, so `alpha k (x* - x) = -alpha dE/dx(x*, h*)`.
    #[test]
    fn velocities_are_minus_alpha_energy_gradients() {
        let (p, r, x) = setup();
        let packed = Packed::new(&p);
        let d = p.dims();
        let mut fixed = States::from_visible(d, &x);
        relax(&packed, &mut fixed, &Visible::Fixed, r.eps, r.steps);
        let mut spring = States::from_visible(d, &x);
        relax(&packed, &mut spring, &Visible::spring(&x, &[], r.k, r.alpha, 0.0), r.eps, r.steps);
        let energy_v = velocity_at(&packed, &r, VelocityMode::Energy, &x);
        let spring_v = velocity_at(&packed, &r, VelocityMode::Spring, &x);
        for i in 0..3 {
            let row = |s: &States<f64>| {
                let (a, b, c) = (&s.x[i * 6..][..6], &s.h1[i * 5..][..5], &s.h2[i * 4..][..4]);
                state_gradient(&p, a, b, c)
            };
            let [gx, gh1, _] = row(&fixed);
            let worst = gh1.iter().fold(0.0f64, |m, g| m.max(g.abs()));
            assert!(worst < 1e-9, "hidden units at equilibrium: |dE/dh1| = {worst}");
            let [sx, _, _] = row(&spring);
            for j in 0..6 {
                assert!((energy_v[i * 6 + j] + r.alpha * gx[j]).abs() < 1e-9);
                assert!((spring_v[i * 6 + j] + r.alpha * sx[j]).abs() < 1e-6);
            }
        }
    }
}
