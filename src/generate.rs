//! Generation (SPEC): Euler integration of the learned velocity from Gaussian noise, `dt` steps
//! from 0 to `t1` (`t1 > 1`: extended generation), the final x clamped to [-1, 1], in any
//! [`Arith`].
//!
//! Each Euler step relaxes the network anew from zero hidden state for `relax.steps` steps, as
//! the free phase of training does, so that generation sees the equilibria training saw.

use crate::arith::dispatch::{run_in, ArithKind, ArithTask};
use crate::arith::Arith;
use crate::checkpoint::Checkpoint;
use crate::choice::Choice;
use crate::config::{Config, GenerateConfig, RelaxConfig, VelocityMode};
use crate::error::Error;
use crate::gradep::CHUNK;
use crate::model::{Params, States};
use crate::progress::Progress;
use crate::relax::{energy_euler_step, relax, Packed, Visible};
use crate::saturation::Saturations;
use rayon::prelude::*;

/// Number of Euler steps to reach `t1` with step `dt`.
pub fn euler_steps(dt: f64, t1: f64) -> usize {
    (t1 / dt).round().max(1.0) as usize
}

/// One Euler step `x <- x + dt v(x)` of every row of `x`, the velocity read out as `mode` says:
/// energy mode relaxes the hidden units with x fixed and takes `v = -alpha dE/dx`; spring mode
/// relaxes around x (beta = 0) and takes `v = alpha k (x* - x)`.
pub fn euler_step<A: Arith>(
    a: &A,
    p: &Packed<A>,
    r: &RelaxConfig,
    g: &GenerateConfig,
    x: &mut [A::Num],
    sat: &mut Saturations,
) {
    let mut s = States::from_visible(p.dims, x);
    match g.mode {
        VelocityMode::Energy => {
            relax(a, p, &mut s, &Visible::Fixed, r.eps, r.steps, sat);
            energy_euler_step(a, p, &mut s, g.dt * r.alpha, sat);
            x.copy_from_slice(&s.x);
        }
        VelocityMode::Spring => {
            let spring = Visible::spring(a, x, &[], r, 0.0, sat);
            relax(a, p, &mut s, &spring, r.eps, r.steps, sat);
            a.step_toward(a.constant(g.dt * r.alpha * r.k), x, &s.x, sat);
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
pub fn generate_horizons<A: Arith>(
    a: &A,
    p: &Params<A::Num>,
    r: &RelaxConfig,
    g: &GenerateConfig,
    t1s: &[f64],
    noise: &[f64],
    on_step: &(dyn Fn() + Sync),
) -> Vec<Vec<f64>> {
    let packed = Packed::new(a, p);
    let nx = packed.dims.n_x;
    let stops: Vec<usize> = t1s.iter().map(|&t1| euler_steps(g.dt, t1)).collect();
    let last = stops.iter().copied().max().unwrap_or(0);
    let chunk = generation_chunk(noise.len() / nx) * nx;
    // Per chunk: its rows at every stop, in the order of `t1s`.
    let per_chunk: Vec<Vec<Vec<f64>>> = noise
        .par_chunks(chunk)
        .map(|noise| {
            let mut x: Vec<A::Num> = noise.iter().map(|&v| a.state(v)).collect();
            let mut snapshots = vec![Vec::new(); stops.len()];
            let mut sat = Saturations::default();
            for step in 1..=last {
                euler_step(a, &packed, r, g, &mut x, &mut sat);
                on_step();
                for (snap, _) in snapshots.iter_mut().zip(&stops).filter(|(_, &s)| s == step) {
                    *snap = x.iter().map(|&v| a.state_value(v).clamp(-1.0, 1.0)).collect();
                }
            }
            snapshots
        })
        .collect();
    (0..stops.len()).map(|h| per_chunk.iter().flat_map(|c| c[h].iter().copied()).collect()).collect()
}

/// Generates from the checkpoint `ck`'s parameters, from `noise` (`n x n_x`) to each end time of
/// `t1s` (one integration; `config.generate` gives `dt` and the velocity mode), in the
/// checkpoint's arithmetic (f32 for float checkpoints: generation does not need f64). `progress`
/// counts the Euler steps of every chunk of samples.
pub fn generate_from_checkpoint(
    ck: &Checkpoint,
    config: &Config,
    t1s: &[f64],
    noise: &[f64],
    progress: Option<&dyn Progress>,
) -> Result<Vec<Vec<f64>>, Error> {
    let n = noise.len() / config.model.n_x;
    let last = t1s.iter().copied().fold(0.0, f64::max);
    let steps = n.div_ceil(generation_chunk(n)) * euler_steps(config.generate.dt, last);
    if let Some(p) = progress {
        p.start(0, steps as u64);
    }
    struct Generate<'a> {
        ck: &'a Checkpoint,
        config: &'a Config,
        t1s: &'a [f64],
        noise: &'a [f64],
        progress: Option<&'a dyn Progress>,
    }
    impl ArithTask for Generate<'_> {
        type Output = Vec<Vec<f64>>;
        fn run<A: Arith>(self, a: &A) -> Vec<Vec<f64>> {
            let c = self.config;
            let tick = || self.progress.into_iter().for_each(|p| p.advance(""));
            generate_horizons(a, &self.ck.params(a), &c.relax, &c.generate, self.t1s, self.noise, &tick)
        }
    }
    let kind = match ArithKind::of_name(&ck.precision) {
        Some(ArithKind::Fixed) => ArithKind::Fixed,
        _ => ArithKind::F32,
    };
    let samples = run_in(kind, config, Generate { ck, config, t1s, noise, progress })?;
    if let Some(p) = progress {
        p.finish();
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arith::float::Float;
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
            let a = Float::<f64>::new();
            let both = generate_horizons(&a, &p, &r, &g, &[0.5, 1.0], &noise, &|| {});
            let alone = generate_horizons(&a, &p, &r, &g, &[1.0], &noise, &|| {});
            assert_eq!(both[1], alone[0], "{mode:?}");
            assert_ne!(both[0], both[1]);
            assert!(both.iter().flatten().all(|v| (-1.0..=1.0).contains(v)));
        }
    }

    /// Both read-outs are `-alpha dE/dx`, at different states: the spring's equilibrium satisfies
    /// `dE/dx + k (x* - x) = 0`, so `alpha k (x* - x) = -alpha dE/dx(x*, h*)`.
    #[test]
    fn euler_steps_follow_minus_alpha_energy_gradients() {
        let (p, r, x) = setup();
        let (a, sat) = (Float::<f64>::new(), &mut Saturations::default());
        let packed = Packed::new(&a, &p);
        let d = p.dims();
        let mut fixed = States::from_visible(d, &x);
        relax(&a, &packed, &mut fixed, &Visible::Fixed, r.eps, r.steps, sat);
        let mut spring = States::from_visible(d, &x);
        let pull = Visible::spring(&a, &x, &[], &r, 0.0, sat);
        relax(&a, &packed, &mut spring, &pull, r.eps, r.steps, sat);
        let dt = 0.01;
        let step = |mode| {
            let mut y = x.clone();
            euler_step(
                &a,
                &packed,
                &r,
                &GenerateConfig { dt, t1: 1.0, mode },
                &mut y,
                &mut Saturations::default(),
            );
            y.iter().zip(&x).map(|(y, x)| (y - x) / dt).collect::<Vec<f64>>()
        };
        let (energy_v, spring_v) = (step(VelocityMode::Energy), step(VelocityMode::Spring));
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
