//! The on-chip optimizer of the fixed-point core: EP gradient scaling, global-norm clipping, then
//! Adam or SGD (the float twins are [`crate::optim`]), on raw integers only.
//!
//! # Datapath
//!
//! Input: the exact batch sum `S` over `n` samples of `dE/dtheta(s+) - dE/dtheta(s-)` with
//! `sum_frac` fraction bits; the EP gradient is `S / (2 beta n)`. Every value below is an exact
//! integer with a known number of fraction bits until the column "rounded" says otherwise;
//! "round" is [`requantize`] / [`shift_round`] with `fixed.update_rounding`, "overflow" is
//! `fixed.overflow`, counted in the [`Signal`] named. Each row rounds at most once.
//!
//! | signal | format | exact value | rounded | overflow counted as |
//! |---|---|---|---|---|
//! | sum port | `129 - constant.width` bits, `sum_frac` | `S` | no | Gradient (once with `g`) |
//! | `g` | `gradient` | `S · scale`, `scale = 1/(2 beta n)` | round | Gradient |
//! | `‖g‖²` | u128, gradient LSB² | `Σ g²` over all parameters | no | Gradient (saturates at 2^128 - 1) |
//! | `‖g‖` | gradient LSBs | `sqrt(‖g‖²)` | floor | cannot |
//! | clip factor | `constant.width - 1` bit mantissa | `clip_norm / (‖g‖ + 1e-6)` | floor | cannot (< 1 where used) |
//! | `g` clipped | `gradient` | `g · factor` | round | Gradient (cannot: shrinks) |
//! | Adam `m` | `moment` | `beta1 m + (1-beta1) g` | round | Moment |
//! | Adam `v` | `second_moment` | `beta2 v + (1-beta2) g²` | round | SecondMoment |
//! | `sqrt(v)` | `second_moment.frac` | `sqrt(max(v, 1 LSB))` | floor | cannot |
//! | denominator | `second_moment.frac + shift(c2)` | `sqrt(v) · c2 + eps`, `c2 = 1/sqrt(1-beta2^t)` | no | cannot |
//! | Adam update | 64 bits, `weight.frac` | `lr_t m / denominator`, `lr_t = lr/(1-beta1^t)` | divider, then round | Weight |
//! | SGD `m` | `moment` | `momentum m + g`, or `g` without momentum | round | Moment |
//! | SGD update | 64 bits, `weight.frac` | `lr m` | round | Weight |
//! | weight | `weight` | `w - update` | no | Weight (once per element) |
//!
//! **Constants.** Each step computes its constants once, in f64, from the config: `scale`,
//! `clip_norm`, `beta1`, `1-beta1`, `beta2`, `1-beta2`, `momentum`, `lr_t` (Adam) or `lr` (SGD),
//! `c2`. Each is held as `mant · 2^-shift` with `mant` rounded half-even to fill
//! `constant.width - 1` bits (shift >= 0), so a tiny constant like `1/(2 · 0.00125 · 1797)` keeps
//! full relative precision where a plain `Q(32,20)` would lose it. `eps` is rounded half-even
//! directly at the denominator's fraction bits, PyTorch's `1e-6` of the clip at the gradient's.
//! A constant that does not fit (`>= 2^(width-1)`, negative, not finite, e.g. `n = 0`) is an
//! error naming it. Only the width of `fixed.constant` matters here (its `frac` fixes the
//! relaxation's constants). PyTorch's `1e-6` rounds to 0 below 20 gradient fraction bits, which
//! is harmless: a zero norm is never clipped. Powers `beta^t` use IEEE multiplications only (no
//! libm), so every platform gets the same constant bits.
//!
//! **Exact sums.** A sum of products is aligned to its finest fraction and added exactly in 128
//! bits before its one rounding. [`FixedOptimizer::step`] checks up front, from the formats and
//! the constants' shifts, that no aligned term can exceed 2^125 and names the formats otherwise
//! (e.g. `(1-beta2) g²` with a 60-bit gradient and a 48-bit constant needs 168 bits). The sum
//! port bounds `S` so that `S · scale` is exact too.
//!
//! **Clipping** (PyTorch semantics, when `clip_norm > 0`): the factor is applied only when below
//! 1. It is truncated, so the clipped norm never exceeds `clip_norm` beyond the roundings of `g`.
//!
//! **A vanishing second moment.** `eps = 1e-8` is below the resolution of practical second-moment
//! formats, and `v` can round to 0 while `m` does not (`(1-beta2) g²` underflows first). The
//! square root therefore reads `v` as at least one LSB (a negative `v`, possible only after a
//! wrap, too): the denominator is at least `2^(-second_moment.frac/2) · c2 > 0`, so it is never 0
//! and a zero `v` gives the bounded update `|u| <= lr_t |m| 2^(second_moment.frac/2)`, where
//! `eps` alone would allow `lr_t |m| / 1e-8`. A nonzero `v` is read as it is.
//!
//! **The divider** forms `floor(|lr_t m| · 2^k / denominator)` with 15 guard bits below the weight
//! LSB, appends a sticky bit (remainder nonzero) and rounds that once: exact for floor and
//! half-even; stochastic rounding's expectation is off by less than 2^-16 LSB.
//!
//! **Stochastic rounding** (`update_rounding: stochastic`) follows the hardware: the order of
//! its draws is one an optimizer unit of the generated core can follow, parameter after
//! parameter, and it survives the rows Adam and clipping add.
//! - *Units and streams.* Each optimizer unit has two 32-bit LFSRs ([`Lfsr`]): the *gradient
//!   stream* draws for the rows `g` only, the *update stream* for every later row. Unit `u`'s
//!   streams start at [`stream_seed`]`(fixed.lfsr_seed, u, stream)`. The core has one unit
//!   (`sgd_unit.v`), unit 0, which walks every parameter; a core with a unit per PE would give
//!   each its own two streams and its own tile, walked in the same way, and the order of the
//!   parameters of different units would not matter (no stream is shared).
//! - *Walk.* A unit walks its parameters in the core's order ([`Dims::core_walk`]: the fused
//!   matrix row-major, then the K-side and N-side biases), which is the order its controller
//!   issues them during UPDATE (`controller.v`, `S_UPD`: host index 0, 1, ...). It depends on
//!   the network's sizes only, not on the `hardware:` section.
//! - *Rows.* The gradient stream: every `g` in the walk. Then the update stream: per parameter
//!   in the walk, its rows in the table's order, each drawing only if it drops bits: the clip
//!   (when clipping applies), `m` (Adam's or SGD's), `v` (Adam), the update (SGD's, or the
//!   divider's single rounding). SGD draws `g`; `m`, `u`, exactly what the RTL rounds, in the
//!   order it rounds them; Adam adds its rows between them without moving SGD's.
//! - *Clipping* needs `g` twice: once for the global norm, once for the update. Hardware
//!   without a memory for `g` computes it again in a second pass; restoring the gradient
//!   stream's state from the start of the step, that pass draws the same bits, so `g` is the
//!   same. The state after the step is that after one pass. This model keeps `g` and makes one.
//! - *Bits of a rounding.* A rounding that drops `shift` bits draws `ceil(shift / 32)` words of
//!   32 bits, the first drawn the least significant ([`shift_round`]): one word per 32-bit digit
//!   of the dropped bits, added digit by digit with the value in the RTL's digit stream, least
//!   significant first, so the carry into the kept bits is the rounding up.
//!
//! - *Range.* The RTL's streams walk a fixed number of digits below a result
//!   (`hdl::params::StreamPass::drop_max`); a constant so small that a rounding would drop more
//!   (tiny: a learning rate below 2^-88) is refused by the host side
//!   (`CoreParams::check_update_constants`, which `floweqprop vectors` calls). This model has no
//!   such limit. Each stream repeats after 2^32 - 1 bits (2^27 words, less one bit).
//!
//! Both states are in the optimizer state: a checkpoint continues them bit for bit. A checkpoint
//! written before the two streams (one field `lfsr`) resumes on streams seeded afresh
//! ([`FixedOptimizer::resumed`]): floor and half-even runs bit for bit, stochastic ones not (their
//! old sequence followed an order this model no longer has). Floor and half-even draw nothing.
//! The point: an update below one weight LSB still moves the weight on average.
//!
//! [`shift_round`]: super::qformat::shift_round
//!
//! Length: the file passes 800 lines only through its unit tests (`mod tests`, a quarter of it or
//! more), kept beside the code they check.

