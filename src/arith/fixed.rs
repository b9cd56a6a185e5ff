//! The fixed-point arithmetic of the core: the kernels of [`Arith`] in exact integer arithmetic,
//! rounded and saturated exactly where `docs/datapath.md` says. States, activations and
//! parameters are raw integers (`i64`) of their formats; intermediate values are held in `I`
//! (`i64` when every intermediate fits, `i128` otherwise: see [`Fixed::new`]).
//!
//! Per relaxation step and neuron (`round_F` drops fraction bits with `fixed.rounding`, `sat`
//! saturates or wraps into the state format Q_s per `fixed.overflow`):
//!
//! ```text
//! drive  = sat(round_{f_w}(acc + (b << f_s)))          acc = exact sum of state x weight products
//! hidden: p = sat(round_{f_d}(rho'(h) * drive))        h' = sat(h - round_{f_c}(eps * (h - p)))
//! visible: g = x - drive + round_{f_c}((k + nudge) * (x - x_t)) - pull
//!          x' = sat(x - round_{f_c}(eps * g))
//! pull   = sat(round_{f_c}((nudge / (alpha k)) * u))    once per phase (0 in the free phase)
//! ```
//!
//! The visible gradient is the float one, `x - bx - W0^T rho(h1) + k (x - x_t) + nudge (x - xhat)`,
//! regrouped so that no term is much larger than the data: `(1 + k + nudge) x` alone would
//! overflow a state format that holds the data with room to spare.
//!
//! Dot products are exact, so their summation order cannot change a bit: where the worst-case
//! sum fits in 53 bits they run as an f64 matrix product (every partial sum of integers below
//! 2^53 is exact in f64, whatever order the kernel adds them in), otherwise as an exact i128
//! loop. Both give the same integers (tested).

use super::{Arith, SavedOptimizer};
use crate::config::{Config, FixedConfig, OptimizerKind};
use crate::error::Error;
use crate::golden::lut::ActivationLut;
use crate::golden::optim::FixedOptimizer;
use crate::golden::qformat::{Overflow, QFormat, Rounding};
use crate::model::{Dims, Params, States};
use crate::real::{matmul, widest_simd, MatRef, SimdKernel};
use crate::saturation::{Saturations, Signal};
use num_traits::{PrimInt, Signed};
use std::cell::RefCell;
use std::fmt::Debug;
use std::ops::AddAssign;

/// The integer type of a datapath's intermediate values, and how its dot products are formed.
pub trait Wide: PrimInt + Signed + AddAssign + Default + Debug + Send + Sync + 'static {
    const BITS: u32;
    /// An exact dot product as the product kernel leaves it.
    type Acc: Copy + Default + Send + Sync + 'static;
    /// The dot product as an integer.
    fn of_acc(v: Self::Acc) -> Self;
    /// `dst = a * m` exactly.
    fn product(dst: &mut [Self::Acc], a: &[i64], m: &FixedMatrix);
    fn of(v: i64) -> Self;
    /// From an i128 known to fit.
    fn of_i128(v: i128) -> Self;
    fn to_i128(self) -> i128;
    /// The low 64 bits (exact for values of a format of at most 64 bits).
    fn to_i64(self) -> i64;
}

/// With i64 intermediates the products run as an f64 matrix product: [`Fixed::<i64>::new`]
/// requires the exact sums to stay below 2^53, where f64 adds integers exactly in any order.
impl Wide for i64 {
    const BITS: u32 = 64;
    type Acc = f64;
    #[inline(always)]
    fn of_acc(v: f64) -> i64 {
        debug_assert!(v.abs() < 2f64.powi(53) && v.fract() == 0.0);
        // SAFETY: the products hold exact integers below 2^53 in magnitude (`Fixed::<i64>::new`
        // checks the accumulator bound), so the value is finite and fits i64. (`as` would add a
        // saturation fix-up that keeps the loop from vectorising.)
        unsafe { v.to_int_unchecked() }
    }
    fn product(dst: &mut [f64], a: &[i64], m: &FixedMatrix) {
        let (k, n) = (m.rows, m.cols);
        let rows = a.len() / k;
        SCRATCH.with(|s| {
            let fa = &mut *s.borrow_mut();
            fa.resize(a.len(), 0.0);
            widest_simd(Convert { from: a, to: &mut fa[..], f: |v: i64| v as f64 });
            let (av, bv) = (MatRef::row_major(fa, rows, k), MatRef::row_major(&m.float, k, n));
            matmul(dst, av, bv, false);
        });
    }
    #[inline(always)]
    fn of(v: i64) -> i64 {
        v
    }
    #[inline(always)]
    fn of_i128(v: i128) -> i64 {
        v as i64
    }
    #[inline(always)]
    fn to_i128(self) -> i128 {
        self.into()
    }
    #[inline(always)]
    fn to_i64(self) -> i64 {
        self
    }
}

