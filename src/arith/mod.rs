//! One algorithm, two arithmetics. The relaxation, GradEP, the update and generation are written
//! once (`relax`, `gradep`, `generate`, `train`) over the [`Arith`] trait; an arithmetic supplies
//! only the kernels: the matrix product, the activation, the per-neuron updates, the EP gradient
//! sum and the optimizer. [`float::Float`] is the floating-point reference (`f32` for speed, `f64` for
//! verification); [`fixed::Fixed`] is the bit-accurate fixed-point golden model; [`dispatch`]
//! picks one at run time.
//!
//! This module holds the trait (and [`SavedOptimizer`], the form a checkpoint keeps an optimizer's
//! state in) only: the implementations sit beside each other below it and the dispatcher above
//! them, so no arithmetic depends on another.

pub mod dispatch;
pub mod fixed;
pub mod float;

use crate::config::{Config, OptimizerKind};
use crate::error::Error;
use crate::golden::optim::FixedOptimizer;
use crate::model::{Dims, Params, States};
use crate::optim::{Adam, Sgd};
use crate::saturation::Saturations;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;
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
    /// The optimizer state in the form a checkpoint stores.
    fn save_optimizer(&self, opt: &Self::Optimizer) -> SavedOptimizer;
    /// Reads it back for a run with optimizer `kind`; the error says what is missing.
    fn load_optimizer(&self, kind: OptimizerKind, saved: &SavedOptimizer) -> Result<Self::Optimizer, Error>;
}

/// An optimizer's state as a checkpoint stores it: the one its run used is `Some`. Values in f64
/// (a fixed-point run's moments are exact integers times a power of two).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SavedOptimizer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adam: Option<Adam<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sgd: Option<Sgd<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_optimizer: Option<FixedOptimizer>,
}

impl SavedOptimizer {
    /// The error of a checkpoint that lacks the state its run needs.
    pub fn missing(what: &str) -> Error {
        Error::Data { origin: "checkpoint".into(), message: format!("no {what} optimizer state") }
    }
}
