//! Lookup tables for the activation `rho(u) = 10 tanh(SiLU(u)/10)` and its derivative `rho'(u)`
//! in the fixed-point datapath: ROMs addressed by the top bits of the state, optionally followed
//! by a linear interpolator. [`ActivationLut::eval`] computes bit for bit what the ROM (and
//! interpolator) compute.
//!
//! # Number model
//!
//! The state `h` is a raw value of the state format `Q(W, F)` ([`QFormat`]); `rho` and `rho'`
//! come out as raw values of their own output formats. With `B = index_bits` and `L = W - B`
//! low bits, the raw state splits into a signed index and an unsigned fraction:
//!
//! ```text
//! h = s · 2^L + r,   s = h >>> L  in [-2^(B-1), 2^(B-1) - 1],   r = h & (2^L - 1)  in [0, 2^L)
//! ```
//!
//! Segment `s` covers the state values `[s · 2^(L-F), (s + 1) · 2^(L-F))`.
//!
//! **Addressing: offset binary.** Index `s` is stored at address `a = s + 2^(B-1)`, i.e. the
//! top `B` bits of `h` with the sign bit inverted: `a = {~h[W-1], h[W-2:L]}`. The tables are
//! thus in increasing input order, and the interpolator's second read `a + 1` never wraps
//! (two's-complement addressing would jump from the last address to 0 between segment `-1`
//! and `0`, and have nowhere to keep the end point of the top segment).
//!
//! **Entries.** Entry `a` holds the function at its segment start `x_a = (a - 2^(B-1)) · 2^(L-F)`,
//! rounded to nearest, ties to even, into the output format (with saturation, which the range
//! checks of [`ActivationLut::new`] leave at most a last-ulp f64 corner to act on):
//!
//! - [`Interpolation::None`]: `2^B` entries, `a = 0 .. 2^B - 1`; the output is entry `a`.
//! - [`Interpolation::Linear`]: `2^B + 1` entries; the extra entry `2^B` is the end point of
//!   the top segment, `x = 2^(W-1-F)` (one state LSB above the state maximum). With
//!   `y0 = entry[a]`, `y1 = entry[a + 1]`:
//!
//!   ```text
//!   p = y0 · 2^L + (y1 - y0) · r              exact: y0 + (y1 - y0) r / 2^L with L fraction bits
//!   y = round_half_even(p / 2^L)              nearest output value, ties to the even y
//!   ```
//!
//!   `p` is exact (i128 here; `WO + L + 1` bits in hardware, `WO` the output width), and the one rounding of the
//!   interpolator is the half-even shift by `L` ([`shift_round`] with [`Rounding::HalfEven`]):
//!   unbiased, like the table entries themselves, where Verilog's bare `>>>` (floor) would
//!   bias the output by -1/2 LSB, at the cost of the one-gate correction below. `p / 2^L` lies
//!   between `y0` and `y1`, so `y` does too and never overflows. At a segment start (`r = 0`)
//!   the output is the entry exactly. With `B = W` there are no low bits and the output is
//!   always `entry[a]`.
//!
//! So rounding happens in exactly two places: once per entry when the tables are built (f64 to
//! the output format, half-even), and, for `Linear`, once per evaluation in the interpolator
//! (half-even shift by `L`).
//!
//! ```verilog
//! wire [B-1:0] a = {~h[W-1], h[W-2:L]};                 // offset-binary address
//! // None:   y = rom[a];
//! // Linear: rom has 2^B + 1 words; r = h[L-1:0], unsigned
//! wire signed [WO-1:0] y0 = rom[a], y1 = rom[a + 1];      // a + 1 on B + 1 bits
//! wire signed [WO+L:0] p = (y0 <<< L) + (y1 - y0) * $signed({1'b0, r});
//! wire signed [WO:0]   q = p >>> L;                       // floor
//! wire up = p[L-1] & (|p[L-2:0] | q[0]);                  // half-even (L = 1: p[0] & q[0])
//! assign y = q + up;                                      // between y0 and y1
//! ```
//!
//! `rho_table` and `drho_table` give the ROM contents as signed raw values; a `$readmemh` file
//! holds their low `WO` bits (two's complement).
//!
//! # Checks
//!
//! [`ActivationLut::new`] rejects:
//!
//! - `index_bits` of 0, above the state width, or above [`MAX_INDEX_BITS`];
//! - a state format that saturates before `rho` has flattened out: its maximum must reach the
//!   input where `rho` attains [`RHO_FLAT_FRACTION`] (99%) of its supremum 10, about 26.47
//!   (`Q(16,10)`, max 32, passes; `Q(16,11)`, max 16, where `rho` is 9.2, fails). The state
//!   minimum is then below -26, where `rho` is within 1e-10 of its limit 0;
//! - an output format whose range does not hold the function's maximum over the inputs the
//!   table samples and approximates (`rho` at the top of the state range, or at the top end
//!   point for `Linear`; `rho'` at its peak 1.0578 near `u = 2.05`), rounded half-even. Both
//!   functions' minima (-0.2785 and -0.0998) are smaller in magnitude than those maxima, and a
//!   format's minimum is `-(max + LSB)`, so the minima always fit too.
//!
//! # Reproducibility
//!
//! The tables are built from f64 `exp` and `tanh`, which the platform's libm may round
//! differently in the last ulp; an entry could only differ where the f64 value lies within a
//! few ulps of a rounding tie, which for output formats of up to ~40 fraction bits is a
//! vanishing chance. Far wider output formats resolve below f64's own error (a few 1e-16 on
//! these O(1) functions), so their low bits are f64 noise. The generated ROMs and the golden
//! model share [`ActivationLut::rho_table`] and [`ActivationLut::drho_table`], so they agree
//! by construction.
//!
//! Length: the file passes 800 lines only through its unit tests (`mod tests`, a quarter of it or
//! more), kept beside the code they check.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::qformat::{shift_round, Lfsr, Overflow, QFormat, Rounding};