/// With i128 intermediates the products run as an exact integer loop (slow; for formats too
/// wide for f64).
impl Wide for i128 {
    const BITS: u32 = 128;
    type Acc = i128;
    #[inline(always)]
    fn of_acc(v: i128) -> i128 {
        v
    }
    fn product(dst: &mut [i128], a: &[i64], m: &FixedMatrix) {
        exact_product(dst, a, &m.raw, a.len() / m.rows, m.rows, m.cols, false);
    }
    #[inline(always)]
    fn of(v: i64) -> i128 {
        v.into()
    }
    #[inline(always)]
    fn of_i128(v: i128) -> i128 {
        v
    }
    #[inline(always)]
    fn to_i128(self) -> i128 {
        self
    }
    #[inline(always)]
    fn to_i64(self) -> i64 {
        self as i64
    }
}

/// Largest magnitude (in bits, sign included) of an f64 sum that is still exact.
const F64_EXACT_BITS: u32 = 53;

/// Drops `shift` fraction bits as the datapath's mode does, without branches (so the kernels
/// vectorise): floor is `v >> s`; half-even is `(v + 2^(s-1) - 1 + ((v >> s) & 1)) >> s`, which
/// adds one exactly when the remainder exceeds half, or equals it and the floor is odd.
#[derive(Debug, Clone, Copy)]
struct Round<I> {
    shift: usize,
    bias: I,
    odd: I,
}

impl<I: Wide> Round<I> {
    fn new(shift: u32, half_even: bool) -> Self {
        let (bias, odd) = match (shift, half_even) {
            (1.., true) => ((I::one() << (shift - 1) as usize) - I::one(), I::one()),
            _ => (I::zero(), I::zero()),
        };
        Round { shift: shift as usize, bias, odd }
    }

    #[inline(always)]
    fn apply(self, v: I) -> I {
        (v + self.bias + ((v >> self.shift) & self.odd)) >> self.shift
    }
}

/// Puts a value into a format: saturates (or wraps), and counts the values that did not fit.
#[derive(Debug, Clone, Copy)]
struct Fit<I> {
    lo: I,
    hi: I,
    /// Bits of `I` above the format: wrapping keeps the low `width` bits, sign-extended.
    unused: usize,
    wrap: bool,
}

impl<I: Wide> Fit<I> {
    fn new(q: QFormat, overflow: Overflow) -> Self {
        let unused = (I::BITS - q.width()) as usize;
        Fit { lo: I::of(q.min_raw()), hi: I::of(q.max_raw()), unused, wrap: overflow == Overflow::Wrap }
    }

    /// `WRAP` is `self.wrap` as a constant, so that the kernels' loops have no branch.
    #[inline(always)]
    fn apply<const WRAP: bool>(self, v: I, count: &mut u64) -> i64 {
        let clamped = v.max(self.lo).min(self.hi);
        *count += u64::from(clamped != v);
        if WRAP {
            ((v << self.unused) >> self.unused).to_i64()
        } else {
            clamped.to_i64()
        }
    }
}