use super::qformat::{requantize, Lfsr, Overflow, QFormat};
use crate::config::FixedConfig;
use crate::config::{OptimConfig, OptimizerKind};
use crate::error::Error;
use crate::model::{Dims, Params};
use crate::saturation::{Saturations, Signal};
use serde::{Deserialize, Serialize};

/// Quotient bits the Adam divider computes below the weight LSB (a sticky bit follows).
pub const GUARD_BITS: u32 = 15;

/// Largest magnitude exponent of one aligned term of an exact sum: two terms stay below 2^127.
const MAX_TERM_BITS: u32 = 125;

/// The divider keeps its quotient below this (reducing modulo it and flagging overflow): far
/// beyond every weight format, and a multiple of 2^64 after the guard shift, so a wrap keeps
/// the right low bits.
const QUOTIENT_LIMIT: u128 = 1 << 126;

/// Optimizer state of the fixed-point core: with the parameters, all a resumed run needs to
/// continue bit for bit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixedOptimizer {
    /// SGD momentum or Adam's first moment, raw in `fixed.moment`.
    pub moment: Params<i64>,
    /// Adam's second moment, raw in `fixed.second_moment` (zero under SGD).
    pub second_moment: Params<i64>,
    /// Steps taken.
    pub t: u64,
    /// States of the optimizer unit's two stochastic-rounding LFSRs (module doc, "Stochastic
    /// rounding"): the gradient stream's and the update stream's. 0 in a checkpoint written
    /// before the two streams (its one field `lfsr` is ignored): [`FixedOptimizer::resumed`]
    /// seeds them afresh.
    #[serde(default)]
    pub lfsr_gradient: u32,
    #[serde(default)]
    pub lfsr_update: u32,
}

/// The stochastic-rounding streams of an optimizer unit: the gradient's rows (`g`), and every
/// later row of a parameter (clip, moment, second moment, update).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Gradient = 0,
    Update = 1,
}

/// The seed of `stream` of optimizer unit `unit` (the core has one, unit 0; a core with one
/// unit per PE would number them as its host index numbers the PEs): SplitMix64's finalizer of
/// `(seed, 2 unit + stream)`, its high half, 1 where that is 0. Each stream starts at its own
/// pseudo-random place on the LFSR's one cycle of 2^32 - 1 states. The host (or the generator,
/// for the core's reset values) computes it; the hardware only loads it.
pub fn stream_seed(seed: u32, unit: u32, stream: Stream) -> u32 {
    let mut z =
        (u64::from(seed) << 32 | u64::from(2 * unit + stream as u32)).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    match ((z ^ (z >> 31)) >> 32) as u32 {
        0 => 1,
        s => s,
    }
}

impl FixedOptimizer {
    pub fn new(d: Dims, f: &FixedConfig) -> FixedOptimizer {
        FixedOptimizer {
            moment: Params::zeros(d),
            second_moment: Params::zeros(d),
            t: 0,
            lfsr_gradient: stream_seed(f.lfsr_seed, 0, Stream::Gradient),
            lfsr_update: stream_seed(f.lfsr_seed, 0, Stream::Update),
        }
    }

    /// The state a checkpoint kept, ready to continue: one written before the two LFSR streams
    /// (both states 0, the field missing) gets them seeded from `f.lfsr_seed`, so floor and
    /// half-even runs (which draw nothing) resume bit for bit, and a stochastic run resumes on
    /// fresh streams (its old single sequence belongs to an order the model no longer has).
    pub fn resumed(mut self, f: &FixedConfig) -> FixedOptimizer {
        if (self.lfsr_gradient, self.lfsr_update) == (0, 0) {
            let fresh = FixedOptimizer::new(self.moment.dims(), f);
            (self.lfsr_gradient, self.lfsr_update) = (fresh.lfsr_gradient, fresh.lfsr_update);
        }
        self
    }

    /// One update of `params` (raw, `fixed.weight`) from the exact batch sum `sum` (`sum_frac`
    /// fraction bits) of `n` samples nudged by `beta`, with learning rate `lr`. Returns the
    /// global L2 norm of the scaled gradient before clipping (for the loss log) and the clip
    /// factor (the core's observation points of its norm unit).
    ///
    /// Errors (before any state changes): shapes that differ, an LFSR state of 0, a constant
    /// that does not fit `fixed.constant`, an exact sum wider than 128 bits.
    #[expect(
        clippy::too_many_arguments,
        reason = "the unit's ports: config, beta, lr, parameters, the gradient sum and its scale, counters"
    )]
    pub fn step(
        &mut self,
        f: &FixedConfig,
        o: &OptimConfig,
        beta: f64,
        lr: f64,
        params: &mut Params<i64>,
        sum: &Params<i128>,
        sum_frac: u32,
        n: usize,
        sat: &mut Saturations,
    ) -> Result<StepReport, Error> {
        let d = params.dims();
        if !(sum.has_dims(d) && self.moment.has_dims(d) && self.second_moment.has_dims(d)) {
            return Err(Error::invalid(
                "fixed optimizer",
                format!("{d:?}"),
                "parameters, gradient sum and optimizer state differ in shape",
            ));
        }
        let lfsr = |state: u32, name: &str| {
            Lfsr::new(state).map_err(|_| {
                Error::invalid(
                    &format!("fixed optimizer {name} LFSR state"),
                    0,
                    "must be nonzero (fixed.lfsr_seed 0 or a corrupt checkpoint)",
                )
            })
        };
        let (gradient, update) = (lfsr(self.lfsr_gradient, "gradient")?, lfsr(self.lfsr_update, "update")?);
        let t = self.t.saturating_add(1);
        let k = Constants::new(f, o, beta, lr, n, t, sum_frac)?;
        let mut unit = Unit { f, gradient, update, sat };
        let walk = d.core_walk();

        // the gradient stream: every g, in the unit's walk
        let mut g = Params::<i64>::zeros(d);
        let gt = g.tensors_mut();
        let st = sum.tensors();
        for &(t, i) in &walk {
            gt[t][i] = unit.gradient(st[t].1[i], &k);
        }
        let report = unit.norm_and_clip(&g, &k);
        let clip = report.clip;

        // the update stream: per parameter, in the same walk, its clip, moment(s) and update
        let (w, gt) = (params.tensors_mut(), g.tensors());
        let (m, v) = (self.moment.tensors_mut(), self.second_moment.tensors_mut());
        for &(t, i) in &walk {
            let g = match clip {
                Some(factor) => unit.clip(gt[t].1[i], factor),
                None => gt[t].1[i],
            };
            let update = match &k.rule {
                Rule::Adam(a) => {
                    m[t][i] = unit.adam_moment(m[t][i], g, a);
                    v[t][i] = unit.second_moment(v[t][i], g, a);
                    unit.adam_update(m[t][i], v[t][i], a, k.update_register)
                }
                Rule::Sgd(s) => {
                    m[t][i] = unit.sgd_moment(m[t][i], g, s.momentum);
                    unit.sgd_update(m[t][i], s.lr, k.update_register)
                }
            };
            w[t][i] = unit.apply(w[t][i], update);
        }
        self.t = t;
        (self.lfsr_gradient, self.lfsr_update) = (unit.gradient.state(), unit.update.state());
        Ok(report)
    }
}

/// What one step's global-norm row computed: the norm as f64 (for the loss log), exactly in
/// gradient LSBs (`floor(sqrt(Σ g²))`), and the clip factor `(mant, frac)` (`mant · 2^-frac`,
/// `mant` below `2^(constant.width - 1)`) when clipping applied (factor < 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepReport {
    pub norm: f64,
    pub norm_lsb: u128,
    pub clip: Option<(i64, u32)>,
}

/// A nonnegative on-chip constant `mant · 2^-shift`, `0 <= mant < 2^(constant.width - 1)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Constant {
    pub mant: i64,
    pub shift: u32,
}

/// The on-chip constants of one step, as the hardware receives them: the gradient scale
/// `1/(2 beta n)`, the learning rate (Adam's `lr / (1 - beta1^t)`), the momentum (none when 0;
/// Adam's `beta1`), the clip (none when off) and Adam's other constants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CoreConstants {
    pub scale: Constant,
    pub lr: Constant,
    pub momentum: Option<Constant>,
    pub clip: Option<ClipConstants>,
    pub adam: Option<AdamCoreConstants>,
}

