//! The floating-point reference arithmetic: `f32` for speed, `f64` for verification. Products
//! run on the GEMM kernels of [`crate::real`]; the optimizer is [`crate::optim`]'s.

use super::{Arith, SavedOptimizer};
use crate::config::{Config, OptimizerKind};
use crate::error::Error;
use crate::model::{Dims, Params, States};
use crate::optim::{clip_global_norm, Adam, Sgd};
use crate::real::{matmul, rho_slice, MatRef, Real};
use crate::saturation::Saturations;
use std::marker::PhantomData;

/// The floating-point reference in precision `T`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Float<T>(PhantomData<T>);

impl<T: Real> Float<T> {
    pub fn new() -> Self {
        Float(PhantomData)
    }
}

/// A row-major matrix.
pub struct Dense<T> {
    data: Vec<T>,
    rows: usize,
    cols: usize,
}

/// The float optimizer states.
#[derive(Debug, Clone)]
pub enum FloatOptimizer<T> {
    Adam(Adam<T>),
    Sgd(Sgd<T>),
}

impl<T: Real> Arith for Float<T> {
    type Num = T;
    type Acc = T;
    type GradSum = T;
    type Matrix = Dense<T>;
    type Const = T;
    type Optimizer = FloatOptimizer<T>;
    const FIXED_POINT: bool = false;