/// Largest `lut.index_bits`: ROMs of 2^20 (+1) words.
pub const MAX_INDEX_BITS: u32 = 20;

/// The state range must reach the input where `rho` attains this fraction of its supremum.
pub const RHO_FLAT_FRACTION: f64 = 0.99;

/// `rho`'s supremum: `rho(u) -> 10` as `u -> ∞`.
const RHO_SUP: f64 = 10.0;

/// [`ActivationLut::max_error`] tries every state value up to this width and a sweep of
/// `2^SWEEP_BITS` values beyond.
const SWEEP_BITS: u32 = 20;

/// What the ROM output goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interpolation {
    /// The entry of the segment: a zero-order hold.
    None,
    /// Between the entries at the segment's start and end, by the low state bits.
    Linear,
}

/// The `lut` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LutConfig {
    /// `2^index_bits` segments, addressed by the top `index_bits` bits of the state.
    pub index_bits: u32,
    pub interpolation: Interpolation,
}

/// As the config writes it: `{index_bits: 10, interpolation: linear}`.
impl std::fmt::Display for LutConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let how = match self.interpolation {
            Interpolation::None => "none",
            Interpolation::Linear => "linear",
        };
        write!(f, "{{index_bits: {}, interpolation: {how}}}", self.index_bits)
    }
}

/// Why a table was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Error)]
pub enum LutError {
    #[error("lut.index_bits 0 must be at least 1")]
    ZeroIndexBits,
    #[error("lut.index_bits {index_bits} exceeds the state width {width}")]
    IndexBitsExceedWidth { index_bits: u32, width: u32 },
    #[error("lut.index_bits {0} exceeds {MAX_INDEX_BITS}: a ROM of 2^{0} entries is too large")]
    IndexBitsTooLarge(u32),
    #[error(
        "state format Q({},{}) tops out at {}, below {needed} where rho reaches {}% of its \
         supremum {RHO_SUP}: the state would saturate before rho does",
        .state.width(), .state.frac(), .state.max_value(), RHO_FLAT_FRACTION * 100.0
    )]
    StateTooNarrow { state: QFormat, needed: f64 },
    #[error(
        "{function} reaches {value} at input {input}, above the max {} of its format Q({},{})",
        .format.max_value(), .format.width(), .format.frac()
    )]
    OutputTooNarrow { function: &'static str, value: f64, input: f64, format: QFormat },
}

/// The `rho` and `rho'` ROMs of one state format, and their interpolator.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivationLut {
    state: QFormat,
    rho_format: QFormat,
    drho_format: QFormat,
    config: LutConfig,
    rho: Vec<i64>,
    drho: Vec<i64>,
    /// For the vectorised interpolation when both outputs have at most 16 bits: per segment,
    /// `rho[a], rho[a+1], rho'[a], rho'[a+1]` as four 16-bit fields of one word (lowest first),
    /// so that one gather fetches all four.
    segments: Vec<i64>,
}

impl ActivationLut {
    /// Builds both tables (see the module doc for the entries and the checks).
    pub fn new(
        state: QFormat,
        rho_format: QFormat,
        drho_format: QFormat,
        config: &LutConfig,
    ) -> Result<Self, LutError> {
        let index_bits = config.index_bits;
        if index_bits == 0 {
            return Err(LutError::ZeroIndexBits);
        }
        if index_bits > state.width() {
            return Err(LutError::IndexBitsExceedWidth { index_bits, width: state.width() });
        }
        if index_bits > MAX_INDEX_BITS {
            return Err(LutError::IndexBitsTooLarge(index_bits));
        }
        let needed = rho_flat_input();
        if state.max_value() < needed {
            return Err(LutError::StateTooNarrow { state, needed });
        }

        let entries = (1usize << index_bits) + usize::from(config.interpolation == Interpolation::Linear);
        // Segment width 2^(L-F) and the start of entry a: exact (a power of two times an
        // integer below 2^20).
        let segment = (1u64 << (state.width() - index_bits)) as f64 * state.lsb();
        let start = |a: usize| (a as f64 - (1u64 << (index_bits - 1)) as f64) * segment;

        // rho falls to its minimum near u = -1.28 and rises from there, so its maximum over the
        // inputs is at the top one (where it exceeds 9.9); rho' peaks inside the state range.
        let top = state.max_value().max(start(entries - 1));
        let peak = drho_peak_input();
        for (function, input, value, format) in [
            ("rho", top, rho_and_derivative(top).0, rho_format),
            ("rho'", peak, rho_and_derivative(peak).1, drho_format),
        ] {
            if quantize(format, value).1 {
                return Err(LutError::OutputTooNarrow { function, value, input, format });
            }
        }

        let (rho, drho): (Vec<i64>, Vec<i64>) = (0..entries)
            .map(|a| {
                let (r, d) = rho_and_derivative(start(a));
                (quantize(rho_format, r).0, quantize(drho_format, d).0)
            })
            .unzip();
        let packable = config.interpolation == Interpolation::Linear
            && rho_format.width().max(drho_format.width()) <= 16;
        let field = |v: i64, k: u32| (v & 0xFFFF) << (16 * k);
        let segments = match packable {
            true => (0..rho.len() - 1)
                .map(|a| field(rho[a], 0) | field(rho[a + 1], 1) | field(drho[a], 2) | field(drho[a + 1], 3))
                .collect(),
            false => Vec::new(),
        };
        Ok(Self { state, rho_format, drho_format, config: config.clone(), rho, drho, segments })
    }