/// Adam's constants besides `beta1` and `lr_t`: `1 - beta1`, `beta2`, `1 - beta2`, the bias
/// correction `c2 = 1/sqrt(1 - beta2^t)` and `eps` at the denominator's fraction bits
/// (`second_moment.frac + c2.shift`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdamCoreConstants {
    pub one_minus_beta1: Constant,
    pub beta2: Constant,
    pub one_minus_beta2: Constant,
    pub c2: Constant,
    pub eps: u128,
    /// The divider's left shift (`weight.frac + GUARD_BITS + second_moment.frac + c2.shift -
    /// moment.frac - lr_t.shift`): the quotient at the weight's fraction bits and the guard bits.
    pub quotient_shift: i64,
}

/// Global-norm clipping's constants: `optim.clip_norm`, and PyTorch's `1e-6` added to the norm,
/// in gradient LSBs (`fixed.gradient.frac`), rounded half-even.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClipConstants {
    pub norm: Constant,
    pub delta: u64,
}

/// The constants [`FixedOptimizer::step`] uses for step `t` (1 for the first) of `n` samples.
pub fn core_constants(
    f: &FixedConfig,
    o: &OptimConfig,
    beta: f64,
    lr: f64,
    n: usize,
    t: u64,
) -> Result<CoreConstants, Error> {
    let k = Constants::new(f, o, beta, lr, n, t, 0)?;
    let clip = k.clip.map(|(norm, delta)| ClipConstants { norm, delta: delta as u64 });
    Ok(match k.rule {
        Rule::Sgd(s) => CoreConstants { scale: k.scale, lr: s.lr, momentum: s.momentum, clip, adam: None },
        Rule::Adam(a) => CoreConstants {
            scale: k.scale,
            lr: a.lr_t,
            momentum: Some(a.beta1),
            clip,
            adam: Some(AdamCoreConstants {
                one_minus_beta1: a.one_minus_beta1,
                beta2: a.beta2,
                one_minus_beta2: a.one_minus_beta2,
                c2: a.c2,
                eps: a.eps,
                quotient_shift: a.quotient_shift,
            }),
        },
    })
}

impl Constant {
    /// `mant · 2^-shift`, the value the hardware holds (exact in f64 for the mantissas a
    /// `fixed.constant` of up to 48 bits gives).
    pub fn value(&self) -> f64 {
        self.mant as f64 * pow2(-i64::from(self.shift))
    }

    /// `value` rounded half-even to a mantissa filling `c.width() - 1` bits (shift >= 0).
    fn new(name: &str, value: f64, c: QFormat) -> Result<Constant, Error> {
        let w = c.width();
        let bad = |why: &str| Error::invalid(name, value, why);
        if !(w >= 2 && value.is_finite() && value >= 0.0 && value < pow2(i64::from(w) - 1)) {
            let why = format!("must be finite, >= 0 and below 2^{} to fit fixed.constant ({w} bits)", w - 1);
            return Err(bad(&why));
        }
        if value == 0.0 {
            return Ok(Constant { mant: 0, shift: 0 });
        }
        let shift = (i64::from(w) - 2 - exponent(value)).max(0);
        let half = shift / 2; // two exact power-of-two scalings: 2^shift alone may exceed f64
        let scaled = value * pow2(half) * pow2(shift - half);
        let (mant, carried) = QFormat::new(w, 0)
            .and_then(|q| q.from_f64(scaled, Overflow::Saturate))
            .map_err(|e| bad(&e.to_string()))?;
        let shift = shift as u32; // <= 62 + 1074
        match (carried, shift) {
            (false, _) => Ok(Constant { mant, shift }),
            // rounded up to 2^(w-1): the same value with one bit less of shift
            (true, 1..) => Ok(Constant { mant: 1 << (w - 2), shift: shift - 1 }),
            (true, 0) => Err(bad(&format!("rounds to 2^{}, which does not fit fixed.constant", w - 1))),
        }
    }
}

/// `2^k` for `|k| <= 1022`, exact (built from its exponent bits).
fn pow2(k: i64) -> f64 {
    f64::from_bits(((1023 + k) as u64) << 52)
}

/// `floor(log2 x)` of a finite `x > 0`, exact (from the IEEE fields, subnormals included).
fn exponent(x: f64) -> i64 {
    let bits = x.to_bits();
    match (bits >> 52) & 0x7ff {
        0 => 63 - i64::from((bits & ((1 << 52) - 1)).leading_zeros()) - 1074,
        biased => biased as i64 - 1023,
    }
}

/// `b^t` by binary exponentiation: IEEE multiplications only, so the same bits everywhere.
fn powu(mut b: f64, mut t: u64) -> f64 {
    let mut r = 1.0;
    while t > 0 {
        if t & 1 == 1 {
            r *= b;
        }
        b *= b;
        t >>= 1;
    }
    r
}

/// Everything one step computes once from the config.
struct Constants {
    /// `1/(2 beta n)`.
    scale: Constant,
    /// Fraction bits of `S · scale`.
    scaled_frac: u32,
    /// Where updates are rounded: 64 bits at the weight's fraction bits, so that the one
    /// saturation (or wrap) is that of `w - u` into the weight format.
    update_register: QFormat,
    /// `clip_norm` and PyTorch's `1e-6` in gradient LSBs, when clipping.
    clip: Option<(Constant, u128)>,
    rule: Rule,
}

enum Rule {
    Adam(AdamConstants),
    Sgd(SgdRule),
}

struct AdamConstants {
    beta1: Constant,
    one_minus_beta1: Constant,
    beta2: Constant,
    one_minus_beta2: Constant,
    /// `lr / (1 - beta1^t)`.
    lr_t: Constant,
    /// `1 / sqrt(1 - beta2^t)`.
    c2: Constant,
    /// `eps` at the denominator's fraction bits `second_moment.frac + c2.shift`.
    eps: u128,
    /// Left shift that puts the quotient `lr_t m / denominator` at `weight.frac + GUARD_BITS`
    /// fraction bits (negative: right shift).
    quotient_shift: i64,
}

struct SgdRule {
    momentum: Option<Constant>,
    lr: Constant,
}

impl Constants {
    fn new(
        f: &FixedConfig,
        o: &OptimConfig,
        beta: f64,
        lr: f64,
        n: usize,
        t: u64,
        sum_frac: u32,
    ) -> Result<Constants, Error> {
        let c = f.constant;
        let scale = Constant::new("1/(2 relax.beta n)", 1.0 / (2.0 * beta * n as f64), c)?;
        let scaled_frac = sum_frac.checked_add(scale.shift).ok_or_else(|| {
            Error::invalid("gradient sum fraction bits", sum_frac, "too many to scale by 1/(2 beta n)")
        })?;
        let clip = if o.clip_norm > 0.0 {
            let at = QFormat::new(64, f.gradient.frac()).and_then(|q| q.from_f64(1e-6, Overflow::Saturate));
            let delta =
                at.map_err(|e| Error::invalid("fixed.gradient", f.gradient.frac(), &e.to_string()))?.0;
            Some((Constant::new("optim.clip_norm", o.clip_norm, c)?, delta.unsigned_abs().into()))
        } else {
            None
        };
        let rule = match o.kind {
            OptimizerKind::Adam => Rule::Adam(AdamConstants::new(f, o, lr, t)?),
            OptimizerKind::Sgd => {
                let momentum = if o.momentum > 0.0 {
                    Some(Constant::new("optim.momentum", o.momentum, c)?)
                } else {
                    None
                };
                if let Some(mu) = momentum {
                    check_sum(
                        "momentum m + g",
                        f,
                        [
                            (f.moment.width() - 1 + c.width() - 1, f.moment.frac() + mu.shift),
                            (f.gradient.width() - 1, f.gradient.frac()),
                        ],
                    )?;
                }
                Rule::Sgd(SgdRule { momentum, lr: Constant::new("optim.lr", lr, c)? })
            }
        };
        let update_register = QFormat::new(64, f.weight.frac())
            .map_err(|e| Error::invalid("fixed.weight", f.weight.frac(), &e.to_string()))?;
        Ok(Constants { scale, scaled_frac, update_register, clip, rule })
    }
}