/// The fixed-point golden model with intermediates in `I`.
pub struct Fixed<I> {
    f: FixedConfig,
    lut: ActivationLut,
    /// Rounding of a drive (drops the weight's fraction bits), of `rho' * drive` (the
    /// derivative's), of a product with a constant (the constant's).
    round_weight: Round<I>,
    round_derivative: Round<I>,
    round_constant: Round<I>,
    fit_state: Fit<I>,
}

/// Bits of the widest intermediate value of the relaxation and generation datapath (sign
/// included), for the constants `config` puts on it.
pub fn intermediate_bits(config: &Config) -> u32 {
    let f = &config.fixed;
    let (s, d) = (f.state.width(), f.derivative.width());
    let (r, dt) = (&config.relax, config.generate.dt);
    let nudge = r.nudge();
    let ak = r.alpha * r.k;
    let constants = [r.eps, r.k + nudge, nudge / ak, dt * r.alpha, dt * ak];
    let bits =
        |v: f64| u64::BITS - ((v.abs() * 2f64.powi(f.constant.frac() as i32)).ceil() as u64).leading_zeros();
    let raw_bits = constants.iter().map(|&c| bits(c)).max().unwrap_or(0);
    let int_bits = constants.iter().map(|&c| bits(c).saturating_sub(f.constant.frac())).max().unwrap_or(0);
    // The spring term has s + int_bits + 1 bits; g adds 2, eps * g adds the constant's bits.
    let visible = raw_bits + s + int_bits + 3;
    f.accumulator_width.max(d + s).max(visible)
}

/// Whether `config`'s formats need the `i128` datapath (`Fixed::<i128>`): intermediates of 63
/// bits or more, or dot products beyond the 53 bits the `f64` product kernel holds exactly.
pub fn needs_i128(config: &Config) -> bool {
    intermediate_bits(config) >= 63 || config.fixed.min_accumulator_width(&config.model) > F64_EXACT_BITS
}

/// Checks that the golden model runs `config` (validated): every on-chip constant fits
/// `fixed.constant` without rounding to zero, and a datapath (`i64` or `i128`, per
/// [`needs_i128`]) holds every intermediate. The error names the field.
pub fn check_model(config: &Config) -> Result<(), Error> {
    config.fixed.check_constants(&config.relax, &config.optim, &config.generate)?;
    match needs_i128(config) {
        true => Fixed::<i128>::new(config).map(drop),
        false => Fixed::<i64>::new(config).map(drop),
    }
}

impl<I: Wide> Fixed<I> {
    /// The golden model of `config`'s formats and network; fails (naming the field) if the
    /// formats do not fit `I` (with a bit to spare for the rounding offset).
    pub fn new(config: &Config) -> Result<Self, Error> {
        let (f, m) = (&config.fixed, &config.model);
        f.validate(m)?;
        let bits = intermediate_bits(config);
        if I::BITS == 64 && f.min_accumulator_width(m) > F64_EXACT_BITS {
            return Err(Error::invalid(
                "fixed.accumulator_width",
                f.accumulator_width,
                "sums wider than 53 bits need the i128 datapath (Fixed::<i128>)",
            ));
        }
        if bits + 1 >= I::BITS {
            return Err(Error::invalid(
                "fixed",
                format!("{bits}-bit intermediates"),
                &format!(
                    "the widest product (constant x state, derivative x state, or the accumulator) must \
                     fit in {} bits",
                    I::BITS - 2
                ),
            ));
        }
        let lut = f.activation_lut()?;
        let half_even = f.rounding == Rounding::HalfEven;
        Ok(Fixed {
            f: f.clone(),
            lut,
            round_weight: Round::new(f.weight.frac(), half_even),
            round_derivative: Round::new(f.derivative.frac(), half_even),
            round_constant: Round::new(f.constant.frac(), half_even),
            fit_state: Fit::new(f.state, f.overflow),
        })
    }

    pub fn config(&self) -> &FixedConfig {
        &self.f
    }

    /// The activation ROMs this model reads (the same bits the RTL's ROMs hold).
    pub fn lut(&self) -> &ActivationLut {
        &self.lut
    }

    /// A raw constant (in Q_c) times a value, rounded back by `f_c`.
    #[inline(always)]
    fn scale(&self, c: i64, v: I) -> I {
        self.round_constant.apply(I::of(c) * v)
    }

