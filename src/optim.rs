//! The update of SPEC: clip the global gradient norm, then Adam (as PyTorch defines both), with
//! an optional learning-rate schedule; or SGD with momentum (`optim.kind: sgd`).

use crate::config::{OptimConfig, Schedule};
use crate::model::{Dims, Params};
use crate::real::Real;
use serde::{Deserialize, Serialize};

/// Scales `g` so that its global L2 norm is at most `max_norm` (PyTorch `clip_grad_norm_`:
/// factor `max_norm / (norm + 1e-6)` when below 1). Returns the norm before clipping.
pub fn clip_global_norm<T: Real>(g: &mut Params<T>, max_norm: f64) -> f64 {
    let norm = g.values().map(|v| v.to_f64().unwrap_or(f64::NAN).powi(2)).sum::<f64>().sqrt();
    let factor = max_norm / (norm + 1e-6);
    if max_norm > 0.0 && factor < 1.0 {
        let f = T::of(factor);
        g.tensors_mut().into_iter().flatten().for_each(|v| *v = *v * f);
    }
    norm
}

/// Learning rate of epoch `epoch` (0-based) of `epochs`.
pub fn learning_rate(c: &OptimConfig, epoch: usize, epochs: usize) -> f64 {
    match c.schedule {
        Schedule::Constant => c.lr,
        Schedule::Cosine => {
            let progress = epoch as f64 / epochs.max(1) as f64;
            c.lr_min + 0.5 * (c.lr - c.lr_min) * (1.0 + (std::f64::consts::PI * progress).cos())
        }
    }
}

/// Adam's moments and step count: with the parameters, all a resumed run needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adam<T> {
    pub m: Params<T>,
    pub v: Params<T>,
    pub t: u64,
}

impl<T: Real> Adam<T> {
    pub fn new(d: Dims) -> Adam<T> {
        Adam { m: Params::zeros(d), v: Params::zeros(d), t: 0 }
    }

    /// One Adam step with learning rate `lr` (bias-corrected, PyTorch's formula).
    pub fn step(&mut self, c: &OptimConfig, lr: f64, p: &mut Params<T>, g: &Params<T>) {
        self.t += 1;
        let (b1, b2) = (T::of(c.beta1), T::of(c.beta2));
        let one = T::one();
        let step_size = T::of(lr / (1.0 - c.beta1.powi(self.t as i32)));
        let bias2_sqrt = T::of((1.0 - c.beta2.powi(self.t as i32)).sqrt());
        let eps = T::of(c.eps);
        let tensors = p.tensors_mut().into_iter().zip(g.tensors());
        for ((p, (_, g)), (m, v)) in tensors.zip(self.m.tensors_mut().into_iter().zip(self.v.tensors_mut())) {
            for i in 0..p.len() {
                m[i] = b1 * m[i] + (one - b1) * g[i];
                v[i] = b2 * v[i] + (one - b2) * g[i] * g[i];
                p[i] = p[i] - step_size * m[i] / (v[i].sqrt() / bias2_sqrt + eps);
            }
        }
    }
}

/// SGD's momentum buffer: with the parameters, all a resumed run needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sgd<T> {
    pub m: Params<T>,
}

impl<T: Real> Sgd<T> {
    pub fn new(d: Dims) -> Sgd<T> {
        Sgd { m: Params::zeros(d) }
    }