    fn name(&self) -> &'static str {
        T::NAME
    }

    fn state(&self, v: f64) -> T {
        T::of(v)
    }

    fn state_value(&self, v: T) -> f64 {
        v.to_f64().unwrap_or(f64::NAN)
    }

    fn param(&self, v: f64) -> T {
        T::of(v)
    }

    fn param_value(&self, v: T) -> f64 {
        v.to_f64().unwrap_or(f64::NAN)
    }

    fn constant(&self, v: f64) -> T {
        T::of(v)
    }

    fn all_finite(&self, v: &[T]) -> bool {
        v.iter().all(|a| a.is_finite())
    }

    fn matrix(&self, w: &[T], rows: usize, cols: usize) -> Dense<T> {
        assert_eq!(w.len(), rows * cols);
        Dense { data: w.to_vec(), rows, cols }
    }

    fn product(&self, dst: &mut [T], a: &[T], m: &Dense<T>) {
        let n = a.len() / m.rows;
        matmul(dst, MatRef::row_major(a, n, m.rows), MatRef::row_major(&m.data, m.rows, m.cols), false);
    }

    fn activation(&self, h: &[T], rho: &mut [T], drho: &mut [T]) {
        rho_slice(h, rho, drho);
    }

    fn hidden_step(&self, eps: T, h: &mut [T], drho: &[T], acc: &[T], bias: &[T], _: &mut Saturations) {
        for j in 0..h.len() {
            let g = h[j] - drho[j] * (acc[j] + bias[j]);
            h[j] = h[j] - eps * g;
        }
    }

    /// `grad_x F = coeff x - bias - acc - pull` with `coeff = 1 + k + nudge` and
    /// `pull = k x_t + nudge xhat` (x_t enters through `pull` only).
    fn visible_step(
        &self,
        eps: T,
        coeff: T,
        x: &mut [T],
        acc: &[T],
        bias: &[T],
        _x_t: &[T],
        pull: &[T],
        _: &mut Saturations,
    ) {
        for j in 0..x.len() {
            let g = coeff * x[j] - bias[j] - acc[j] - pull[j];
            x[j] = x[j] - eps * g;
        }
    }

    fn spring(
        &self,
        x_t: &[T],
        u: &[T],
        k: f64,
        nudge: f64,
        inv_ak: f64,
        _: &mut Saturations,
    ) -> (T, Vec<T>) {
        let pull = if nudge == 0.0 {
            x_t.iter().map(|&x| T::of(k) * x).collect()
        } else {
            let inv = T::of(inv_ak);
            x_t.iter().zip(u).map(|(&x, &u)| T::of(k) * x + T::of(nudge) * (x + u * inv)).collect()
        };
        (T::of(1.0 + k + nudge), pull)
    }

    fn step_toward(&self, c: T, x: &mut [T], target: &[T], _: &mut Saturations) {
        x.iter_mut().zip(target).for_each(|(x, &t)| *x = *x + c * (t - *x));
    }

    fn squared_error(&self, ak: f64, x: &[T], x_t: &[T], u: &[T]) -> f64 {
        let ak = T::of(ak);
        let sq = |v: T| v.to_f64().unwrap_or(f64::NAN).powi(2);
        x.iter().zip(x_t).zip(u).map(|((&x, &xt), &u)| sq(ak * (x - xt) - u)).sum()
    }

    /// Written as `a+ b+ - a- b- = (a+ - a-) mean(b) + mean(a) (b+ - b-)`, so the small difference
    /// between the nudged states is taken before the products, not after (no cancellation).
    fn ep_sum(&self, d: Dims, plus: &States<T>, minus: &States<T>) -> Params<T> {
        let rho = |h: &[T]| {
            let (mut r, mut dr) = (vec![T::zero(); h.len()], vec![T::zero(); h.len()]);
            rho_slice(h, &mut r, &mut dr);
            r
        };
        let (rp1, rp2, rm1, rm2) = (rho(&plus.h1), rho(&plus.h2), rho(&minus.h1), rho(&minus.h2));
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
                out.iter_mut().zip(row).for_each(|(o, &x)| *o += x);
            }
        };
        column_sums(&dr1, &mut g.b0);
        column_sums(&dr2, &mut g.b1);
        column_sums(&dx, &mut g.bx);
        // The sign of dE/dtheta: every term carries a minus.
        g.tensors_mut().into_iter().flatten().for_each(|v| *v = -*v);
        g
    }

    fn gradient(&self, sum: &Params<T>, scale: f64) -> Params<f64> {
        let s = T::of(scale);
        sum.map(|v| (v * s).to_f64().unwrap_or(f64::NAN))
    }

    fn optimizer(&self, d: Dims, c: &Config) -> FloatOptimizer<T> {
        match c.optim.kind {
            OptimizerKind::Adam => FloatOptimizer::Adam(Adam::new(d)),
            OptimizerKind::Sgd => FloatOptimizer::Sgd(Sgd::new(d)),
        }
    }

    fn update(
        &self,
        opt: &mut FloatOptimizer<T>,
        c: &Config,
        lr: f64,
        p: &mut Params<T>,
        sum: &Params<T>,
        n: usize,
        _: &mut Saturations,
    ) -> Result<f64, Error> {
        let s = T::of(1.0 / (2.0 * c.relax.beta * n as f64));
        let mut g = sum.map(|v| v * s);
        let norm = clip_global_norm(&mut g, c.optim.clip_norm);
        match opt {
            FloatOptimizer::Adam(adam) => adam.step(&c.optim, lr, p, &g),
            FloatOptimizer::Sgd(sgd) => sgd.step(&c.optim, lr, p, &g),
        }
        Ok(norm)
    }

    fn save_optimizer(&self, opt: &FloatOptimizer<T>) -> SavedOptimizer {
        match opt {
            FloatOptimizer::Adam(a) => SavedOptimizer {
                adam: Some(Adam { m: a.m.cast(), v: a.v.cast(), t: a.t }),
                ..Default::default()
            },
            FloatOptimizer::Sgd(s) => {
                SavedOptimizer { sgd: Some(Sgd { m: s.m.cast() }), ..Default::default() }
            }
        }
    }

    fn load_optimizer(
        &self,
        kind: OptimizerKind,
        saved: &SavedOptimizer,
    ) -> Result<FloatOptimizer<T>, Error> {
        match (kind, &saved.adam, &saved.sgd) {
            (OptimizerKind::Adam, Some(a), _) => {
                Ok(FloatOptimizer::Adam(Adam { m: a.m.cast(), v: a.v.cast(), t: a.t }))
            }
            (OptimizerKind::Sgd, _, Some(s)) => Ok(FloatOptimizer::Sgd(Sgd { m: s.m.cast() })),
            (kind, ..) => Err(SavedOptimizer::missing(&format!("{kind:?}"))),
        }
    }
}