impl AdamConstants {
    fn new(f: &FixedConfig, o: &OptimConfig, lr: f64, t: u64) -> Result<AdamConstants, Error> {
        let c = f.constant;
        let beta1 = Constant::new("optim.beta1", o.beta1, c)?;
        let one_minus_beta1 = Constant::new("1 - optim.beta1", 1.0 - o.beta1, c)?;
        let beta2 = Constant::new("optim.beta2", o.beta2, c)?;
        let one_minus_beta2 = Constant::new("1 - optim.beta2", 1.0 - o.beta2, c)?;
        let lr_t = Constant::new("optim.lr / (1 - beta1^t)", lr / (1.0 - powu(o.beta1, t)), c)?;
        let c2 = Constant::new("1 / sqrt(1 - beta2^t)", 1.0 / (1.0 - powu(o.beta2, t)).sqrt(), c)?;
        let (g, m, v) = (f.gradient, f.moment, f.second_moment);
        let cb = c.width() - 1;
        check_sum(
            "beta1 m + (1-beta1) g",
            f,
            [
                (m.width() - 1 + cb, m.frac() + beta1.shift),
                (g.width() - 1 + cb, g.frac() + one_minus_beta1.shift),
            ],
        )?;
        check_sum(
            "beta2 v + (1-beta2) g^2",
            f,
            [
                (v.width() - 1 + cb, v.frac() + beta2.shift),
                (2 * (g.width() - 1) + cb, 2 * g.frac() + one_minus_beta2.shift),
            ],
        )?;
        // c2 >= 1, so its shift is below the constant width and the denominator's fraction
        // bits stay below 127.
        let den_frac = i64::from(v.frac() + c2.shift);
        let scaled = o.eps * pow2(den_frac);
        if !(scaled.is_finite() && scaled >= 0.0 && scaled < pow2(i64::from(MAX_TERM_BITS) + 1)) {
            return Err(Error::invalid(
                "optim.eps",
                o.eps,
                "must be finite, >= 0 and below 2^126 / 2^(fraction bits)",
            ));
        }
        let quotient_shift =
            i64::from(f.weight.frac() + GUARD_BITS) + den_frac - i64::from(m.frac()) - i64::from(lr_t.shift);
        let eps = scaled.round_ties_even() as u128; // exact: an integer below 2^126
        Ok(AdamConstants { beta1, one_minus_beta1, beta2, one_minus_beta2, lr_t, c2, eps, quotient_shift })
    }
}

/// Checks that the two terms of an exact sum, `(magnitude bits, fraction bits)` each, fit 128
/// bits once aligned to the finer fraction: each below `2^(bits + alignment)`, so the sum of
/// two needs `max(bits + alignment) + 3` bits with sign and carry.
fn check_sum(what: &str, f: &FixedConfig, terms: [(u32, u32); 2]) -> Result<(), Error> {
    let z = terms.iter().map(|&(_, frac)| frac).max().unwrap_or(0);
    let need = terms.iter().map(|&(bits, frac)| bits + (z - frac)).max().unwrap_or(0);
    if need <= MAX_TERM_BITS {
        return Ok(());
    }
    let shown = |q: QFormat| format!("Q({},{})", q.width(), q.frac());
    Err(Error::invalid(
        "fixed",
        format!(
            "gradient {}, moment {}, second_moment {}, constant {}",
            shown(f.gradient),
            shown(f.moment),
            shown(f.second_moment),
            shown(f.constant)
        ),
        &format!(
            "the exact sum {what} needs {} bits with sign and carry, more than 128: narrow these formats",
            need + 3
        ),
    ))
}

/// `floor(sqrt(n))`, digit by digit (two bits of `n` per root bit, as a hardware square rooter).
fn isqrt(n: u128) -> u128 {
    let (mut rest, mut root) = (n, 0u128);
    let mut bit = 1u128 << 126;
    while bit > n {
        bit >>= 2;
    }
    while bit != 0 {
        // root < 2^65 and bit <= 2^126 throughout: no overflow
        if rest >= root + bit {
            rest -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
        bit >>= 2;
    }
    root
}

/// A restoring divider: `(q, sticky, overflowed)` with `q = floor(n · 2^shift / d)` reduced
/// modulo [`QUOTIENT_LIMIT`], `overflowed` whether it reached the limit, `sticky` whether the
/// quotient is inexact. `n < 2^126`, `d > 0`.
fn divide(n: u128, d: u128, shift: i64) -> (u128, bool, bool) {
    let (q, r) = (n / d, n % d);
    if shift < 0 {
        let s = shift.unsigned_abs();
        let (kept, dropped) = if s >= 128 { (0, q) } else { (q >> s, q & ((1 << s) - 1)) };
        return (kept, r != 0 || dropped != 0, false);
    }
    let (mut q, mut r, mut overflowed) = (q, r, false);
    for _ in 0..shift {
        if q == 0 && r == 0 {
            break; // nothing left to shift in
        }
        let bit = r >= d - r; // 2r >= d, without overflow since r < d
        r = if bit { r - (d - r) } else { 2 * r };
        q = q << 1 | u128::from(bit); // q < 2^126 before: fits
        if q >= QUOTIENT_LIMIT {
            q -= QUOTIENT_LIMIT;
            overflowed = true;
        }
    }
    (q, r != 0, overflowed)
}

/// The optimizer unit during one step: formats, its two LFSR streams, the saturation counters.
struct Unit<'a> {
    f: &'a FixedConfig,
    /// Draws for the rows of `g`.
    gradient: Lfsr,
    /// Draws for every later row (clip, moments, update).
    update: Lfsr,
    sat: &'a mut Saturations,
}