    /// `(rho(h), rho'(h))` as raw values of their formats, for a raw state value `h`, exactly
    /// as the ROMs and the interpolator compute them (module doc).
    ///
    /// # Panics
    /// If `h` is outside the state format's raw range.
    pub fn eval(&self, h: i64) -> (i64, i64) {
        let state = self.state;
        assert!(
            (state.min_raw()..=state.max_raw()).contains(&h),
            "state value {h} out of range of Q({},{})",
            state.width(),
            state.frac()
        );
        let low = state.width() - self.config.index_bits;
        // (h >>> L) + 2^(B-1) lies in [0, 2^B): the offset-binary address.
        let a = ((h >> low) + (1 << (self.config.index_bits - 1))) as usize;
        match self.config.interpolation {
            Interpolation::None => (self.rho[a], self.drho[a]),
            Interpolation::Linear => {
                let r = i128::from(h) & ((1 << low) - 1);
                let lerp = |table: &[i64]| {
                    let (y0, y1) = (i128::from(table[a]), i128::from(table[a + 1]));
                    // |y0 · 2^L| < 2^126, |(y1 - y0) · r| < 2^64 · 2^63, and the sum, which is
                    // between y0 · 2^L and y1 · 2^L, below 2^126: no overflow. The rounded
                    // quotient lies in [y0, y1]: the cast is exact.
                    let p = (y0 << low) + (y1 - y0) * r;
                    shift_round(p, low, Rounding::HalfEven, &mut no_draws()) as i64
                };
                (lerp(&self.rho), lerp(&self.drho))
            }
        }
    }

    /// [`ActivationLut::eval`] of every value of `h` (which must lie in the state range), in i64
    /// arithmetic where that is exact (outputs and interpolation products below 2^62): the fast
    /// path of the golden model, bit-identical to `eval` (tested).
    pub fn eval_slice(&self, h: &[i64], rho: &mut [i64], drho: &mut [i64]) {
        crate::real::widest_simd(EvalSlice { this: self, h, rho, drho })
    }

    /// The `rho` ROM: raw values in address order (offset binary, module doc).
    pub fn rho_table(&self) -> &[i64] {
        &self.rho
    }

    /// The `rho'` ROM: raw values in address order (offset binary, module doc).
    pub fn drho_table(&self) -> &[i64] {
        &self.drho
    }

    pub fn state_format(&self) -> QFormat {
        self.state
    }

    pub fn rho_format(&self) -> QFormat {
        self.rho_format
    }

    pub fn drho_format(&self) -> QFormat {
        self.drho_format
    }

    pub fn config(&self) -> &LutConfig {
        &self.config
    }

    /// Largest `|eval - f64 function|` for `rho` and `rho'`, in LSBs of their formats, over
    /// every state value for states up to 20 bits wide; for wider states over the
    /// `2^20` values `min_raw + k · (2^(W-20) - 1)` (the odd stride varies the low,
    /// interpolated bits) and `max_raw`.
    pub fn max_error(&self) -> (f64, f64) {
        let state = self.state;
        let (count, stride) = match state.width().checked_sub(SWEEP_BITS) {
            Some(extra @ 1..) => (1i128 << SWEEP_BITS, (1i128 << extra) - 1),
            _ => (1i128 << state.width(), 1),
        };
        // min_raw + (count - 1) · stride <= max_raw: the casts are exact.
        let sweep = (0..count).map(|k| (i128::from(state.min_raw()) + k * stride) as i64);
        sweep.chain([state.max_raw()]).fold((0.0, 0.0), |(er, ed), h| {
            let (r, d) = rho_and_derivative(state.to_f64(h));
            let (qr, qd) = self.eval(h);
            let error = |f: QFormat, q: i64, x: f64| (f.to_f64(q) - x).abs() / f.lsb();
            (f64::max(er, error(self.rho_format, qr, r)), f64::max(ed, error(self.drho_format, qd, d)))
        })
    }
}

/// [`ActivationLut::eval_slice`] as a loop for [`crate::real::widest_simd`].
struct EvalSlice<'a> {
    this: &'a ActivationLut,
    h: &'a [i64],
    rho: &'a mut [i64],
    drho: &'a mut [i64],
}

impl crate::real::SimdKernel for EvalSlice<'_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let EvalSlice { this, h, rho, drho } = self;
        let low = this.state.width() - this.config.index_bits;
        let out_bits = this.rho_format.width().max(this.drho_format.width());
        if out_bits + low + 2 > 62 {
            for ((&h, r), d) in h.iter().zip(rho.iter_mut()).zip(drho.iter_mut()) {
                (*r, *d) = this.eval(h);
            }
            return;
        }
        let offset = 1i64 << (this.config.index_bits - 1);
        let (rt, dt) = (&this.rho[..], &this.drho[..]);
        match this.config.interpolation {
            Interpolation::None => {
                for ((&h, r), d) in h.iter().zip(rho.iter_mut()).zip(drho.iter_mut()) {
                    // In range for states in range; the clamp only lets the compiler drop the
                    // bounds checks (and so vectorise the loop).
                    let a = (((h >> low) + offset) as usize).min(rt.len() - 1).min(dt.len() - 1);
                    (*r, *d) = (rt[a], dt[a]);
                }
            }
            Interpolation::Linear => {
                let mask = (1i64 << low) - 1;
                // Half-even shift by L without branches: (p + 2^(L-1) - 1 + floor's low bit) >> L.
                let (bias, odd) = if low == 0 { (0, 0) } else { ((1i64 << (low - 1)) - 1, 1) };
                let lerp = |y0: i64, y1: i64, r: i64| {
                    let p = (y0 << low) + (y1 - y0) * r;
                    (p + bias + ((p >> low) & odd)) >> low
                };
                let last = rt.len().min(dt.len()) - 2;
                #[allow(unused_mut)]
                let mut done = 0;
                #[cfg(target_arch = "x86_64")]
                if !this.segments.is_empty()
                    && std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512dq")
                {
                    let consts = LerpConsts { low, offset, last, bias, odd };
                    // SAFETY: the CPU has the features; the function's own gathers are in bounds.
                    done = unsafe { lerp_avx512(h, rho, drho, &this.segments, consts) };
                }
                let (h, rho, drho) = (&h[done..], &mut rho[done..], &mut drho[done..]);
                for ((&h, r), d) in h.iter().zip(rho.iter_mut()).zip(drho.iter_mut()) {
                    // As above: the clamp is a no-op for states in range.
                    let a = (((h >> low) + offset) as usize).min(last);
                    let frac = h & mask;
                    *r = lerp(rt[a], rt[a + 1], frac);
                    *d = lerp(dt[a], dt[a + 1], frac);
                }
            }
        }
    }
}

