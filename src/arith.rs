//! One algorithm, two arithmetics. The relaxation, GradEP, the update and generation are written
//! once (`relax`, `gradep`, `generate`, `train`) over the [`Arith`] trait; an arithmetic supplies
//! only the kernels: the matrix product, the activation, the per-neuron updates, the EP gradient
//! sum and the optimizer. [`Float`] is the floating-point reference (`f32` for speed, `f64` for
//! verification); [`crate::golden::fixed::Fixed`] is the bit-accurate fixed-point golden model.

use crate::checkpoint::Checkpoint;
use crate::config::{Config, OptimizerKind};
use crate::error::Error;
use crate::golden::fixed::{needs_i128, Fixed};
use crate::golden::saturation::Saturations;
use crate::model::{Dims, Params};
use crate::optim::{clip_global_norm, Adam, Sgd};
use crate::real::{matmul, rho_slice, MatRef, Real};
use crate::relax::States;
use std::fmt::Debug;
use std::marker::PhantomData;
use std::ops::AddAssign;

/// The number system of a run: how values are stored, multiplied, rounded and updated.
///
/// States are stored as `Num`; a drive (dot product, bias not yet added) as `Acc`; the batch sum
/// of the EP gradient as `GradSum`. Every kernel acts on whole rows so that it can vectorise.
pub trait Arith: Sync + Send {
    type Num: Copy + Default + Debug + PartialEq + Send + Sync + 'static;
    type Acc: Copy + Default + Send + Sync + 'static;
    type GradSum: Copy + Default + Debug + AddAssign + Send + Sync + 'static;
    /// A weight matrix prepared for [`Arith::product`].
    type Matrix: Send + Sync;
    /// A constant of the datapath (step size, coefficients) in its number format.
    type Const: Copy + Send + Sync;
    /// The optimizer's state.
    type Optimizer: Clone + Send;

    /// True for the fixed-point golden model (its runs log saturation counts).
    const FIXED_POINT: bool;

    /// Name in logs, checkpoints and tables ("f32", "f64", "fixed").
    fn name(&self) -> &'static str;

    /// A state value (neuron, activation, data) from f64.
    fn state(&self, v: f64) -> Self::Num;
    /// A state value as f64.
    fn state_value(&self, v: Self::Num) -> f64;
    /// A parameter from f64 (rounded to nearest in fixed point).
    fn param(&self, v: f64) -> Self::Num;
    /// A parameter as f64.
    fn param_value(&self, v: Self::Num) -> f64;
    fn constant(&self, v: f64) -> Self::Const;
    /// False if any value is NaN or infinite (fixed point: never).
    fn all_finite(&self, v: &[Self::Num]) -> bool;

    /// Prepares the row-major `rows x cols` matrix `w` for products.
    fn matrix(&self, w: &[Self::Num], rows: usize, cols: usize) -> Self::Matrix;
    /// `dst = a * m`, `a` row-major with `m`'s row count as its column count.
    fn product(&self, dst: &mut [Self::Acc], a: &[Self::Num], m: &Self::Matrix);
    /// `rho(h)` and `rho'(h)` of every value.
    fn activation(&self, h: &[Self::Num], rho: &mut [Self::Num], drho: &mut [Self::Num]);

    /// One step of hidden units: `h <- h - eps (h - rho'(h) (acc + bias))`.
    #[allow(clippy::too_many_arguments)]
    fn hidden_step(
        &self,
        eps: Self::Const,
        h: &mut [Self::Num],
        drho: &[Self::Num],
        acc: &[Self::Acc],
        bias: &[Self::Num],
        sat: &mut Saturations,
    );
    /// One step of visible units: `x <- x - eps grad_x F`, with
    /// `grad_x F = x - (acc + bias) + k (x - x_t) + nudge (x - xhat)` written with the constant
    /// parts `(coeff, pull)` that [`Arith::spring`] made.
    #[allow(clippy::too_many_arguments)]
    fn visible_step(
        &self,
        eps: Self::Const,
        coeff: Self::Const,
        x: &mut [Self::Num],
        acc: &[Self::Acc],
        bias: &[Self::Num],
        x_t: &[Self::Num],
        pull: &[Self::Num],
        sat: &mut Saturations,
    );
    /// The constant parts of the visible gradient of a phase with spring `k` and signed nudge
    /// `nudge` towards `xhat = x_t + inv_ak u` (`u` unused, and may be empty, when `nudge == 0`).
    fn spring(
        &self,
        x_t: &[Self::Num],
        u: &[Self::Num],
        k: f64,
        nudge: f64,
        inv_ak: f64,
        sat: &mut Saturations,
    ) -> (Self::Const, Vec<Self::Num>);
    /// `x <- x + c (target - x)` (the Euler step of spring-mode generation).
    fn step_toward(&self, c: Self::Const, x: &mut [Self::Num], target: &[Self::Num], sat: &mut Saturations);
    /// `sum over values of (ak (x - x_t) - u)^2` in f64: the velocity error, for the loss log.
    fn squared_error(&self, ak: f64, x: &[Self::Num], x_t: &[Self::Num], u: &[Self::Num]) -> f64;