impl Unit<'_> {
    /// Rounds `v` (`frac` fraction bits) into `to` on the update stream, counting an overflow
    /// as `signal`.
    fn round(&mut self, v: i128, frac: u32, to: QFormat, signal: Signal) -> i64 {
        let (raw, overflowed) =
            requantize(v, frac, to, self.f.update_rounding, self.f.overflow, &mut self.update);
        self.sat.add(signal, u64::from(overflowed));
        raw
    }

    /// `g = S · scale` through the sum port.
    fn gradient(&mut self, s: i128, k: &Constants) -> i64 {
        // The port holds 129 - cw bits, so |S| <= 2^(128-cw) and |S · mant| < 2^127.
        let cw = self.f.constant.width();
        let (lo, hi) = (-(1i128 << (128 - cw)), (1i128 << (128 - cw)) - 1);
        let port = match self.f.overflow {
            Overflow::Saturate => s.clamp(lo, hi),
            Overflow::Wrap => s.wrapping_shl(cw - 1) >> (cw - 1),
        };
        let (g, overflowed) = requantize(
            port * i128::from(k.scale.mant),
            k.scaled_frac,
            self.f.gradient,
            self.f.update_rounding,
            self.f.overflow,
            &mut self.gradient,
        );
        self.sat.add(Signal::Gradient, u64::from(overflowed || port != s));
        g
    }

    /// The global norm (as f64, for the log, and exactly) and the clip factor `(mant, frac)` when
    /// clipping applies (factor < 1).
    fn norm_and_clip(&mut self, g: &Params<i64>, k: &Constants) -> StepReport {
        let (mut squares, mut saturated) = (0u128, false);
        for v in g.values() {
            let square = u128::from(v.unsigned_abs()).pow(2); // <= 2^126
            squares = squares.checked_add(square).unwrap_or_else(|| {
                saturated = true;
                u128::MAX
            });
        }
        self.sat.add(Signal::Gradient, u64::from(saturated));
        let norm = isqrt(squares); // gradient LSBs, < 2^64
        let report = StepReport { norm: norm as f64 * self.f.gradient.lsb(), norm_lsb: norm, clip: None };
        let Some((clip, delta)) = k.clip else { return report };
        let den = norm + delta;
        if den == 0 {
            return report; // a zero gradient needs no clipping
        }
        // factor = clip.mant 2^-clip.shift / (den 2^-gf) = q 2^-(clip.shift + bits(den) - gf) with
        // q = floor(clip.mant 2^bits(den) / den) in [clip.mant, 2 clip.mant]; q truncated to the
        // constant's mantissa width (dropping `drop` bits) keeps the factor's scale with a
        // fraction `drop` bits shorter.
        let den_bits = 128 - den.leading_zeros(); // <= 65, and clip.mant < 2^63: no overflow
        let q = (u128::from(clip.mant.unsigned_abs()) << den_bits) / den;
        let drop = (128 - q.leading_zeros()).saturating_sub(self.f.constant.width() - 1);
        let mant = q >> drop; // fits i64: below 2^(cw-1)
        let frac = i64::from(clip.shift + den_bits) - i64::from(drop + self.f.gradient.frac());
        // factor < 1 <=> mant < 2^frac
        let below_one = frac >= 64 || (frac > 0 && mant < 1u128 << frac);
        StepReport { clip: below_one.then_some((mant as i64, frac as u32)), ..report }
    }

    fn clip(&mut self, g: i64, (mant, frac): (i64, u32)) -> i64 {
        let gf = self.f.gradient;
        self.round(i128::from(g) * i128::from(mant), gf.frac() + frac, gf, Signal::Gradient)
    }

    fn adam_moment(&mut self, m: i64, g: i64, a: &AdamConstants) -> i64 {
        let (sum, frac) = aligned_sum([
            (i128::from(m) * i128::from(a.beta1.mant), self.f.moment.frac() + a.beta1.shift),
            (
                i128::from(g) * i128::from(a.one_minus_beta1.mant),
                self.f.gradient.frac() + a.one_minus_beta1.shift,
            ),
        ]);
        self.round(sum, frac, self.f.moment, Signal::Moment)
    }

    fn second_moment(&mut self, v: i64, g: i64, a: &AdamConstants) -> i64 {
        let g2 = i128::from(g) * i128::from(g); // <= 2^126
        let (sum, frac) = aligned_sum([
            (i128::from(v) * i128::from(a.beta2.mant), self.f.second_moment.frac() + a.beta2.shift),
            (g2 * i128::from(a.one_minus_beta2.mant), 2 * self.f.gradient.frac() + a.one_minus_beta2.shift),
        ]);
        self.round(sum, frac, self.f.second_moment, Signal::SecondMoment)
    }

    /// `lr_t m / (sqrt(v) c2 + eps)` in the update register, with whether it overflowed.
    fn adam_update(&mut self, m: i64, v: i64, a: &AdamConstants, register: QFormat) -> (i128, bool) {
        let vf = self.f.second_moment.frac();
        // v < 2^63, so v 2^vf < 2^127; then root < 2^63.5, c2.mant < 2^63 and eps < 2^126
        // keep the denominator below 2^128.
        let root = isqrt(u128::from(v.max(1).unsigned_abs()) << vf);
        let den = root * a.c2.mant.unsigned_abs() as u128 + a.eps;
        let num = u128::from(m.unsigned_abs()) * a.lr_t.mant.unsigned_abs() as u128; // < 2^126
        let (q, sticky, overflowed) = divide(num, den, a.quotient_shift);
        let q = match (overflowed, self.f.overflow) {
            (true, Overflow::Saturate) => QUOTIENT_LIMIT - 1, // still beyond every weight format
            _ => q,
        };
        let magnitude = (q << 1 | u128::from(sticky)) as i128; // < 2^127
        let signed = if m < 0 { -magnitude } else { magnitude };
        let (u, wrapped) = self.round_update(signed, self.f.weight.frac() + GUARD_BITS + 1, register);
        (u, wrapped || overflowed)
    }

    fn sgd_moment(&mut self, m: i64, g: i64, momentum: Option<Constant>) -> i64 {
        let (mf, gf) = (self.f.moment, self.f.gradient);
        match momentum {
            Some(mu) => {
                let (sum, frac) = aligned_sum([
                    (i128::from(m) * i128::from(mu.mant), mf.frac() + mu.shift),
                    (i128::from(g), gf.frac()),
                ]);
                self.round(sum, frac, mf, Signal::Moment)
            }
            None => self.round(i128::from(g), gf.frac(), mf, Signal::Moment),
        }
    }

    fn sgd_update(&mut self, m: i64, lr: Constant, register: QFormat) -> (i128, bool) {
        self.round_update(i128::from(m) * i128::from(lr.mant), self.f.moment.frac() + lr.shift, register)
    }

    /// Rounds an update into the update register.
    fn round_update(&mut self, v: i128, frac: u32, register: QFormat) -> (i128, bool) {
        let (u, overflowed) =
            requantize(v, frac, register, self.f.update_rounding, self.f.overflow, &mut self.update);
        (i128::from(u), overflowed)
    }

    /// `w - u` into the weight format; one Weight count per element that overflowed anywhere.
    fn apply(&mut self, w: i64, (u, overflowed): (i128, bool)) -> i64 {
        let (w, out) = self.f.weight.fit(i128::from(w) - u, self.f.overflow);
        self.sat.add(Signal::Weight, u64::from(out || overflowed));
        w
    }
}