/// The constants of the interpolation loop (see `EvalSlice`).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct LerpConsts {
    low: u32,
    offset: i64,
    /// Highest first address of a segment (the table length minus 2).
    last: usize,
    bias: i64,
    odd: i64,
}

/// The interpolating LUT on 8 states at a time with AVX-512 (the compiler does not vectorise
/// table reads by itself): one gather of the packed segment words, then the same integer
/// operations as the scalar loop, so the same bits. Returns how many leading values it did (a
/// multiple of 8).
///
/// # Safety
/// The CPU must have AVX-512F and AVX-512DQ. Addresses are clamped to `[0, c.last]`, and
/// `segments` has `c.last + 1` entries, so every gather stays in bounds (asserted).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
unsafe fn lerp_avx512(
    h: &[i64],
    rho: &mut [i64],
    drho: &mut [i64],
    segments: &[i64],
    c: LerpConsts,
) -> usize {
    use std::arch::x86_64::*;
    assert!(segments.len() > c.last);
    let n = h.len().min(rho.len()).min(drho.len()) / 8 * 8;
    let shift = _mm_cvtsi64_si128(i64::from(c.low));
    let (offset, last) = (_mm512_set1_epi64(c.offset), _mm512_set1_epi64(c.last as i64));
    let (mask, bias, odd) =
        (_mm512_set1_epi64((1i64 << c.low) - 1), _mm512_set1_epi64(c.bias), _mm512_set1_epi64(c.odd));
    // Sign-extends 16-bit field K of each word: shift it to the top, then arithmetically down.
    macro_rules! field {
        ($w:expr, $k:literal) => {
            _mm512_srai_epi64::<48>(_mm512_slli_epi64::<{ 48 - 16 * $k }>($w))
        };
    }
    for i in (0..n).step_by(8) {
        let hv = _mm512_loadu_si512(h.as_ptr().add(i).cast());
        let a = _mm512_add_epi64(_mm512_sra_epi64(hv, shift), offset);
        let a = _mm512_min_epi64(_mm512_max_epi64(a, _mm512_setzero_si512()), last);
        let frac = _mm512_and_si512(hv, mask);
        let w = _mm512_i64gather_epi64::<8>(a, segments.as_ptr());
        let lerp = |y0: __m512i, y1: __m512i| {
            let p = _mm512_add_epi64(
                _mm512_sll_epi64(y0, shift),
                _mm512_mullo_epi64(_mm512_sub_epi64(y1, y0), frac),
            );
            let floor_odd = _mm512_and_si512(_mm512_sra_epi64(p, shift), odd);
            _mm512_sra_epi64(_mm512_add_epi64(_mm512_add_epi64(p, bias), floor_odd), shift)
        };
        _mm512_storeu_si512(rho.as_mut_ptr().add(i).cast(), lerp(field!(w, 0), field!(w, 1)));
        _mm512_storeu_si512(drho.as_mut_ptr().add(i).cast(), lerp(field!(w, 2), field!(w, 3)));
    }
    n
}

/// `(rho(u), rho'(u))` in f64, with `sigma(u) = 1/(1 + e^-u)`, `SiLU(u) = u sigma(u)`:
/// `rho = 10 tanh(SiLU/10)`, `rho' = (1 - tanh^2(SiLU/10)) sigma (1 + u (1 - sigma))`.
/// Finite for every finite `u`.
fn rho_and_derivative(u: f64) -> (f64, f64) {
    let sigmoid = 1.0 / (1.0 + (-u).exp());
    let th = (u * sigmoid / RHO_SUP).tanh();
    (RHO_SUP * th, (1.0 - th * th) * sigmoid * (1.0 + u * (1.0 - sigmoid)))
}

/// Nearest raw value of `format` to `x`, ties to even, saturated; and whether it saturated.
fn quantize(format: QFormat, x: f64) -> (i64, bool) {
    format.from_f64(x, Overflow::Saturate).expect("rho and rho' are finite for finite inputs")
}

/// Half-even rounding draws no LFSR bits; `shift_round` still takes a generator.
fn no_draws() -> Lfsr {
    Lfsr::new(1).expect("1 is a nonzero seed")
}

/// The smallest u (to f64 precision) with `rho(u) >= RHO_FLAT_FRACTION · 10`, by bisection on
/// [0, 64], where rho increases from 0 to above 9.99.
fn rho_flat_input() -> f64 {
    let target = RHO_FLAT_FRACTION * RHO_SUP;
    let (mut lo, mut hi) = (0.0, 64.0);
    loop {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            return hi;
        }
        if rho_and_derivative(mid).0 < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
}