    /// `v` into the state format (outside the hot loops).
    fn fit(&self, v: I, count: &mut u64) -> i64 {
        match self.fit_state.wrap {
            true => self.fit_state.apply::<true>(v, count),
            false => self.fit_state.apply::<false>(v, count),
        }
    }

    /// rho of every value.
    fn rho(&self, h: &[i64]) -> Vec<i64> {
        let (mut r, mut d) = (vec![0; h.len()], vec![0; h.len()]);
        self.lut.eval_slice(h, &mut r, &mut d);
        r
    }
}

/// The hidden-unit update of a row: returns the overflow counts of drive, product and state.
struct HiddenKernel<'a, I: Wide, const WRAP: bool> {
    k: &'a Fixed<I>,
    eps: i64,
    h: &'a mut [i64],
    drho: &'a [i64],
    acc: &'a [I::Acc],
    bias: &'a [i64],
}

impl<I: Wide, const WRAP: bool> SimdKernel for HiddenKernel<'_, I, WRAP> {
    type Output = [u64; 3];

    #[inline(always)]
    fn run(self) -> [u64; 3] {
        let k = self.k;
        // Everything the loop reads from `k` in locals, so that it vectorises.
        let (fit, rw, rd, rc) = (k.fit_state, k.round_weight, k.round_derivative, k.round_constant);
        let (fs, eps) = (k.f.state.frac() as usize, I::of(self.eps));
        let (mut n_drive, mut n_product, mut n_state) = (0, 0, 0);
        for (((h, &d), &acc), &b) in self.h.iter_mut().zip(self.drho).zip(self.acc).zip(self.bias) {
            let drive = fit.apply::<WRAP>(rw.apply(I::of_acc(acc) + (I::of(b) << fs)), &mut n_drive);
            let p = fit.apply::<WRAP>(rd.apply(I::of(d) * I::of(drive)), &mut n_product);
            let g = I::of(*h) - I::of(p);
            *h = fit.apply::<WRAP>(I::of(*h) - rc.apply(eps * g), &mut n_state);
        }
        [n_drive, n_product, n_state]
    }
}

/// The visible-unit update of a row: returns the overflow counts of drive, product (none: the
/// spring term is exact) and state.
struct VisibleKernel<'a, I: Wide, const WRAP: bool> {
    k: &'a Fixed<I>,
    eps: i64,
    coeff: i64,
    x: &'a mut [i64],
    acc: &'a [I::Acc],
    bias: &'a [i64],
    x_t: &'a [i64],
    pull: &'a [i64],
}

impl<I: Wide, const WRAP: bool> SimdKernel for VisibleKernel<'_, I, WRAP> {
    type Output = [u64; 3];

    #[inline(always)]
    fn run(self) -> [u64; 3] {
        let k = self.k;
        let (fit, rw, rc) = (k.fit_state, k.round_weight, k.round_constant);
        let (fs, eps, coeff) = (k.f.state.frac() as usize, I::of(self.eps), I::of(self.coeff));
        let (mut n_drive, mut n_state) = (0, 0);
        let rows = self.x.iter_mut().zip(self.acc).zip(self.bias).zip(self.x_t).zip(self.pull);
        for ((((x, &acc), &b), &x_t), &pull) in rows {
            let drive = fit.apply::<WRAP>(rw.apply(I::of_acc(acc) + (I::of(b) << fs)), &mut n_drive);
            let spring = rc.apply(coeff * (I::of(*x) - I::of(x_t)));
            let g = I::of(*x) - I::of(drive) + spring - I::of(pull);
            *x = fit.apply::<WRAP>(I::of(*x) - rc.apply(eps * g), &mut n_state);
        }
        [n_drive, 0, n_state]
    }
}

/// An element-wise conversion (integers to and from the f64 of the exact products).
struct Convert<'a, A, B, F> {
    from: &'a [A],
    to: &'a mut [B],
    f: F,
}