/// The exact sum of two terms `(value, fraction bits)`, aligned to the finer fraction; the
/// caller has checked the widths ([`check_sum`]).
fn aligned_sum(terms: [(i128, u32); 2]) -> (i128, u32) {
    let z = terms[0].1.max(terms[1].1);
    (terms.iter().map(|&(v, frac)| v << (z - frac)).sum(), z)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::golden::qformat::Rounding;
    use crate::optim::{clip_global_norm, Adam, Sgd};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// 27 parameters.
    const D: Dims = Dims { n_x: 4, n_h1: 3, n_h2: 2 };
    /// The paper's nudge and batch.
    const BETA: f64 = 1.25e-3;
    const N: usize = 1797;

    fn q(width: u32, frac: u32) -> QFormat {
        QFormat::new(width, frac).unwrap()
    }

    /// Formats wide enough that rounding is far below 1e-6 of an update, and narrow enough for
    /// the exact 128-bit sums (a 60-bit gradient would need 168 bits for `(1-beta2) g²`).
    fn wide() -> FixedConfig {
        FixedConfig {
            weight: q(48, 32),
            gradient: q(40, 32),
            moment: q(48, 40),
            second_moment: q(62, 56),
            constant: q(40, 32),
            ..FixedConfig::default()
        }
    }

    /// A batch sum with `sum_frac` fraction bits whose EP gradient `sum / (2 beta n)` is
    /// uniform in `±amp`, and that gradient in f64.
    fn random_sum(
        rng: &mut ChaCha8Rng,
        amp: f64,
        beta: f64,
        n: usize,
        sum_frac: u32,
    ) -> (Params<i128>, Params<f64>) {
        let to_sum = 2.0 * beta * n as f64 * pow2(sum_frac.into());
        let mut s = Params::<i128>::zeros(D);
        for v in s.tensors_mut().into_iter().flatten() {
            *v = (rng.random_range(-amp..amp) * to_sum).round() as i128;
        }
        let g = s.map(|v| v as f64 / to_sum);
        (s, g)
    }

    fn random_weights(rng: &mut ChaCha8Rng, w: QFormat) -> Params<i64> {
        let mut p = Params::<i64>::zeros(D);
        for v in p.tensors_mut().into_iter().flatten() {
            *v = w.from_f64(rng.random_range(-0.5..0.5), Overflow::Saturate).unwrap().0;
        }
        p
    }

    /// Runs 20 steps of the fixed core and of `float_step` on the same gradients; checks the
    /// norms and returns the largest float displacement and the largest difference.
    fn track(o: &OptimConfig, mut float_step: impl FnMut(&mut Params<f64>, &Params<f64>)) -> (f64, f64) {
        let f = wide();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut p = random_weights(&mut rng, f.weight);
        let p0 = p.map(|w| f.weight.to_f64(w));
        let mut pf = p0.clone();
        let mut fixed = FixedOptimizer::new(D, &f);
        let mut sat = Saturations::default();
        let mut clipped = 0;
        for step in 0..20 {
            let amp = if step % 2 == 0 { 0.6 } else { 0.05 }; // norms about 1.8 and 0.15
            let (s, mut g) = random_sum(&mut rng, amp, BETA, N, 24);
            let norm = fixed.step(&f, o, BETA, o.lr, &mut p, &s, 24, N, &mut sat).unwrap().norm;
            let want = clip_global_norm(&mut g, o.clip_norm);
            assert!((norm - want).abs() <= 1e-8 * want, "step {step}: norm {norm}, want {want}");
            clipped += usize::from(want > o.clip_norm);
            float_step(&mut pf, &g);
        }
        assert!((1..20).contains(&clipped), "both sides of the clip exercised: {clipped}");
        assert_eq!(sat.total(), 0);
        let got = p.map(|w| f.weight.to_f64(w));
        let moved = pf.values().zip(p0.values()).map(|(x, x0)| (x - x0).abs()).fold(0.0, f64::max);
        let diff = got.values().zip(pf.values()).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        (moved, diff)
    }

    #[test]
    fn adam_with_wide_formats_tracks_float_adam() {
        let o = OptimConfig::default();
        let mut adam = Adam::<f64>::new(D);
        let (moved, diff) = track(&o, |p, g| adam.step(&o, o.lr, p, g));
        assert!(moved > 5e-3, "{moved}");
        assert!(diff <= 1e-6 * moved, "difference {diff} vs displacement {moved}");
    }

    #[test]
    fn sgd_with_momentum_and_wide_formats_tracks_float_sgd() {
        let o = OptimConfig { kind: OptimizerKind::Sgd, lr: 0.05, momentum: 0.9, ..Default::default() };
        let mut sgd = Sgd::<f64>::new(D);
        let (moved, diff) = track(&o, |p, g| sgd.step(&o, o.lr, p, g));
        assert!(moved > 5e-3, "{moved}");
        assert!(diff <= 1e-6 * moved, "difference {diff} vs displacement {moved}");
    }

    /// SGD without momentum or clipping, `beta = 1/2` and `n = 1`: the sum is the gradient.
    fn plain_sgd() -> OptimConfig {
        OptimConfig {
            kind: OptimizerKind::Sgd,
            lr: 1e-3,
            momentum: 0.0,
            clip_norm: 0.0,
            ..Default::default()
        }
    }

    #[test]
    fn overflows_saturate_and_are_counted() {
        // gradient Q(32,24) up to 128, weight Q(16,12) up to 8
        let f = FixedConfig { weight: QFormat::new(16, 12).unwrap(), ..FixedConfig::default() };
        let mut s = Params::<i128>::zeros(D);
        s.w0[0] = 1000 << 24; // g = 1000
        s.w0[1] = -(1 << 100); // beyond the sum port too
        s.b0[0] = -(1 << 24); // g = -1 pushes its weight up
        let mut p = Params::<i64>::zeros(D);
        p.b0[0] = f.weight.max_raw();
        let mut sat = Saturations::default();
        let mut opt = FixedOptimizer::new(D, &f);
        let norm = opt.step(&f, &plain_sgd(), 0.5, 1e-3, &mut p, &s, 24, 1, &mut sat).unwrap().norm;
        assert_eq!((sat.get(Signal::Gradient), sat.get(Signal::Weight), sat.total()), (2, 1, 3));
        assert_eq!(p.b0[0], f.weight.max_raw());
        // the saturated gradients +-128 moved their weights by lr * 128 = 524.288 LSB
        assert_eq!((p.w0[0], p.w0[1]), (-524, 524));
        let want = ((f.gradient.max_value()).powi(2) + f.gradient.min_value().powi(2) + 1.0).sqrt();
        assert!((norm - want).abs() < 1e-6, "{norm} vs {want}");

        // Adam: (1 - beta2) g^2 = 500 overflows the second moment Q(32,30) (up to 2)
        let o = OptimConfig { clip_norm: 0.0, ..Default::default() };
        let mut s = Params::<i128>::zeros(D);
        s.w1[0] = 100 << 24;
        let mut sat = Saturations::default();
        let mut opt = FixedOptimizer::new(D, &f);
        opt.step(&f, &o, 0.5, 1e-3, &mut Params::zeros(D), &s, 24, 1, &mut sat).unwrap();
        assert_eq!((sat.get(Signal::SecondMoment), sat.total()), (1, 1));
        assert_eq!(opt.second_moment.w1[0], f.second_moment.max_raw());
        assert_eq!(f.moment.to_f64(opt.moment.w1[0]), 10.0);
    }

    #[test]
    fn stochastic_rounding_moves_weights_by_sub_lsb_updates_on_average() {
        let lsb = FixedConfig::default().weight.lsb();
        // per element an update of 0.1 .. 0.45 LSB, either sign
        let mut s = Params::<i128>::zeros(D);
        for (i, v) in s.tensors_mut().into_iter().flatten().enumerate() {
            let frac = (0.1 + 0.35 * i as f64 / 26.0) * if i % 2 == 0 { 1.0 } else { -1.0 };
            *v = (frac * lsb / 1e-3 * pow2(24)).round() as i128;
        }
        let expected = s.map(|g| -1e-3 * g as f64 * pow2(-24) / lsb); // LSB per step
        let steps = 2000;
        let run = |rounding: Rounding| {
            let f = FixedConfig { update_rounding: rounding, lfsr_seed: 0xBEEF, ..FixedConfig::default() };
            let mut opt = FixedOptimizer::new(D, &f);
            let mut p = Params::<i64>::zeros(D);
            let mut sat = Saturations::default();
            for _ in 0..steps {
                opt.step(&f, &plain_sgd(), 0.5, 1e-3, &mut p, &s, 24, 1, &mut sat).unwrap();
            }
            assert_eq!(sat.total(), 0);
            (p, (opt.lfsr_gradient, opt.lfsr_update))
        };

        let (p, lfsr) = run(Rounding::HalfEven);
        let seeds = (stream_seed(0xBEEF, 0, Stream::Gradient), stream_seed(0xBEEF, 0, Stream::Update));
        assert_eq!((p, lfsr), (Params::zeros(D), seeds), "half-even never moves and draws nothing");

        let (p, _) = run(Rounding::Stochastic);
        let (mut toward, mut total) = (0.0, 0.0);
        for (got, e) in p.values().zip(expected.values()) {
            let want = steps as f64 * e;
            let frac = e.abs();
            let sd = (steps as f64 * frac * (1.0 - frac)).sqrt();
            assert!((got as f64 - want).abs() <= 5.0 * sd, "moved {got} LSB, expected {want}");
            toward += got as f64 * e.signum();
            total += want.abs();
        }
        assert!((toward / total - 1.0).abs() < 0.03, "mean movement {toward} LSB, expected {total}");
    }

    /// Seven parameters, whose core walk (M = [W0^T ; W1] row-major, bx, b1, b0) differs from
    /// the tensors' order.
    const D7: Dims = Dims { n_x: 2, n_h1: 1, n_h2: 1 };

    #[test]
    fn core_walk_is_the_fused_matrix_then_the_biases() {
        // tensors: W0 0, b0 1, W1 2, b1 3, bx 4
        assert_eq!(D7.core_walk(), [(0, 0), (0, 1), (2, 0), (4, 0), (4, 1), (3, 0), (1, 0)]);
        let d = Dims { n_x: 3, n_h1: 4, n_h2: 2 };
        let mut walk = d.core_walk();
        assert_eq!(walk.len(), d.n_params());
        walk.sort_unstable();
        walk.dedup();
        assert_eq!(walk.len(), d.n_params(), "every parameter once");
    }

    #[test]
    fn stream_seeds_differ_and_are_nonzero() {
        let mut seeds: Vec<u32> = (0..64)
            .flat_map(|u| [Stream::Gradient, Stream::Update].map(|s| stream_seed(1, u, s)))
            .chain([stream_seed(2, 0, Stream::Gradient), stream_seed(u32::MAX, 0, Stream::Update)])
            .collect();
        assert!(seeds.iter().all(|&s| s != 0));
        seeds.sort_unstable();
        seeds.dedup();
        assert_eq!(seeds.len(), 130);
    }

    /// SGD with momentum on seven parameters, replayed by hand: the gradient stream's words for
    /// every g in the core's walk, then the update stream's for each parameter's m' and u in the
    /// same walk (module doc).
    #[test]
    fn stochastic_draws_follow_the_documented_order() {
        let f =
            FixedConfig { update_rounding: Rounding::Stochastic, lfsr_seed: 99, ..FixedConfig::default() };
        let o = OptimConfig {
            kind: OptimizerKind::Sgd,
            lr: 1e-3,
            momentum: 0.9,
            clip_norm: 0.0,
            ..Default::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut s = Params::<i128>::zeros(D7);
        let mut p = Params::<i64>::zeros(D7);
        let mut m0 = Params::<i64>::zeros(D7);
        for ((s, p), m) in s
            .tensors_mut()
            .into_iter()
            .flatten()
            .zip(p.tensors_mut().into_iter().flatten())
            .zip(m0.tensors_mut().into_iter().flatten())
        {
            *s = rng.random_range(-1i128 << 22..1 << 22); // |g| < 4/3
            *p = rng.random_range(-1 << 12..1 << 12);
            *m = rng.random_range(-1 << 20..1 << 20);
        }
        let walk = [(0, 0), (0, 1), (2, 0), (4, 0), (4, 1), (3, 0), (1, 0)];
        let at = |q: &Params<i64>, (t, i): (usize, usize)| q.tensors()[t].1[i];
        let (st, ov) = (Rounding::Stochastic, Overflow::Saturate);
        let mut gl = Lfsr::new(stream_seed(99, 0, Stream::Gradient)).unwrap();
        let mut ul = Lfsr::new(stream_seed(99, 0, Stream::Update)).unwrap();
        let (scale, lr, mu) = (
            Constant::new("scale", 1.0 / (2.0 * 0.5 * 3.0), f.constant).unwrap(),
            Constant::new("lr", 1e-3, f.constant).unwrap(),
            Constant::new("mu", 0.9, f.constant).unwrap(),
        );
        let g: Vec<i64> = walk
            .iter()
            .map(|&(t, i)| {
                let v = s.tensors()[t].1[i] * i128::from(scale.mant);
                requantize(v, 20 + scale.shift, f.gradient, st, ov, &mut gl).0
            })
            .collect();
        let (mf, gf, wf) = (f.moment.frac(), f.gradient.frac(), f.weight.frac());
        let want: Vec<(i64, i64)> = walk
            .iter()
            .zip(&g)
            .map(|(&ti, &g)| {
                let (sum, frac) = aligned_sum([
                    (i128::from(at(&m0, ti)) * i128::from(mu.mant), mf + mu.shift),
                    (i128::from(g), gf),
                ]);
                let m = requantize(sum, frac, f.moment, st, ov, &mut ul).0;
                let v = i128::from(m) * i128::from(lr.mant);
                let u = requantize(v, mf + lr.shift, q(64, wf), st, ov, &mut ul).0;
                (m, at(&p, ti) - u)
            })
            .collect();
        let (mut opt, start) =
            (FixedOptimizer { moment: m0.clone(), ..FixedOptimizer::new(D7, &f) }, p.clone());
        let mut sat = Saturations::default();
        opt.step(&f, &o, 0.5, 1e-3, &mut p, &s, 20, 3, &mut sat).unwrap();
        let got: Vec<(i64, i64)> = walk.iter().map(|&ti| (at(&opt.moment, ti), at(&p, ti))).collect();
        assert_eq!(got, want);
        assert_eq!((opt.lfsr_gradient, opt.lfsr_update, sat.total()), (gl.state(), ul.state(), 0));
        // and the draws mattered: half-even gives other moments
        let fh = FixedConfig { update_rounding: Rounding::HalfEven, ..f.clone() };
        let mut h = FixedOptimizer { moment: m0, ..FixedOptimizer::new(D7, &fh) };
        h.step(&fh, &o, 0.5, 1e-3, &mut start.clone(), &s, 20, 3, &mut sat).unwrap();
        assert_ne!(h.moment, opt.moment);
    }

    /// The gradient stream serves the rows of g alone: from the same state, the same sums draw
    /// the same words whatever follows (clipping, Adam's rows or SGD's), so a second pass over g
    /// from the state saved at the start of the step reproduces every g.
    #[test]
    fn the_gradient_stream_is_independent_of_the_later_rows() {
        let f = FixedConfig { update_rounding: Rounding::Stochastic, lfsr_seed: 7, ..FixedConfig::default() };
        let (s, _) = random_sum(&mut ChaCha8Rng::seed_from_u64(9), 0.5, BETA, N, 20);
        let start = random_weights(&mut ChaCha8Rng::seed_from_u64(10), f.weight);
        let after = |o: &OptimConfig| {
            let mut opt = FixedOptimizer::new(D, &f);
            let mut p = start.clone();
            opt.step(&f, o, BETA, o.lr, &mut p, &s, 20, N, &mut Saturations::default()).unwrap();
            opt
        };
        let adam_clipped = after(&OptimConfig { clip_norm: 0.1, ..Default::default() });
        let sgd = after(&OptimConfig { kind: OptimizerKind::Sgd, clip_norm: 0.0, ..Default::default() });
        assert_eq!(adam_clipped.lfsr_gradient, sgd.lfsr_gradient);
        assert_ne!(adam_clipped.lfsr_update, sgd.lfsr_update, "Adam and the clip draw more");
        // a second pass: the same g from the saved state
        let k = Constants::new(&f, &OptimConfig::default(), BETA, 1e-3, N, 1, 20).unwrap();
        let pass = || {
            let mut sat = Saturations::default();
            let seed = stream_seed(7, 0, Stream::Gradient);
            let mut unit = Unit {
                f: &f,
                gradient: Lfsr::new(seed).unwrap(),
                update: Lfsr::new(1).unwrap(),
                sat: &mut sat,
            };
            let g: Vec<i64> =
                D.core_walk().iter().map(|&(t, i)| unit.gradient(s.tensors()[t].1[i], &k)).collect();
            (g, unit.gradient.state())
        };
        let (first, state) = pass();
        assert_eq!(pass(), (first, state));
        assert_eq!(state, sgd.lfsr_gradient);
    }

    /// Adam with stochastic rounding, `steps` random gradients from a fixed sequence, starting
    /// at step `from`.
    fn adam_run(opt: &mut FixedOptimizer, f: &FixedConfig, p: &mut Params<i64>, from: u64, steps: u64) {
        let o = OptimConfig::default();
        let mut sat = Saturations::default();
        for step in from..from + steps {
            let mut rng = ChaCha8Rng::seed_from_u64(step);
            let (s, _) = random_sum(&mut rng, 0.5, BETA, N, 20);
            opt.step(f, &o, BETA, o.lr, p, &s, 20, N, &mut sat).unwrap();
        }
    }

    #[test]
    fn same_seed_same_bits_and_a_checkpoint_continues_bit_for_bit() {
        let f =
            FixedConfig { update_rounding: Rounding::Stochastic, lfsr_seed: 12345, ..FixedConfig::default() };
        let start = random_weights(&mut ChaCha8Rng::seed_from_u64(1), f.weight);
        let through = |f: &FixedConfig| {
            let (mut opt, mut p) = (FixedOptimizer::new(D, f), start.clone());
            adam_run(&mut opt, f, &mut p, 0, 10);
            (opt, p)
        };
        let (a, pa) = through(&f);
        assert_eq!(through(&f), (a.clone(), pa.clone()));
        assert_ne!(a.lfsr_update, FixedOptimizer::new(D, &f).lfsr_update);
        let other = FixedConfig { lfsr_seed: 54321, ..f.clone() };
        assert_ne!(through(&other).1, pa, "the seed matters");

        let (mut b, mut pb) = (FixedOptimizer::new(D, &f), start.clone());
        adam_run(&mut b, &f, &mut pb, 0, 5);
        let json = serde_json::to_string(&b).unwrap();
        let mut c: FixedOptimizer = serde_json::from_str(&json).unwrap();
        assert_eq!(c, b);
        adam_run(&mut c, &f, &mut pb, 5, 5);
        assert_eq!((c, pb), (a, pa));

        // a checkpoint from before the two streams (one field `lfsr`) resumes on fresh streams
        let mut old: serde_json::Value = serde_json::from_str(&json).unwrap();
        let o = old.as_object_mut().unwrap();
        o.remove("lfsr_gradient");
        o.remove("lfsr_update");
        o.insert("lfsr".into(), 12345.into());
        let old: FixedOptimizer = serde_json::from_value(old).unwrap();
        assert_eq!((old.lfsr_gradient, old.lfsr_update), (0, 0));
        let fresh = FixedOptimizer::new(D, &f);
        let resumed = old.resumed(&f);
        assert_eq!((resumed.lfsr_gradient, resumed.lfsr_update), (fresh.lfsr_gradient, fresh.lfsr_update));
        assert_eq!((resumed.moment, resumed.t), (b.moment.clone(), b.t));
        assert_eq!(b.clone().resumed(&f), b, "a current checkpoint keeps its states");
    }

    #[test]
    fn zero_second_moment_gives_a_bounded_step() {
        let f = FixedConfig::default(); // second moment Q(32,30): sqrt of one LSB is 2^-15
        let o = OptimConfig::default();
        let mut opt = FixedOptimizer::new(D, &f);
        opt.t = 999; // bias corrections ~ 1
        opt.moment.w0[0] = 1 << 14; // 2^-10, with v = 0: as after (1-beta2) g^2 underflowed
        let mut p = Params::<i64>::zeros(D);
        let mut sat = Saturations::default();
        opt.step(&f, &o, BETA, o.lr, &mut p, &Params::zeros(D), 24, N, &mut sat).unwrap();
        assert_eq!((opt.second_moment.w0[0], opt.moment.w0[0]), (0, 14746)); // 0.9 * 2^14
        let m = f.moment.to_f64(opt.moment.w0[0]);
        let (lr_t, c2) = (o.lr / (1.0 - 0.9f64.powi(1000)), 1.0 / (1.0 - 0.95f64.powi(1000)).sqrt());
        let update = lr_t * m / (pow2(-15) * c2 + o.eps) / f.weight.lsb(); // 117.9 LSB
        assert_eq!(p.w0[0], -update.round() as i64);
        assert!(update <= lr_t * m * pow2(15) / f.weight.lsb(), "the documented bound");
        assert_eq!(sat.total(), 0, "eps alone would give {} LSB", lr_t * m / o.eps / f.weight.lsb());
        assert!(p.values().skip(1).all(|w| w == 0), "zero moments leave weights in place");
    }

    #[test]
    fn unfit_settings_are_errors_that_change_nothing() {
        let mut opt = FixedOptimizer::new(D, &FixedConfig::default());
        let mut p = Params::<i64>::zeros(D);
        p.w0[0] = 77;
        let mut run = |f: &FixedConfig, opt: &mut FixedOptimizer, n: usize| {
            let mut s = Params::<i128>::zeros(D);
            s.w0[0] = 1 << 30;
            let o = OptimConfig::default();
            let e = opt.step(f, &o, BETA, o.lr, &mut p, &s, 24, n, &mut Saturations::default());
            e.unwrap_err().to_string()
        };
        let brief =
            FixedConfig { gradient: q(60, 40), second_moment: q(62, 56), constant: q(48, 32), ..wide() };
        let e = run(&brief, &mut opt, N);
        assert!(
            e.contains("gradient Q(60,40)") && e.contains("(1-beta2) g^2") && e.contains("needs 168"),
            "{e}"
        );
        let e = run(&FixedConfig::default(), &mut opt, 0);
        assert!(e.contains("1/(2 relax.beta n)") && e.contains("inf"), "{e}");
        let narrow = FixedConfig { constant: q(8, 4), ..FixedConfig::default() };
        let e = run(&narrow, &mut opt, 1); // 1/(2 beta) = 400
        assert!(e.contains("below 2^7") && e.contains("fixed.constant"), "{e}");
        let seeds = (opt.lfsr_gradient, opt.lfsr_update);
        opt.lfsr_update = 0;
        let e = run(&FixedConfig::default(), &mut opt, N);
        assert!(e.contains("update LFSR state") && e.contains("nonzero"), "{e}");
        (opt.lfsr_gradient, opt.lfsr_update) = (0, seeds.1);
        let e = run(&FixedConfig::default(), &mut opt, N);
        assert!(e.contains("gradient LFSR state") && e.contains("nonzero"), "{e}");
        (opt.lfsr_gradient, opt.lfsr_update) = seeds;
        opt.moment.b1.pop();
        let e = run(&FixedConfig::default(), &mut opt, N);
        assert!(e.contains("differ in shape"), "{e}");
        assert_eq!((opt.t, p.w0[0], (opt.lfsr_gradient, opt.lfsr_update)), (0, 77, seeds));
    }

    #[test]
    fn constants_fill_the_mantissa() {
        let c = q(32, 20);
        let value = 1.0 / (2.0 * BETA * N as f64);
        let k = Constant::new("scale", value, c).unwrap();
        assert!((1 << 30..1 << 31).contains(&k.mant), "{k:?}");
        let back = k.value();
        assert!((back / value - 1.0).abs() <= pow2(-31), "{back} vs {value}");
        // rounding carries into the sign bit: one bit less of shift
        let k = Constant::new("x", 1.0 - pow2(-40), q(8, 0)).unwrap();
        assert_eq!((k.mant, k.shift), (64, 6));
        let k = Constant::new("tiny", f64::from_bits(1), c).unwrap(); // 2^-1074
        assert_eq!((k.mant, k.shift), (1 << 30, 30 + 1074));
        let k = Constant::new("big", 1.5e9, c).unwrap(); // above 2^30: an integer
        assert_eq!((k.mant, k.shift), (1_500_000_000, 0));
        for bad in [-1.0, f64::NAN, 3e9] {
            let e = Constant::new("optim.lr", bad, c).unwrap_err().to_string();
            assert!(e.contains("optim.lr") && e.contains("below 2^31"), "{e}");
        }
        assert_eq!(powu(0.9, 3), 0.9 * 0.9 * 0.9);
        assert!((powu(0.95, 1000) / 0.95f64.powi(1000) - 1.0).abs() < 1e-12);
        assert_eq!(exponent(0.75), -1);
        assert_eq!(exponent(f64::from_bits(3)), -1073);
    }

    /// The clip factor against `clip_norm / (norm + 1e-6)` for clip norms whose mantissa lies
    /// above and below the norm's (the quotient then needs its top bit dropped, or not).
    #[test]
    fn clip_factor_is_the_float_factor_truncated() {
        let f = wide();
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let (mut applied, mut dropped) = (0, 0);
        for clip_norm in [0.3, 0.75, 1.0, 1.5, 1.9, 3.0] {
            let o = OptimConfig { kind: OptimizerKind::Sgd, clip_norm, ..Default::default() };
            for amp in [0.2, 0.6, 1.1] {
                let mut p = random_weights(&mut rng, f.weight);
                let (s, _) = random_sum(&mut rng, amp, BETA, N, 24);
                let mut opt = FixedOptimizer::new(D, &f);
                let r = opt.step(&f, &o, BETA, o.lr, &mut p, &s, 24, N, &mut Saturations::default()).unwrap();
                // the model's den: the floored norm and 1e-6, both in gradient LSBs
                let lsb = f.gradient.lsb();
                let want = clip_norm / ((r.norm_lsb as f64 + (1e-6 / lsb).round()) * lsb);
                match r.clip {
                    Some((mant, frac)) => {
                        let got = mant as f64 * pow2(-i64::from(frac));
                        // truncated: below by at most an LSB of its mantissa, and clip_norm's
                        // rounding to 31 bits (2^-31 relative)
                        let (lsb, rounding) = (pow2(-i64::from(frac)), want * pow2(-30));
                        assert!(
                            got <= want + rounding && want - got <= lsb + rounding,
                            "clip {clip_norm}: {got} vs {want}"
                        );
                        applied += 1;
                        // the quotient's top bit dropped: the mantissa of clip_norm above the norm's
                        let norm_mant = r.norm / pow2(exponent(r.norm));
                        dropped += usize::from(clip_norm / pow2(exponent(clip_norm)) >= norm_mant);
                    }
                    None => assert!(want >= 1.0 - 1e-9, "clip {clip_norm}: no clip at factor {want}"),
                }
            }
        }
        assert!(
            applied >= 6 && dropped >= 2,
            "both quotient widths exercised: {applied} applied, {dropped} dropped"
        );
    }

    #[test]
    fn isqrt_is_the_floor_of_the_root() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut cases = vec![0, 1, 2, 3, 4, 15, 16, 17, 1 << 126, u128::MAX, (u128::from(u64::MAX)).pow(2)];
        cases.extend((0..1000).map(|_| rng.random::<u128>() >> rng.random_range(0..128)));
        for n in cases {
            let r = isqrt(n);
            assert!(r * r <= n, "{n}: {r}");
            if let Some(next) = (r + 1).checked_mul(r + 1) {
                assert!(next > n, "{n}: {r}");
            }
        }
    }

    #[test]
    fn divider_gives_the_floor_and_sticky_bit() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for _ in 0..2000 {
            let (n, d, shift) = (
                rng.random_range(0..1u128 << 40),
                rng.random_range(1..1u128 << 30),
                rng.random_range(-45..45),
            );
            let want = if shift >= 0 {
                let num = n << shift;
                (num / d, num % d != 0)
            } else {
                let den = d << -shift;
                (n / den, n % den != 0)
            };
            assert_eq!(divide(n, d, shift), (want.0, want.1, false), "{n} {d} {shift}");
        }
        // past the limit: the low bits stay exact
        assert_eq!(divide(1 << 125, 1, 2), (0, false, true));
        assert_eq!(divide((3 << 124) + 5, 1, 3), (40, false, true));
        assert_eq!(divide(7, 2, -200), (0, true, false));
    }
}