/// Where rho' peaks (near 2.05), by ternary search on [1, 3], where rho' rises then falls.
fn drho_peak_input() -> f64 {
    let drho = |u| rho_and_derivative(u).1;
    let (mut lo, mut hi) = (1.0, 3.0);
    for _ in 0..100 {
        let third = (hi - lo) / 3.0;
        if drho(lo + third) < drho(hi - third) {
            lo += third;
        } else {
            hi -= third;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn q(width: u32, frac: u32) -> QFormat {
        QFormat::new(width, frac).unwrap()
    }

    fn config(index_bits: u32, interpolation: Interpolation) -> LutConfig {
        LutConfig { index_bits, interpolation }
    }

    fn lut(state: QFormat, rho: QFormat, drho: QFormat, b: u32, i: Interpolation) -> ActivationLut {
        ActivationLut::new(state, rho, drho, &config(b, i)).unwrap()
    }

    fn error(state: QFormat, rho: QFormat, drho: QFormat, b: u32, i: Interpolation) -> String {
        ActivationLut::new(state, rho, drho, &config(b, i)).unwrap_err().to_string()
    }

    /// The reasonable datapath: Q(16,10) state, Q(16,11) rho, Q(16,14) rho'.
    fn datapath(b: u32, i: Interpolation) -> ActivationLut {
        lut(q(16, 10), q(16, 11), q(16, 14), b, i)
    }

    const BOTH: [Interpolation; 2] = [Interpolation::None, Interpolation::Linear];

    /// The i64 fast path equals `eval` on every state value (and the wide fallback on a sweep).
    #[test]
    fn eval_slice_equals_eval_everywhere() {
        for (state, b) in [(q(16, 10), 10), (q(16, 10), 6), (q(12, 6), 8), (q(48, 40), 20)] {
            for i in BOTH {
                let t = lut(state, state, q(state.width(), state.width() - 2), b, i);
                let step = ((state.max_raw() - state.min_raw()) / 70_000).max(1) as usize;
                let h: Vec<i64> =
                    (state.min_raw()..=state.max_raw()).step_by(step).chain([state.max_raw()]).collect();
                let (mut r, mut d) = (vec![0; h.len()], vec![0; h.len()]);
                t.eval_slice(&h, &mut r, &mut d);
                for (k, &h) in h.iter().enumerate() {
                    assert_eq!(
                        (r[k], d[k]),
                        t.eval(h),
                        "Q({},{}) b={b} {i:?} h={h}",
                        state.width(),
                        state.frac()
                    );
                }
            }
        }
    }

    /// rho and rho' written differently: SiLU as a quotient, rho' as sigma + SiLU (1 - sigma).
    fn reference_rho(u: f64) -> (f64, f64) {
        let silu = u / (1.0 + (-u).exp());
        let sigma = 1.0 / (1.0 + (-u).exp());
        let th = (silu / 10.0).tanh();
        (10.0 * th, (1.0 - th * th) * (sigma + silu * (1.0 - sigma)))
    }

    /// Nearest multiple of 2^-frac, ties to even, in LSBs (no range check: the caller's
    /// formats hold the value).
    fn reference_round(x: f64, frac: u32) -> i64 {
        (x * 2f64.powi(frac as i32)).round_ties_even() as i64
    }

    /// `raw` is `x` rounded half-even into `format`. Bit for bit up to 24 fraction bits, where
    /// the f64 error of rho and rho' (a few ulps of `max(|x|, 1)`, the scale of their terms) is
    /// 10^-8 LSB and cannot cross a tie; beyond, f64 itself is coarse against the LSB, and the
    /// entry must be within half an LSB plus 4 such ulps.
    fn assert_rounded(raw: i64, x: f64, format: QFormat, what: &str) {
        if format.frac() <= 24 {
            assert_eq!(raw, reference_round(x, format.frac()), "{what}");
        } else {
            let error = (format.to_f64(raw) - x).abs();
            let ulps = 4.0 * f64::EPSILON * x.abs().max(1.0);
            assert!(error <= 0.5 * format.lsb() + ulps, "{what}: {raw} vs {x}");
        }
    }

    /// `(address, low bits)` from the offset `h - min_raw`, which counts up from 0 at the
    /// bottom of the state range.
    fn reference_split(state: QFormat, b: u32, h: i64) -> (usize, i128) {
        let offset = i128::from(h) - i128::from(state.min_raw());
        let segment = 1i128 << (state.width() - b);
        ((offset / segment) as usize, offset % segment)
    }

    /// The interpolator as a weighted mean `(y0 (2^L - r) + y1 r) / 2^L`, rounded to nearest,
    /// ties to even, with Euclidean division.
    fn reference_eval(lut: &ActivationLut, h: i64) -> (i64, i64) {
        let state = lut.state_format();
        let b = lut.config().index_bits;
        let (a, r) = reference_split(state, b, h);
        let pick = |table: &[i64]| match lut.config().interpolation {
            Interpolation::None => table[a],
            Interpolation::Linear => {
                let den = 1i128 << (state.width() - b);
                let num = i128::from(table[a]) * (den - r) + i128::from(table[a + 1]) * r;
                let (quot, rem) = (num.div_euclid(den), num.rem_euclid(den));
                let up = 2 * rem > den || (2 * rem == den && quot.rem_euclid(2) == 1);
                (quot + i128::from(up)) as i64
            }
        };
        (pick(lut.rho_table()), pick(lut.drho_table()))
    }

    #[test]
    fn small_tables_match_hand_computed_values() {
        // Q(7,1) state, 3 index bits: segments of 8 starting at -32, -24, ..., 24; end point 32.
        // Entries and outputs from an independent computation (Python: math, Fraction, round).
        let l = lut(q(7, 1), q(10, 5), q(8, 6), 3, Interpolation::Linear);
        assert_eq!(l.rho_table(), [0, 0, 0, 0, 0, 212, 295, 315, 319]);
        assert_eq!(l.drho_table(), [0, 0, 0, 0, 32, 36, 10, 2, 0]);
        for (h, rho, drho) in [
            (-64, 0, 0),  // most negative state: entry 0
            (-1, 0, 30),  // a = 3, r = 15: drho (0 + 15 · 32) / 16
            (0, 0, 32),   // segment start of u = 0: rho 0, rho' 1/2
            (1, 13, 32),  // 53/4 and 129/4
            (5, 66, 33),  // 265/4 and 133/4
            (8, 106, 34), // exact
            (62, 318, 0), // 637/2: tie to even; 1/4
            (63, 319, 0), // most positive state: 1275/4 between entry 7 and the end point
        ] {
            assert_eq!(l.eval(h), (rho, drho), "h = {h}");
        }
        let l = lut(q(7, 1), q(10, 5), q(8, 6), 3, Interpolation::None);
        assert_eq!(l.rho_table(), [0, 0, 0, 0, 0, 212, 295, 315]);
        assert_eq!(l.drho_table(), [0, 0, 0, 0, 32, 36, 10, 2]);
        assert_eq!(l.eval(63), (315, 2));
        assert_eq!(l.eval(-64), (0, 0));
        assert_eq!(l.eval(-1), (0, 0));
        assert_eq!(l.eval(0), (0, 32));
    }

    #[test]
    fn tables_are_the_functions_rounded_at_segment_starts() {
        for (state, rho, drho, b) in [
            (q(16, 10), q(16, 11), q(16, 14), 8),
            (q(12, 6), q(10, 5), q(8, 6), 12),
            (q(32, 20), q(24, 19), q(20, 18), 14),
            (q(64, 58), q(64, 59), q(64, 62), 9),
        ] {
            for i in BOTH {
                let l = lut(state, rho, drho, b, i);
                let entries = (1 << b) + usize::from(i == Interpolation::Linear);
                assert_eq!(l.rho_table().len(), entries);
                assert_eq!(l.drho_table().len(), entries);
                let segment = 2f64.powi(state.width() as i32 - b as i32 - state.frac() as i32);
                for a in 0..entries {
                    let u = (a as i64 - (1 << (b - 1))) as f64 * segment;
                    let (r, d) = reference_rho(u);
                    assert_rounded(l.rho_table()[a], r, rho, &format!("rho {state:?} {i:?} a = {a}"));
                    assert_rounded(l.drho_table()[a], d, drho, &format!("rho' {state:?} {i:?} a = {a}"));
                }
                // u = 0 is at address 2^(B-1): rho(0) = 0, rho'(0) = 1/2
                let zero = 1 << (b - 1);
                assert_eq!(l.rho_table()[zero], 0);
                assert_eq!(l.drho_table()[zero], 1 << (drho.frac() - 1));
            }
        }
    }

    #[test]
    fn none_outputs_the_segment_entry_for_every_state() {
        let state = q(10, 4);
        let l = lut(state, q(10, 5), q(8, 6), 6, Interpolation::None);
        for h in state.min_raw()..=state.max_raw() {
            let (a, _) = reference_split(state, 6, h);
            assert_eq!(l.eval(h), (l.rho_table()[a], l.drho_table()[a]), "h = {h}");
        }
    }

    #[test]
    fn linear_matches_rational_reference_for_every_state() {
        let state = q(10, 4);
        for b in 1..=10 {
            let l = lut(state, q(10, 5), q(8, 6), b, Interpolation::Linear);
            for h in state.min_raw()..=state.max_raw() {
                assert_eq!(l.eval(h), reference_eval(&l, h), "b = {b}, h = {h}");
                let (a, r) = reference_split(state, b, h);
                if r == 0 {
                    assert_eq!(l.eval(h), (l.rho_table()[a], l.drho_table()[a]), "b = {b}, h = {h}");
                }
            }
        }
    }

    /// Formats that pass the checks: the state reaches 32 or more, rho's format 16 or more,
    /// rho''s format 2 or more.
    fn lut_and_states() -> impl Strategy<Value = (ActivationLut, Vec<i64>)> {
        let format = |min_width: u32, int_bits: u32| {
            (min_width..=64u32).prop_flat_map(move |w| (0..=w - int_bits).prop_map(move |f| q(w, f)))
        };
        (format(7, 6), format(5, 5), format(2, 2), any::<bool>())
            .prop_flat_map(|(state, rho, drho, linear)| {
                let i = if linear { Interpolation::Linear } else { Interpolation::None };
                (Just((state, rho, drho, i)), 1..=state.width().min(10))
            })
            .prop_flat_map(|((state, rho, drho, i), b)| {
                let h = prop_oneof![
                    state.min_raw()..=state.max_raw(),
                    Just(state.min_raw()),
                    Just(state.max_raw()),
                ];
                (Just(lut(state, rho, drho, b, i)), proptest::collection::vec(h, 32))
            })
    }

    proptest! {
        #[test]
        fn eval_matches_reference_on_random_formats((l, hs) in lut_and_states()) {
            for h in hs {
                prop_assert_eq!(l.eval(h), reference_eval(&l, h), "h = {}", h);
            }
        }
    }

    #[test]
    fn extreme_states_read_the_first_entry_and_the_end_point() {
        for (state, rho, drho, b) in
            [(q(16, 10), q(16, 11), q(16, 14), 8), (q(64, 58), q(64, 59), q(64, 62), 12)]
        {
            let (top, low) = (1usize << b, state.width() - b);
            let (lo, hi) = (state.min_raw(), state.max_raw());
            let segment = 2f64.powi(low as i32 - state.frac() as i32);
            let end_u = -state.min_value(); // 2^(W-1-F), one LSB above the maximum
            for i in BOTH {
                let l = lut(state, rho, drho, b, i);
                let entry = |a: usize| (l.rho_table()[a], l.drho_table()[a]);
                let check = |a: usize, u: f64| {
                    let (r, d) = reference_rho(u);
                    assert_rounded(entry(a).0, r, rho, &format!("rho {state:?} {i:?} a = {a}"));
                    assert_rounded(entry(a).1, d, drho, &format!("rho' {state:?} {i:?} a = {a}"));
                };
                // most negative state: address 0, no low bits, the start of the state range
                assert_eq!(l.eval(lo), entry(0));
                check(0, state.min_value());
                // most positive state: the top segment, all low bits set
                let last = entry(top - 1);
                check(top - 1, end_u - segment);
                match i {
                    Interpolation::None => assert_eq!(l.eval(hi), last),
                    Interpolation::Linear => {
                        check(top, end_u);
                        let (end, got) = (entry(top), l.eval(hi));
                        assert_eq!(got, reference_eval(&l, hi));
                        for (y, y0, y1) in [(got.0, last.0, end.0), (got.1, last.1, end.1)] {
                            assert!((y0.min(y1)..=y0.max(y1)).contains(&y), "{y} not in {y0}..{y1}");
                            assert!((y1 - y).abs() <= 1 + ((y1 - y0).abs() >> low), "{y} far from {y1}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "state value 32768 out of range of Q(16,10)")]
    fn eval_rejects_a_value_outside_the_state_format() {
        datapath(8, Interpolation::Linear).eval(1 << 15);
    }

    /// Largest |f'| and |f''| of `f` on [-32, 32] by finite differences, with 5% margin.
    fn derivative_bounds(f: impl Fn(f64) -> f64) -> (f64, f64) {
        let step = 1e-3;
        let (mut m1, mut m2) = (0f64, 0f64);
        for k in -32_000..32_000 {
            let u = f64::from(k) * step;
            let (a, b, c) = (f(u - step), f(u), f(u + step));
            m1 = m1.max(((c - b) / step).abs());
            m2 = m2.max(((c - 2.0 * b + a) / (step * step)).abs());
        }
        (1.05 * m1, 1.05 * m2)
    }

    #[test]
    fn max_error_shrinks_as_index_bits_grow() {
        for i in BOTH {
            let errors: Vec<_> = (6..=12).map(|b| datapath(b, i).max_error()).collect();
            for pair in errors.windows(2) {
                assert!(pair[1].0 < pair[0].0 && pair[1].1 < pair[0].1, "{i:?}: {errors:?}");
            }
        }
    }

    #[test]
    fn max_error_is_within_rounding_plus_approximation_bounds() {
        let (rho1, rho2) = derivative_bounds(|u| reference_rho(u).0);
        let (drho1, drho2) = derivative_bounds(|u| reference_rho(u).1);
        let (lsb, dlsb) = (q(16, 11).lsb(), q(16, 14).lsb());
        for b in 8..=10 {
            let step = 2f64.powi(6 - b as i32); // segment width 2^(16 - b - 10)
                                                // zero-order hold: half an LSB of table rounding plus the slope over a segment
            let (e, de) = datapath(b, Interpolation::None).max_error();
            assert!(e <= 0.5 + step * rho1 / lsb, "b = {b}: {e}");
            assert!(de <= 0.5 + step * drho1 / dlsb, "b = {b}: {de}");
            // linear: half an LSB at the entries, half in the interpolator, plus step^2/8 |f''|
            let (e, de) = datapath(b, Interpolation::Linear).max_error();
            assert!(e <= 1.0 + step * step / 8.0 * rho2 / lsb, "b = {b}: {e}");
            assert!(de <= 1.0 + step * step / 8.0 * drho2 / dlsb, "b = {b}: {de}");
        }
        // measured, for the docs: an error above one LSB means the segments are too coarse
        let (e, de) = datapath(10, Interpolation::Linear).max_error();
        assert!((1.0..1.5).contains(&e) && (3.0..4.0).contains(&de), "{e} {de}");
        let (e, de) = datapath(12, Interpolation::Linear).max_error();
        assert!(e < 1.0 && de < 1.2, "{e} {de}");
    }

    #[test]
    fn max_error_sweeps_wide_states() {
        // 2^24 states: the sampled sweep; bounds as above, scaled to these LSBs
        let l = lut(q(24, 18), q(24, 19), q(24, 22), 12, Interpolation::Linear);
        let (_, rho2) = derivative_bounds(|u| reference_rho(u).0);
        let (_, drho2) = derivative_bounds(|u| reference_rho(u).1);
        let step = 2f64.powi(24 - 12 - 18);
        let (e, de) = l.max_error();
        assert!(e <= 1.0 + step * step / 8.0 * rho2 / q(24, 19).lsb(), "{e}");
        assert!(de <= 1.0 + step * step / 8.0 * drho2 / q(24, 22).lsb(), "{de}");
        // the interpolation error dominates: the sweep found points well inside segments
        assert!(e > 4.0 && de > 20.0, "{e} {de}");
    }

    #[test]
    fn rejects_bad_index_bits() {
        let (s, r, d) = (q(16, 10), q(16, 11), q(16, 14));
        assert_eq!(error(s, r, d, 0, Interpolation::None), "lut.index_bits 0 must be at least 1");
        assert_eq!(error(s, r, d, 17, Interpolation::Linear), "lut.index_bits 17 exceeds the state width 16");
        assert_eq!(
            error(q(32, 20), r, d, 21, Interpolation::None),
            "lut.index_bits 21 exceeds 20: a ROM of 2^21 entries is too large"
        );
        // the limits themselves are accepted
        assert_eq!(lut(s, r, d, 16, Interpolation::Linear).rho_table().len(), (1 << 16) + 1);
        assert_eq!(lut(q(32, 20), r, d, 20, Interpolation::None).rho_table().len(), 1 << 20);
        assert_eq!(lut(q(7, 1), r, d, 1, Interpolation::None).rho_table().len(), 2);
    }

    #[test]
    fn rejects_a_state_that_saturates_before_rho_flattens() {
        // rho(u) = 9.9 solved independently: SiLU(u) = 10 atanh(0.99), u = g (1 + e^-u)
        let g = 10.0 * 0.99f64.atanh();
        let flat = (0..50).fold(g, |u, _| g * (1.0 + (-u).exp()));
        let Err(LutError::StateTooNarrow { state, needed }) =
            ActivationLut::new(q(16, 11), q(16, 11), q(16, 14), &config(8, Interpolation::None))
        else {
            panic!("Q(16,11) state accepted");
        };
        assert_eq!(state, q(16, 11));
        assert!((needed - flat).abs() < 1e-9, "{needed} vs {flat}");
        assert_eq!(
            error(q(16, 11), q(16, 11), q(16, 14), 8, Interpolation::None),
            format!(
                "state format Q(16,11) tops out at 15.99951171875, below {needed} where rho reaches \
                 99% of its supremum 10: the state would saturate before rho does"
            )
        );
        // Q(6,0) tops out at 31 and passes; Q(6,1) tops out at 15.5 and fails
        assert!(ActivationLut::new(q(6, 0), q(16, 11), q(16, 14), &config(3, Interpolation::Linear)).is_ok());
        assert!(ActivationLut::new(q(6, 1), q(16, 11), q(16, 14), &config(3, Interpolation::Linear)).is_err());
    }

    #[test]
    fn rejects_output_formats_that_do_not_hold_the_maximum() {
        let s = q(16, 10);
        let (rho_top, _) = reference_rho(s.max_value());
        let (rho_end, _) = reference_rho(32.0);
        let message = |f: &str, v: f64, u: f64, max: &str, w: u32, fr: u32| {
            format!("{f} reaches {v} at input {u}, above the max {max} of its format Q({w},{fr})")
        };
        // rho at the top of the state range (None) or at the end point 32 (Linear)
        let Err(LutError::OutputTooNarrow { value, .. }) =
            ActivationLut::new(s, q(8, 6), q(16, 14), &config(8, Interpolation::None))
        else {
            panic!("Q(8,6) rho accepted");
        };
        assert!((value - rho_top).abs() < 1e-12, "{value} vs {rho_top}");
        assert_eq!(
            error(s, q(8, 6), q(16, 14), 8, Interpolation::None),
            message("rho", value, 31.9990234375, "1.984375", 8, 6)
        );
        let Err(LutError::OutputTooNarrow { value, .. }) =
            ActivationLut::new(s, q(8, 6), q(16, 14), &config(8, Interpolation::Linear))
        else {
            panic!("Q(8,6) rho accepted");
        };
        assert!((value - rho_end).abs() < 1e-12, "{value} vs {rho_end}");
        assert_eq!(
            error(s, q(8, 6), q(16, 14), 8, Interpolation::Linear),
            message("rho", value, 32.0, "1.984375", 8, 6)
        );
        // Q(5,0) holds up to 15; Q(5,1) only 7.5
        assert!(ActivationLut::new(s, q(5, 0), q(16, 14), &config(8, Interpolation::None)).is_ok());
        assert!(ActivationLut::new(s, q(5, 1), q(16, 14), &config(8, Interpolation::None)).is_err());

        // rho' at its interior peak, against a dense scan
        let (peak_u, peak) = (10_000..30_000)
            .map(|k| f64::from(k) * 1e-4)
            .map(|u| (u, reference_rho(u).1))
            .fold((0.0, 0.0), |best, p| if p.1 > best.1 { p } else { best });
        let Err(LutError::OutputTooNarrow { function, value, input, format }) =
            ActivationLut::new(s, q(16, 11), q(8, 7), &config(8, Interpolation::None))
        else {
            panic!("Q(8,7) rho' accepted");
        };
        assert_eq!((function, format), ("rho'", q(8, 7)));
        assert!((value - peak).abs() < 1e-9 && (input - peak_u).abs() < 1e-3, "{value} at {input}");
        assert!((1.0578..1.0579).contains(&value));
        assert_eq!(
            error(s, q(16, 11), q(8, 7), 8, Interpolation::None),
            message("rho'", value, input, "0.9921875", 8, 7)
        );
        // representable means "rounds into range": 1.0578 rounds to 1 in Q(2,0), to 4/4 > 3/4 in Q(3,2)
        assert!(ActivationLut::new(s, q(16, 11), q(2, 0), &config(8, Interpolation::None)).is_ok());
        assert!(ActivationLut::new(s, q(16, 11), q(3, 2), &config(8, Interpolation::None)).is_err());
    }

    #[test]
    fn config_deserializes_strictly() {
        use serde::de::value::{Error, MapDeserializer};
        use serde::de::IntoDeserializer;
        let interp = |s: &str| Interpolation::deserialize(IntoDeserializer::<Error>::into_deserializer(s));
        assert_eq!(interp("none").unwrap(), Interpolation::None);
        assert_eq!(interp("linear").unwrap(), Interpolation::Linear);
        assert!(interp("Linear").unwrap_err().to_string().starts_with("unknown variant `Linear`"));
        let map = MapDeserializer::<_, Error>::new([("index_bits", 8u32), ("extra", 1)].into_iter());
        assert!(LutConfig::deserialize(map).unwrap_err().to_string().starts_with("unknown field `extra`"));
    }
}