impl<A: Copy, B, F: Fn(A) -> B> SimdKernel for Convert<'_, A, B, F> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        self.to.iter_mut().zip(self.from).for_each(|(t, &v)| *t = (self.f)(v));
    }
}

/// A weight matrix: raw values and, where products run in f64, the same integers as f64.
pub struct FixedMatrix {
    raw: Vec<i64>,
    float: Vec<f64>,
    rows: usize,
    cols: usize,
}

thread_local! {
    /// Scratch of the f64 products: the left operand.
    static SCRATCH: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// `dst = a^T b` or `a b` of integer matrices, exactly: in f64 when `exact_in_f64`, else in i128.
/// `a` is `k x m` (transposed) or `m x k`, `b` is `k x n`, row-major.
fn exact_product(dst: &mut [i128], a: &[i64], b: &[i64], m: usize, k: usize, n: usize, a_transposed: bool) {
    let at = |i: usize, l: usize| if a_transposed { a[l * m + i] } else { a[i * k + l] };
    for i in 0..m {
        for j in 0..n {
            dst[i * n + j] = (0..k).map(|l| i128::from(at(i, l)) * i128::from(b[l * n + j])).sum();
        }
    }
}

/// The same product through an f64 matrix product; exact when every partial sum is below 2^53.
fn f64_product(dst: &mut [i128], a: &[i64], b: &[i64], m: usize, k: usize, n: usize, a_transposed: bool) {
    let fa: Vec<f64> = a.iter().map(|&v| v as f64).collect();
    let fb: Vec<f64> = b.iter().map(|&v| v as f64).collect();
    let mut out = vec![0.0; m * n];
    let a_view = if a_transposed { MatRef::row_major(&fa, k, m).t() } else { MatRef::row_major(&fa, m, k) };
    matmul(&mut out, a_view, MatRef::row_major(&fb, k, n), false);
    dst.iter_mut().zip(out).for_each(|(d, v)| *d = v as i128);
}

impl<I: Wide> Arith for Fixed<I> {
    type Num = i64;
    type Acc = I::Acc;
    type GradSum = i128;
    type Matrix = FixedMatrix;
    type Const = i64;
    type Optimizer = FixedOptimizer;
    const FIXED_POINT: bool = true;

    fn name(&self) -> &'static str {
        "fixed"
    }

    fn state(&self, v: f64) -> i64 {
        self.f.state.from_f64(v, self.f.overflow).map(|(raw, _)| raw).unwrap_or(0)
    }

    fn state_value(&self, v: i64) -> f64 {
        self.f.state.to_f64(v)
    }

    fn param(&self, v: f64) -> i64 {
        self.f.weight.from_f64(v, self.f.overflow).map(|(raw, _)| raw).unwrap_or(0)
    }

    fn param_value(&self, v: i64) -> f64 {
        self.f.weight.to_f64(v)
    }

    fn constant(&self, v: f64) -> i64 {
        self.f.constant.from_f64(v, Overflow::Saturate).map(|(raw, _)| raw).unwrap_or(0)
    }

    fn all_finite(&self, _: &[i64]) -> bool {
        true
    }

    fn matrix(&self, w: &[i64], rows: usize, cols: usize) -> FixedMatrix {
        assert_eq!(w.len(), rows * cols);
        let float = if I::BITS == 64 { w.iter().map(|&v| v as f64).collect() } else { Vec::new() };
        FixedMatrix { raw: w.to_vec(), float, rows, cols }
    }

    fn product(&self, dst: &mut [I::Acc], a: &[i64], m: &FixedMatrix) {
        I::product(dst, a, m);
    }

    fn activation(&self, h: &[i64], rho: &mut [i64], drho: &mut [i64]) {
        self.lut.eval_slice(h, rho, drho);
    }

    fn hidden_step(
        &self,
        eps: i64,
        h: &mut [i64],
        drho: &[i64],
        acc: &[I::Acc],
        bias: &[i64],
        sat: &mut Saturations,
    ) {
        let counts = match self.fit_state.wrap {
            true => widest_simd(HiddenKernel::<I, true> { k: self, eps, h, drho, acc, bias }),
            false => widest_simd(HiddenKernel::<I, false> { k: self, eps, h, drho, acc, bias }),
        };
        sat.add(Signal::Drive, counts[0]);
        sat.add(Signal::Product, counts[1]);
        sat.add(Signal::State, counts[2]);
    }

    fn visible_step(
        &self,
        eps: i64,
        coeff: i64,
        x: &mut [i64],
        acc: &[I::Acc],
        bias: &[i64],
        x_t: &[i64],
        pull: &[i64],
        sat: &mut Saturations,
    ) {
        let counts = match self.fit_state.wrap {
            true => widest_simd(VisibleKernel::<I, true> { k: self, eps, coeff, x, acc, bias, x_t, pull }),
            false => widest_simd(VisibleKernel::<I, false> { k: self, eps, coeff, x, acc, bias, x_t, pull }),
        };
        sat.add(Signal::Drive, counts[0]);
        sat.add(Signal::Product, counts[1]);
        sat.add(Signal::State, counts[2]);
    }

    /// `coeff = k + nudge` and `pull = sat(round_{f_c}((nudge / (alpha k)) u))`: the visible
    /// gradient is then `x - drive + round_{f_c}(coeff (x - x_t)) - pull`, whose terms stay small
    /// near the equilibrium (the float form `(1 + k + nudge) x - k x_t - ...` would need states
    /// many times the data range).
    fn spring(
        &self,
        x_t: &[i64],
        u: &[i64],
        k: f64,
        nudge: f64,
        inv_ak: f64,
        sat: &mut Saturations,
    ) -> (i64, Vec<i64>) {
        let c2 = self.constant(nudge * inv_ak);
        let mut count = 0;
        let pull = match nudge == 0.0 {
            true => vec![0; x_t.len()],
            false => u
                .iter()
                .map(|&u| self.fit(self.round_constant.apply(I::of(c2) * I::of(u)), &mut count))
                .collect(),
        };
        sat.add(Signal::Pull, count);
        (self.constant(k + nudge), pull)
    }

    fn step_toward(&self, c: i64, x: &mut [i64], target: &[i64], sat: &mut Saturations) {
        let mut count = 0;
        for (x, &t) in x.iter_mut().zip(target) {
            *x = self.fit(I::of(*x) + self.scale(c, I::of(t) - I::of(*x)), &mut count);
        }
        sat.add(Signal::State, count);
    }

    fn squared_error(&self, ak: f64, x: &[i64], x_t: &[i64], u: &[i64]) -> f64 {
        let v = |raw: i64| self.f.state.to_f64(raw);
        x.iter().zip(x_t).zip(u).map(|((&x, &xt), &u)| (ak * (v(x) - v(xt)) - v(u)).powi(2)).sum()
    }

    /// Exact: `dE/dW0 = -rho(h1) x^T`, `dE/dW1 = -rho(h2) rho(h1)^T` summed over `[s+ ; s-]` with
    /// the minus phase's activations negated, at `2 f_s` fraction bits; biases (`f_s` bits) are
    /// shifted up to the same scale.
    fn ep_sum(&self, d: Dims, plus: &States<i64>, minus: &States<i64>) -> Params<i128> {
        let n = plus.n;
        let stack = |a: &[i64], b: &[i64], negate_b: bool| {
            let mut v = a.to_vec();
            v.extend(b.iter().map(|&x| if negate_b { -x } else { x }));
            v
        };
        let (rp1, rm1, rp2, rm2) =
            (self.rho(&plus.h1), self.rho(&minus.h1), self.rho(&plus.h2), self.rho(&minus.h2));
        let signed_r1 = stack(&rp1, &rm1, true);
        let signed_r2 = stack(&rp2, &rm2, true);
        let (x, r1) = (stack(&plus.x, &minus.x, false), stack(&rp1, &rm1, false));
        let bits = 2 * self.f.state.width() + usize::BITS - (2 * n).leading_zeros();
        let product = if bits <= F64_EXACT_BITS { f64_product } else { exact_product };
        let mut g = Params::<i128>::zeros(d);
        product(&mut g.w0, &signed_r1, &x, d.n_h1, 2 * n, d.n_x, true);
        product(&mut g.w1, &signed_r2, &r1, d.n_h2, 2 * n, d.n_h1, true);
        let shift = self.f.state.frac();
        let column_sums = |v: &[i64], out: &mut [i128]| {
            for row in v.chunks(out.len()) {
                out.iter_mut().zip(row).for_each(|(o, &x)| *o += i128::from(x) << shift);
            }
        };
        column_sums(&signed_r1, &mut g.b0);
        column_sums(&signed_r2, &mut g.b1);
        column_sums(&stack(&plus.x, &minus.x, true), &mut g.bx);
        g.tensors_mut().into_iter().flatten().for_each(|v| *v = -*v);
        g
    }

    fn gradient(&self, sum: &Params<i128>, scale: f64) -> Params<f64> {
        let unit = 2f64.powi(-2 * self.f.state.frac() as i32);
        sum.map(|v| v as f64 * unit * scale)
    }

    fn optimizer(&self, d: Dims, _: &Config) -> FixedOptimizer {
        FixedOptimizer::new(d, &self.f)
    }

    fn update(
        &self,
        opt: &mut FixedOptimizer,
        c: &Config,
        lr: f64,
        p: &mut Params<i64>,
        sum: &Params<i128>,
        n: usize,
        sat: &mut Saturations,
    ) -> Result<f64, Error> {
        opt.step(&self.f, &c.optim, c.relax.beta, lr, p, sum, 2 * self.f.state.frac(), n, sat).map(|r| r.norm)
    }

    fn save_optimizer(&self, opt: &FixedOptimizer) -> SavedOptimizer {
        SavedOptimizer { fixed_optimizer: Some(opt.clone()), ..Default::default() }
    }

    fn load_optimizer(&self, _: OptimizerKind, saved: &SavedOptimizer) -> Result<FixedOptimizer, Error> {
        let saved = saved.fixed_optimizer.clone().ok_or_else(|| SavedOptimizer::missing("fixed-point"))?;
        Ok(saved.resumed(&self.f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ModelConfig;
    use crate::golden::qformat::{requantize, shift_round, Lfsr};
    use crate::gradep::three_phases;
    use crate::relax::Packed;
    use rand::{Rng, SeedableRng};

    fn config(yaml: &str) -> Config {
        let mut c = Config::from_yaml_str(yaml, "test.yaml").unwrap();
        c.model = ModelConfig { n_x: 12, n_h1: 9, n_h2: 7, ..c.model };
        c
    }

    /// A small network, its parameters and a batch, quantized by `a`.
    fn case<I: Wide>(a: &Fixed<I>, seed: u64) -> (Params<i64>, Vec<i64>, Vec<i64>) {
        let d = Dims { n_x: 12, n_h1: 9, n_h2: 7 };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut p = Params::<f64>::init(d, 1.5, &mut rng);
        p.bx.iter_mut().for_each(|b| *b = rng.random_range(-0.3..0.3));
        let mut v = |n: usize, r: f64| (0..n).map(|_| a.state(rng.random_range(-r..r))).collect::<Vec<i64>>();
        let (x_t, u) = (v(5 * 12, 1.5), v(5 * 12, 2.0));
        (p.map(|w| a.param(w)), x_t, u)
    }

    fn run<I: Wide>(
        a: &Fixed<I>,
        c: &Config,
        seed: u64,
    ) -> (crate::gradep::Equilibria<i64>, Params<i128>, u64) {
        let (p, x_t, u) = case(a, seed);
        let mut sat = Saturations::default();
        let eq = three_phases(a, &Packed::new(a, &p), &c.relax, &x_t, &u, &mut sat);
        let sum = a.ep_sum(p.dims(), &eq.plus, &eq.minus);
        (eq, sum, sat.total())
    }

    /// i64 intermediates with f64 products, and i128 intermediates with the exact integer loop:
    /// the same bits.
    #[test]
    fn every_implementation_of_the_datapath_gives_the_same_bits() {
        for yaml in
            ["{}", "fixed:\n  rounding: floor\n", "fixed:\n  state: {width: 12, frac: 6}\n  overflow: wrap\n"]
        {
            let c = config(yaml);
            let fast = Fixed::<i64>::new(&c).unwrap();
            let (eq, sum, sat) = run(&fast, &c, 7);
            let wide = Fixed::<i128>::new(&c).unwrap();
            let other = run(&wide, &c, 7);
            assert_eq!(
                (&other.0.free, &other.0.plus, &other.0.minus),
                (&eq.free, &eq.plus, &eq.minus),
                "{yaml}"
            );
            assert_eq!((&other.1, other.2), (&sum, sat), "{yaml}");
        }
    }

    /// One hidden and one visible step, element by element with the `qformat` operators (the
    /// property-tested oracle): the rounding and saturation points of the module doc.
    #[test]
    fn steps_round_and_saturate_where_the_datapath_table_says() {
        for yaml in
            ["{}", "fixed:\n  rounding: floor\n", "fixed:\n  state: {width: 12, frac: 6}\n  overflow: wrap\n"]
        {
            let c = config(yaml);
            let f = &c.fixed;
            let a = Fixed::<i64>::new(&c).unwrap();
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
            let n = 400;
            let mut draw = |q: QFormat| {
                (0..n).map(|_| rng.random_range(q.min_raw()..=q.max_raw())).collect::<Vec<i64>>()
            };
            let (h0, x0, x_t, pull) = (draw(f.state), draw(f.state), draw(f.state), draw(f.state));
            let (drho, bias) = (draw(f.derivative), draw(f.weight));
            let acc: Vec<i64> = draw(f.state).iter().zip(draw(f.weight)).map(|(s, w)| s * w).collect();
            let (eps, coeff) = (a.constant(0.1), a.constant(16.125));
            let (mut h, mut x, mut sat) = (h0.clone(), x0.clone(), Saturations::default());
            // The product kernel's output: exact integers held in f64.
            let acc_f64: Vec<f64> = acc.iter().map(|&v| v as f64).collect();
            a.hidden_step(eps, &mut h, &drho, &acc_f64, &bias, &mut sat);
            a.visible_step(eps, coeff, &mut x, &acc_f64, &bias, &x_t, &pull, &mut sat);

            let (mut lfsr, mut overflows) = (Lfsr::new(1).unwrap(), 0);
            // Requantize to the state format from `frac` fraction bits, counting overflows.
            let mut state = |v: i128, frac: u32| {
                let (r, o) = requantize(v, frac, f.state, f.rounding, f.overflow, &mut lfsr);
                overflows += u64::from(o);
                i128::from(r)
            };
            let (fs, fw, fd, fc) = (f.state.frac(), f.weight.frac(), f.derivative.frac(), f.constant.frac());
            let round_c = |v: i128| shift_round(v, fc, f.rounding, &mut Lfsr::new(1).unwrap());
            for j in 0..n {
                let (h0, x0, eps, coeff) =
                    (i128::from(h0[j]), i128::from(x0[j]), i128::from(eps), i128::from(coeff));
                let drive = state(i128::from(acc[j]) + (i128::from(bias[j]) << fs), fs + fw);
                let p = state(i128::from(drho[j]) * drive, fd + fs);
                assert_eq!(i128::from(h[j]), state(h0 - round_c(eps * (h0 - p)), fs), "{yaml} h[{j}]");
                let spring = round_c(coeff * (x0 - i128::from(x_t[j])));
                let g = x0 - drive + spring - i128::from(pull[j]);
                assert_eq!(i128::from(x[j]), state(x0 - round_c(eps * g), fs), "{yaml} x[{j}]");
            }
            // The kernels compute each drive twice (hidden and visible step); the oracle once.
            assert_eq!(
                sat.get(Signal::Product) + sat.get(Signal::State) + sat.get(Signal::Drive) / 2,
                overflows
            );
            assert!(overflows > 0, "{yaml}: random raw values overflow somewhere");
        }
    }
}