    /// `sum over the batch of [dE/dtheta(s+) - dE/dtheta(s-)]`.
    fn ep_sum(&self, d: Dims, plus: &States<Self::Num>, minus: &States<Self::Num>) -> Params<Self::GradSum>;
    /// `scale * sum` in f64 (the EP gradient when `scale = 1/(2 beta n)`).
    fn gradient(&self, sum: &Params<Self::GradSum>, scale: f64) -> Params<f64>;

    fn optimizer(&self, d: Dims, c: &Config) -> Self::Optimizer;
    /// One update from the EP sum of `n` samples; returns the gradient's global norm before
    /// clipping. Fails (changing nothing) where a fixed-point constant of the step does not fit.
    #[allow(clippy::too_many_arguments)]
    fn update(
        &self,
        opt: &mut Self::Optimizer,
        c: &Config,
        lr: f64,
        p: &mut Params<Self::Num>,
        sum: &Params<Self::GradSum>,
        n: usize,
        sat: &mut Saturations,
    ) -> Result<f64, Error>;
    /// Writes the optimizer state into a checkpoint.
    fn save_optimizer(&self, opt: &Self::Optimizer, ck: &mut Checkpoint);
    /// Reads it back; the error says what is missing or malformed.
    fn load_optimizer(&self, ck: &Checkpoint) -> Result<Self::Optimizer, String>;
}

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

    fn save_optimizer(&self, opt: &FloatOptimizer<T>, ck: &mut Checkpoint) {
        match opt {
            FloatOptimizer::Adam(a) => ck.adam = Some(Adam { m: a.m.cast(), v: a.v.cast(), t: a.t }),
            FloatOptimizer::Sgd(s) => ck.sgd = Some(Sgd { m: s.m.cast() }),
        }
    }

    fn load_optimizer(&self, ck: &Checkpoint) -> Result<FloatOptimizer<T>, String> {
        match (ck.config.optim.kind, &ck.adam, &ck.sgd) {
            (OptimizerKind::Adam, Some(a), _) => {
                Ok(FloatOptimizer::Adam(Adam { m: a.m.cast(), v: a.v.cast(), t: a.t }))
            }
            (OptimizerKind::Sgd, _, Some(s)) => Ok(FloatOptimizer::Sgd(Sgd { m: s.m.cast() })),
            (kind, ..) => Err(format!("no {kind:?} optimizer state")),
        }
    }
}

/// The arithmetic of a run, as chosen on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ArithKind {
    /// Float reference, single precision (fast).
    F32,
    /// Float reference, double precision (verification).
    F64,
    /// Bit-accurate fixed-point golden model, formats from the config's `fixed:` section.
    Fixed,
}

impl ArithKind {
    /// The name runs and checkpoints carry.
    pub fn name(self) -> &'static str {
        match self {
            ArithKind::F32 => f32::NAME,
            ArithKind::F64 => f64::NAME,
            ArithKind::Fixed => "fixed",
        }
    }

    /// The kind a checkpoint's `precision` names.
    pub fn of_name(name: &str) -> Option<ArithKind> {
        [ArithKind::F32, ArithKind::F64, ArithKind::Fixed].into_iter().find(|k| k.name() == name)
    }
}

/// Work to run in whichever arithmetic is chosen at run time (a generic closure).
pub trait ArithTask {
    type Output;
    fn run<A: Arith>(self, a: &A) -> Self::Output;
}

/// Runs `task` in the arithmetic `kind`; for fixed point, with the config's formats (checked,
/// constants included), intermediates in `i64` where they fit and `i128` otherwise.
pub fn run_in<T: ArithTask>(kind: ArithKind, config: &Config, task: T) -> Result<T::Output, Error> {
    Ok(match kind {
        ArithKind::F32 => task.run(&Float::<f32>::new()),
        ArithKind::F64 => task.run(&Float::<f64>::new()),
        ArithKind::Fixed => {
            // check_model without building the model twice: Fixed::new checks the datapath
            config.fixed.check_constants(&config.relax, &config.optim, &config.generate)?;
            match needs_i128(config) {
                false => task.run(&Fixed::<i64>::new(config)?),
                true => task.run(&Fixed::<i128>::new(config)?),
            }
        }
    })
}