    /// One step with learning rate `lr`: `m <- momentum m + g` (PyTorch's form, no dampening;
    /// `m = g` without momentum, so a stale buffer cannot leak in), then `p <- p - lr m`.
    pub fn step(&mut self, c: &OptimConfig, lr: f64, p: &mut Params<T>, g: &Params<T>) {
        let (momentum, lr) = (T::of(c.momentum), T::of(lr));
        for ((p, (_, g)), m) in p.tensors_mut().into_iter().zip(g.tensors()).zip(self.m.tensors_mut()) {
            for i in 0..p.len() {
                m[i] = if c.momentum > 0.0 { momentum * m[i] + g[i] } else { g[i] };
                p[i] = p[i] - lr * m[i];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_param(v: f64) -> Params<f64> {
        let mut p = Params::zeros(Dims { n_x: 1, n_h1: 1, n_h2: 1 });
        p.w0[0] = v;
        p
    }

    #[test]
    fn clipping_scales_to_max_norm_only_when_above() {
        let mut g = one_param(3.0);
        g.bx[0] = 4.0;
        assert_eq!(clip_global_norm(&mut g, 1.0), 5.0);
        let norm = (g.w0[0].powi(2) + g.bx[0].powi(2)).sqrt();
        assert!((norm - 1.0).abs() < 1e-6);
        let mut small = one_param(0.5);
        clip_global_norm(&mut small, 1.0);
        assert_eq!(small.w0[0], 0.5);
    }

    #[test]
    fn adam_first_steps_match_hand_computation() {
        let c = OptimConfig::default();
        let mut p = one_param(1.0);
        let mut adam = Adam::new(p.dims());
        adam.step(&c, 1e-3, &mut p, &one_param(0.2));
        // First step: m_hat = g, v_hat = g^2, so the step is lr * g/(|g| + eps) ~ lr.
        assert!((p.w0[0] - (1.0 - 1e-3 * 0.2 / (0.2 + 1e-8))).abs() < 1e-12);
        adam.step(&c, 1e-3, &mut p, &one_param(-0.1));
        let m = 0.9 * 0.1 * 0.2 + 0.1 * -0.1;
        let v = 0.95 * 0.05 * 0.04 + 0.05 * 0.01;
        let m_hat = m / (1.0 - 0.81);
        let v_hat: f64 = v / (1.0 - 0.95f64.powi(2));
        let want = 1.0 - 1e-3 * 0.2 / (0.2 + 1e-8) - 1e-3 * m_hat / (v_hat.sqrt() + 1e-8);
        assert!((p.w0[0] - want).abs() < 1e-12, "{} vs {want}", p.w0[0]);
        assert_eq!(p.b0[0], 0.0, "zero gradient leaves a parameter in place");
    }

    #[test]
    fn sgd_two_steps_match_hand_computation() {
        let c = OptimConfig { kind: crate::config::OptimizerKind::Sgd, momentum: 0.9, ..Default::default() };
        let mut p = one_param(1.0);
        let mut sgd = Sgd::new(p.dims());
        sgd.step(&c, 0.1, &mut p, &one_param(0.5));
        assert_eq!((sgd.m.w0[0], p.w0[0]), (0.5, 0.95));
        sgd.step(&c, 0.1, &mut p, &one_param(-0.2));
        // m = 0.9 * 0.5 - 0.2 = 0.25, p = 0.95 - 0.1 * 0.25 = 0.925
        assert!((sgd.m.w0[0] - 0.25).abs() < 1e-15 && (p.w0[0] - 0.925).abs() < 1e-15, "{:?}", p.w0);
        // without momentum the buffer is the gradient itself
        let plain = OptimConfig { momentum: 0.0, ..c };
        sgd.step(&plain, 0.1, &mut p, &one_param(0.3));
        assert_eq!(sgd.m.w0[0], 0.3);
        assert!((p.w0[0] - 0.895).abs() < 1e-15, "{}", p.w0[0]);
        assert_eq!(p.b0[0], 0.0, "zero gradient leaves a parameter in place");
    }

    #[test]
    fn cosine_schedule_runs_from_lr_to_lr_min() {
        let c = OptimConfig { schedule: Schedule::Cosine, lr: 1e-3, lr_min: 1e-4, ..Default::default() };
        assert_eq!(learning_rate(&c, 0, 100), 1e-3);
        assert!((learning_rate(&c, 50, 100) - 5.5e-4).abs() < 1e-12);
        assert!((learning_rate(&c, 100, 100) - 1e-4).abs() < 1e-12);
        assert_eq!(learning_rate(&OptimConfig::default(), 77, 100), 1e-3);
    }
}
