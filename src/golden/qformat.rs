//! The signed fixed-point formats, rounding and overflow of the golden model
//! ([`crate::arith::fixed`]): generated Verilog must match them bit for bit.
//!
//! # Number model
//!
//! A [`QFormat`] `(width, frac)` describes two's-complement integers `raw` of `width` bits
//! (sign included, `1 <= width <= 64`) that stand for `value = raw · 2^-frac`, with
//! `0 <= frac <= width`:
//!
//! | | |
//! |---|---|
//! | LSB (resolution) | `2^-frac` |
//! | raw range | `[-2^(width-1), 2^(width-1) - 1]` |
//! | value range | `[-2^(width-1-frac), 2^(width-1-frac) - 2^-frac]` |
//!
//! `frac == width` is a pure fraction (Q(16,16) covers `[-0.5, 0.5)`); `frac > width` is
//! rejected. Raw values are `i64` (sign-extended); exact intermediates (products, rescaled
//! values) are `i128`.
//!
//! Every operation names how it rounds ([`Rounding`]) and what it does on overflow
//! ([`Overflow`]), and reports whether overflow happened. Integer arithmetic is either
//! explicit (`wrapping_*`, `checked_*`) or commented with why it cannot overflow, so results
//! never depend on the build profile.
//!
//! Length: the file passes 800 lines only through its unit tests (`mod tests`, a quarter of it or
//! more), kept beside the code they check.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why a format, seed or value was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Error)]
pub enum QFormatError {
    #[error("width {0} out of range 1..=64")]
    WidthOutOfRange(u32),
    #[error("fraction bits {frac} exceed width {width}")]
    FracExceedsWidth { width: u32, frac: u32 },
    #[error("LFSR seed must be nonzero")]
    ZeroSeed,
    #[error("value NaN is not a number")]
    NotANumber,
    /// Saturation handles infinity; wrapping has no low bits to keep.
    #[error("value {0} is infinite and cannot wrap")]
    InfiniteWrap(f64),
}

/// Signed fixed-point format; see the module doc for the number model.
/// Built only by [`QFormat::new`], deserialization included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "UncheckedQFormat")]
pub struct QFormat {
    width: u32,
    frac: u32,
}

/// Wire form of [`QFormat`], validated through [`QFormat::new`] on deserialization.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UncheckedQFormat {
    width: u32,
    frac: u32,
}

impl TryFrom<UncheckedQFormat> for QFormat {
    type Error = QFormatError;
    fn try_from(u: UncheckedQFormat) -> Result<Self, QFormatError> {
        QFormat::new(u.width, u.frac)
    }
}

/// How the dropped low bits of an exact value are rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Toward −∞, i.e. drop the bits: Verilog `>>>` on a signed value. Free in hardware,
    /// biased by −LSB/2 on average.
    Floor,
    /// To nearest, ties to the even result: unbiased, and what IEEE and `fixed`'s
    /// `from_num` do.
    HalfEven,
    /// `floor((v + r) / 2^shift)` with `r` uniform from an [`Lfsr`]: unbiased in expectation
    /// even where one value is rounded again and again (accumulators, training).
    Stochastic,
}

/// What happens to a value outside the target format's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overflow {
    /// Clamp to `min_raw` / `max_raw`.
    Saturate,
    /// Keep the low `width` bits (two's-complement wraparound), as assigning to a narrower
    /// Verilog reg does.
    Wrap,
}

impl QFormat {
    /// `width` total bits (1..=64) of which `frac` (0..=width) are fraction bits.
    pub fn new(width: u32, frac: u32) -> Result<Self, QFormatError> {
        if !(1..=64).contains(&width) {
            return Err(QFormatError::WidthOutOfRange(width));
        }
        if frac > width {
            return Err(QFormatError::FracExceedsWidth { width, frac });
        }
        Ok(Self { width, frac })
    }

    pub fn width(self) -> u32 {
        self.width
    }

    pub fn frac(self) -> u32 {
        self.frac
    }

    /// `-2^(width-1)`.
    pub fn min_raw(self) -> i64 {
        i64::MIN >> (64 - self.width)
    }

    /// `2^(width-1) - 1`.
    pub fn max_raw(self) -> i64 {
        i64::MAX >> (64 - self.width)
    }

    /// `2^-frac`, exact (built from its exponent bits, no libm).
    pub fn lsb(self) -> f64 {
        f64::from_bits(u64::from(1023 - self.frac) << 52)
    }

    /// `-2^(width-1-frac)`, exact.
    pub fn min_value(self) -> f64 {
        self.to_f64(self.min_raw())
    }

    /// `max_raw · 2^-frac` rounded to f64: exact for width <= 54. Wider formats round up to
    /// `2^(width-1-frac)`, one LSB above the range, which `from_f64` reports as overflow.
    pub fn max_value(self) -> f64 {
        self.to_f64(self.max_raw())
    }

    /// `raw · 2^-frac`, rounded to the nearest f64 (ties to even) only where `raw` has more
    /// than 53 significant bits. `raw` is not range-checked.
    pub fn to_f64(self, raw: i64) -> f64 {
        // int-to-float `as` rounds to nearest, ties to even; scaling by 2^-frac is exact.
        raw as f64 * self.lsb()
    }

    /// Nearest raw value to `x · 2^frac`, ties to even, computed exactly (no intermediate
    /// float rounding), then brought into range with `overflow`. Returns
    /// `(raw, overflowed)`.
    ///
    /// NaN is an error. ±∞ saturates with `overflowed = true`, and is an error under
    /// [`Overflow::Wrap`]: the split `fixed` makes between `saturating_from_num` and
    /// `wrapping_from_num`.
    pub fn from_f64(self, x: f64, overflow: Overflow) -> Result<(i64, bool), QFormatError> {
        if x.is_nan() {
            return Err(QFormatError::NotANumber);
        }
        if x.is_infinite() {
            return match overflow {
                Overflow::Saturate => Ok((self.saturated(x < 0.0), true)),
                Overflow::Wrap => Err(QFormatError::InfiniteWrap(x)),
            };
        }
        // x = m · 2^e exactly, |m| < 2^53 (IEEE 754 binary64 fields).
        let bits = x.to_bits();
        let biased = ((bits >> 52) & 0x7ff) as i32;
        let fraction = bits & ((1 << 52) - 1);
        let (m, e) = match biased {
            0 => (fraction, -1074),
            _ => (fraction | 1 << 52, biased - 1075),
        };
        let m = if x.is_sign_negative() { -i128::from(m) } else { i128::from(m) };
        // x · 2^frac = m · 2^k; k is in -1074..=1087, no overflow.
        let k = e + self.frac as i32;
        Ok(if k >= 0 {
            self.fit_shl(m, k.unsigned_abs(), overflow)
        } else {
            self.fit(round_half_even(m, k.unsigned_abs()), overflow)
        })
    }

    /// Brings an exact value `v`, already at this format's scale, into range:
    /// [`Overflow::Saturate`] clamps to `[min_raw, max_raw]`, [`Overflow::Wrap`] keeps the
    /// low `width` bits as a two's-complement number. Returns `(raw, overflowed)`, where
    /// `overflowed` says `v` was out of range.
    pub fn fit(self, v: i128, overflow: Overflow) -> (i64, bool) {
        if (i128::from(self.min_raw())..=i128::from(self.max_raw())).contains(&v) {
            return (v as i64, false); // in range: the cast is exact
        }
        let raw = match overflow {
            Overflow::Saturate => self.saturated(v < 0),
            Overflow::Wrap => {
                // Move bit width-1 to bit 127 and shift back arithmetically: sign-extends
                // the low `width` bits, so the result fits i64.
                let s = 128 - self.width;
                (v.wrapping_shl(s) >> s) as i64
            }
        };
        (raw, true)
    }

    fn saturated(self, negative: bool) -> i64 {
        if negative {
            self.min_raw()
        } else {
            self.max_raw()
        }
    }

    /// `fit(v · 2^k)` for any `k`, also where the product exceeds i128.
    fn fit_shl(self, v: i128, k: u32, overflow: Overflow) -> (i64, bool) {
        // 2^126 is the largest power of two in i128.
        let exact = if k <= 126 { v.checked_mul(1 << k) } else { (v == 0).then_some(0) };
        match exact {
            Some(p) => self.fit(p, overflow),
            // |v · 2^k| >= 2^127 is out of range for every width. Wrap needs only the low
            // width <= 64 bits, which a shift that drops the high bits keeps exactly.
            None => match overflow {
                Overflow::Saturate => (self.saturated(v < 0), true),
                Overflow::Wrap => {
                    let low = if k < 128 { v.wrapping_shl(k) } else { 0 };
                    (self.fit(low, Overflow::Wrap).0, true)
                }
            },
        }
    }
}

/// 32-bit Galois LFSR: the random source of [`Rounding::Stochastic`], defined so that
/// Verilog reproduces it bit for bit.
///
/// - Polynomial `x^32 + x^22 + x^2 + x + 1`, primitive, so the state runs through all
///   2^32 − 1 nonzero values (Xilinx XAPP052's 32-bit taps 32, 22, 2, 1; the tests check
///   that `x` has order 2^32 − 1 modulo it).
/// - One step yields one bit: the output is `state[0]`; then `state` shifts right by one
///   and, if the output was 1, is XORed with [`Lfsr::TAPS`] = `0x8020_0003` (bits 31, 21,
///   1, 0). With bit i the coefficient of `x^i`, a step multiplies the state by `x^-1`
///   modulo the polynomial.
/// - `next_bits(n)` takes n steps; the first bit drawn is the least significant of the
///   n-bit result (bit i is step i's output), the order in which a stream that walks a value
///   least significant digit first consumes them. Hardware that needs n bits per cycle
///   unrolls n steps combinationally (`sgd_unit.v`: a word of [`RANDOM_WORD`] bits a cycle).
/// - From seed 1, `next_bits(64)` is `0x9099_09E7_8A2D_B6DB` and leaves state
///   `0x90BD_2FA6`.
///
/// ```verilog
/// wire       bit_out = state[0];                              // next_bit()
/// wire [31:0] state_n = (state >> 1) ^ (bit_out ? 32'h80200003 : 32'h0);
/// always @(posedge clk) if (load) state <= seed; else if (step) state <= state_n;
/// always @(posedge clk) if (step) r <= {bit_out, r[N-1:1]};   // next_bits(N), LSB first
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lfsr {
    state: u32,
}

impl Lfsr {
    /// XOR mask applied after a shift that output 1: `(polynomial - 1) / x`.
    pub const TAPS: u32 = 0x8020_0003;

    /// Seed 0 is rejected: the all-zero state never leaves itself.
    pub fn new(seed: u32) -> Result<Self, QFormatError> {
        match seed {
            0 => Err(QFormatError::ZeroSeed),
            _ => Ok(Self { state: seed }),
        }
    }

    /// One step; returns the bit shifted out (0 or 1).
    pub fn next_bit(&mut self) -> u32 {
        let bit = self.state & 1;
        self.state = (self.state >> 1) ^ if bit == 1 { Self::TAPS } else { 0 };
        bit
    }

    /// `n` steps, first bit drawn = least significant. `n = 0` returns 0 and draws nothing.
    ///
    /// # Panics
    /// If `n > 64`.
    pub fn next_bits(&mut self, n: u32) -> u64 {
        assert!(n <= 64, "next_bits: n = {n} exceeds 64");
        (0..n).fold(0, |acc, i| acc | u64::from(self.next_bit()) << i)
    }

    pub fn state(&self) -> u32 {
        self.state
    }
}

/// Bits of a word of random bits of [`Rounding::Stochastic`]: a rounding draws whole words, one
/// per 32-bit digit of the dropped bits, as the optimizer's digit stream (`sgd_unit.v`, whose
/// digit is this wide) adds them.
pub const RANDOM_WORD: u32 = 32;

/// `v · 2^-shift` rounded to an integer, exactly, for every `v` and every `shift`
/// (`shift >= 127` too: the quotient then lies in `[-1, 1)`). Never overflows: the result's
/// magnitude is at most `|v| / 2 + 1`.
///
/// - [`Rounding::Floor`]: toward −∞, `v >>> shift`.
/// - [`Rounding::HalfEven`]: nearest, ties to even.
/// - [`Rounding::Stochastic`]: `floor((v + r) / 2^shift)` with `r` uniform over
///   `[0, 2^shift)`, so the expected result is exactly `v / 2^shift`. It draws
///   `w = ceil(shift / 32)` words of [`RANDOM_WORD`] bits (`next_bits(32)` each), the first
///   drawn the least significant, into `R < 2^(32 w)`, and adds `R` to `v · 2^(32 w - shift)`
///   word by word, least significant first, as a hardware stream of 32-bit digits does: the
///   carry out of the top word is the rounding up. Equivalently `r = floor(R / 2^(32 w - shift))`:
///   the `32 w - shift` low bits of the first word lie below `v`'s LSB and cannot change the
///   result. The other modes draw nothing.
///
/// `shift = 0` returns `v` and draws nothing.
pub fn shift_round(v: i128, shift: u32, rounding: Rounding, lfsr: &mut Lfsr) -> i128 {
    match rounding {
        Rounding::Floor => floor_rem(v, shift).0,
        Rounding::HalfEven => round_half_even(v, shift),
        Rounding::Stochastic => {
            // floor <= i128::MAX / 2 for shift >= 1; for shift = 0 the carry is 0.
            floor_rem(v, shift).0 + i128::from(stochastic_carry(v, shift, lfsr))
        }
    }
}

/// `floor(v / 2^shift)` and the low `min(shift, 127)` bits of the remainder
/// `v - floor · 2^shift`; for `shift > 127` the remainder's bits above 127 copy the sign.
fn floor_rem(v: i128, shift: u32) -> (i128, u128) {
    let s = shift.min(127); // past 127 the floor is the sign (-1 or 0) either way
    (v >> s, (v as u128) & ((1 << s) - 1))
}

fn round_half_even(v: i128, shift: u32) -> i128 {
    let (floor, rem) = floor_rem(v, shift);
    let up = match shift {
        0 => false,
        1..=127 => {
            let half = 1 << (shift - 1);
            rem > half || (rem == half && floor & 1 == 1)
        }
        // |v / 2^shift| <= 1/2, so the result is 0: up from a floor of -1. The only tie
        // (v = i128::MIN, shift = 128) goes to the even 0 as well.
        _ => v < 0,
    };
    floor + i128::from(up) // floor <= i128::MAX / 2 when up
}

/// Draws `ceil(shift / 32)` words `R` (first drawn least significant) and returns the carry out
/// of `(rem · 2^pad) + R`, `rem` the `shift` low bits of `v` (above bit 127 copies of its sign) and
/// `pad = 32 ceil(shift / 32) - shift`, word by word: whether `floor((v + r) / 2^shift)` exceeds
/// the floor.
fn stochastic_carry(v: i128, shift: u32, lfsr: &mut Lfsr) -> bool {
    let words = shift.div_ceil(RANDOM_WORD);
    let pad = i64::from(words * RANDOM_WORD - shift);
    let mut carry = 0;
    for j in 0..words {
        // bits lo .. lo + 31 of rem (below bit 0: zeros); none reaches bit shift
        let lo = i64::from(j * RANDOM_WORD) - pad;
        let digit = match lo {
            ..0 => (v as u128) << -lo, // -lo < 32: the low 32 bits are exact
            _ => (v >> lo.min(127)) as u128,
        } as u32;
        carry = (u64::from(digit) + lfsr.next_bits(RANDOM_WORD) + carry) >> RANDOM_WORD;
    }
    carry == 1
}

/// Rescales `raw`, an exact value with `from_frac` fraction bits, to `to`: drops
/// `from_frac - to.frac` bits with `rounding` (as [`shift_round`]; Stochastic draws that
/// many LFSR bits), or appends zero bits exactly when `to.frac >= from_frac`; then
/// [`QFormat::fit`] with `overflow`. Returns `(raw, overflowed)`. Exact for every input,
/// also where the rescaled value exceeds i128.
pub fn requantize(
    raw: i128,
    from_frac: u32,
    to: QFormat,
    rounding: Rounding,
    overflow: Overflow,
    lfsr: &mut Lfsr,
) -> (i64, bool) {
    match from_frac.checked_sub(to.frac) {
        Some(drop) => to.fit(shift_round(raw, drop, rounding, lfsr), overflow),
        None => to.fit_shl(raw, to.frac - from_frac, overflow),
    }
}

/// `a · b` (`a` in format `fa`, `b` in `fb`) computed exactly in i128 with
/// `fa.frac + fb.frac` fraction bits, then [`requantize`]d to `to` with `rounding` and
/// `overflow`. Returns `(raw, overflowed)`. Only the fraction bits of `fa` and `fb` are
/// used; `a` and `b` are not range-checked (the product is exact for any i64).
#[expect(
    clippy::too_many_arguments,
    reason = "the operator's ports: two operands with formats, result format, modes, LFSR"
)]
pub fn mul(
    a: i64,
    fa: QFormat,
    b: i64,
    fb: QFormat,
    to: QFormat,
    rounding: Rounding,
    overflow: Overflow,
    lfsr: &mut Lfsr,
) -> (i64, bool) {
    let product = i128::from(a) * i128::from(b); // |a · b| <= 2^126: no overflow
    requantize(product, fa.frac + fb.frac, to, rounding, overflow, lfsr)
}

/// `values` of `width`-bit two's complement, a line each.
pub fn hex_lines<T: Copy + Into<i128>>(values: &[T], width: u32) -> String {
    values.iter().map(|&v| hex(v, width) + "\n").collect()
}

/// One value as its two's complement in `width` bits (at most 128): `ceil(width / 4)` lowercase
/// hex digits, the format of every vector file and of the generated core's ROMs.
pub fn hex<T: Into<i128>>(v: T, width: u32) -> String {
    let digits = width.div_ceil(4) as usize;
    let mask = if width >= 128 { u128::MAX } else { (1u128 << width) - 1 };
    format!("{:0digits$x}", (v.into() as u128) & mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_lines_are_twos_complement_of_the_width() {
        assert_eq!(hex_lines(&[-1i64, 0, 5, -32768, 32767], 16), "ffff\n0000\n0005\n8000\n7fff\n");
        assert_eq!(hex_lines(&[-1i64, 3], 10), "3ff\n003\n");
        assert_eq!(hex_lines(&[-2i128], 48), "fffffffffffe\n");
    }
    use proptest::prelude::*;
    use rand::{rngs::StdRng, Rng, SeedableRng};

    fn q(width: u32, frac: u32) -> QFormat {
        QFormat::new(width, frac).unwrap()
    }

    fn lfsr() -> Lfsr {
        Lfsr::new(0xACE1_2345).unwrap()
    }

    fn format() -> impl Strategy<Value = QFormat> {
        (1u32..=64).prop_flat_map(|w| (0..=w).prop_map(move |f| q(w, f)))
    }

    fn format_and_raw() -> impl Strategy<Value = (QFormat, i64)> {
        format().prop_flat_map(|f| (Just(f), f.min_raw()..=f.max_raw()))
    }

    /// `d` bits drawn one at a time, least significant first: the documented order.
    fn reference_draw(lfsr: &mut Lfsr, d: u32) -> u128 {
        (0..d).fold(0, |r, i| r | u128::from(lfsr.next_bit()) << i)
    }

    /// The `r` of a stochastic rounding of `s <= 128` bits: `ceil(s / 32)` whole words drawn,
    /// their `32 ceil(s / 32) - s` low bits (below the value's LSB) dropped.
    fn reference_r(lfsr: &mut Lfsr, s: u32) -> u128 {
        let bits = s.div_ceil(32) * 32;
        reference_draw(lfsr, bits) >> (bits - s)
    }

    /// Round to nearest, ties to even, on sign and magnitude (HalfEven is odd-symmetric).
    fn reference_half_even(v: i128, s: u32) -> i128 {
        let n = v.unsigned_abs();
        let (mut q, r) = (n >> s, n & ((1u128 << s) - 1));
        let twice_r = 2 * r; // r < 2^126
        if twice_r > 1u128 << s || (twice_r == 1u128 << s && q % 2 == 1) {
            q += 1;
        }
        let q = q as i128; // 2^127 (v = MIN, s = 0) becomes MIN, which negation keeps
        if v < 0 {
            q.wrapping_neg()
        } else {
            q
        }
    }

    /// `fit` written with Euclidean remainder and clamp.
    fn reference_fit(v: i128, f: QFormat, overflow: Overflow) -> (i64, bool) {
        let m = 1i128 << f.width();
        let (lo, hi) = (-m / 2, m / 2 - 1);
        let out = v < lo || v > hi;
        let raw = match overflow {
            Overflow::Saturate => v.clamp(lo, hi),
            Overflow::Wrap => {
                let t = v.rem_euclid(m);
                if t > hi {
                    t - m
                } else {
                    t
                }
            }
        };
        (raw as i64, out)
    }

    #[test]
    fn new_rejects_each_bound_with_values() {
        assert_eq!(QFormat::new(0, 0).unwrap_err().to_string(), "width 0 out of range 1..=64");
        assert_eq!(QFormat::new(70, 3).unwrap_err().to_string(), "width 70 out of range 1..=64");
        assert_eq!(QFormat::new(16, 20).unwrap_err().to_string(), "fraction bits 20 exceed width 16");
        for (w, f) in [(1, 0), (1, 1), (16, 16), (64, 0), (64, 64)] {
            let fmt = q(w, f);
            assert_eq!((fmt.width(), fmt.frac()), (w, f));
        }
    }

    #[test]
    fn deserialize_goes_through_new() {
        use serde::de::value::{Error, MapDeserializer};
        let parse = |w: u32, f: u32| {
            QFormat::deserialize(MapDeserializer::<_, Error>::new([("width", w), ("frac", f)].into_iter()))
        };
        assert_eq!(parse(16, 8).unwrap(), q(16, 8));
        assert_eq!(parse(16, 20).unwrap_err().to_string(), "fraction bits 20 exceed width 16");
    }

    #[test]
    fn ranges_and_lsb() {
        let f = q(16, 8);
        assert_eq!((f.min_raw(), f.max_raw()), (-32768, 32767));
        assert_eq!(f.lsb(), 1.0 / 256.0);
        assert_eq!((f.min_value(), f.max_value()), (-128.0, 127.99609375));
        let bit = q(1, 0);
        assert_eq!((bit.min_raw(), bit.max_raw()), (-1, 0));
        assert_eq!((q(1, 1).min_value(), q(1, 1).max_value()), (-0.5, 0.0));
        assert_eq!((q(64, 0).min_raw(), q(64, 0).max_raw()), (i64::MIN, i64::MAX));
        assert_eq!(q(64, 64).lsb(), 1.0 / 18_446_744_073_709_551_616.0);
        assert_eq!(q(64, 64).min_value(), -0.5);
        assert_eq!((q(8, 0).lsb(), q(8, 0).max_value()), (1.0, 127.0));
    }

    #[test]
    fn max_value_rounds_up_for_wide_formats() {
        let f = q(64, 0);
        assert_eq!(f.max_value(), 9_223_372_036_854_775_808.0); // 2^63
        assert_eq!(f.from_f64(f.max_value(), Overflow::Saturate), Ok((i64::MAX, true)));
        assert_eq!(f.from_f64(f.min_value(), Overflow::Saturate), Ok((i64::MIN, false)));
        assert_eq!(q(54, 0).max_value(), 9_007_199_254_740_991.0); // 2^53 - 1, exact
        assert_eq!(q(55, 0).max_value(), 18_014_398_509_481_984.0); // 2^54
    }

    #[test]
    fn fit_at_and_past_the_bounds() {
        for w in [1, 2, 8, 63, 64] {
            let f = q(w, 0);
            let (lo, hi) = (i128::from(f.min_raw()), i128::from(f.max_raw()));
            for ov in [Overflow::Saturate, Overflow::Wrap] {
                assert_eq!(f.fit(lo, ov), (f.min_raw(), false));
                assert_eq!(f.fit(hi, ov), (f.max_raw(), false));
            }
            assert_eq!(f.fit(lo - 1, Overflow::Saturate), (f.min_raw(), true));
            assert_eq!(f.fit(lo - 1, Overflow::Wrap), (f.max_raw(), true));
            assert_eq!(f.fit(hi + 1, Overflow::Saturate), (f.max_raw(), true));
            assert_eq!(f.fit(hi + 1, Overflow::Wrap), (f.min_raw(), true));
            assert_eq!(f.fit(i128::MIN, Overflow::Saturate), (f.min_raw(), true));
            assert_eq!(f.fit(i128::MAX, Overflow::Saturate), (f.max_raw(), true));
            assert_eq!(f.fit(i128::MIN, Overflow::Wrap), (0, true));
            assert_eq!(f.fit(i128::MAX, Overflow::Wrap), (-1, true));
        }
    }

    proptest! {
        #[test]
        fn fit_matches_clamp_and_euclidean_wrap(v: i128, f in format(), small in -300i128..300) {
            for ov in [Overflow::Saturate, Overflow::Wrap] {
                prop_assert_eq!(f.fit(v, ov), reference_fit(v, f, ov));
                prop_assert_eq!(f.fit(small, ov), reference_fit(small, f, ov));
            }
            if f.width() == 64 {
                prop_assert_eq!(f.fit(v, Overflow::Wrap).0, v as i64);
            }
        }

        #[test]
        fn shift_zero_is_identity(v: i128) {
            for r in [Rounding::Floor, Rounding::HalfEven, Rounding::Stochastic] {
                let mut l = lfsr();
                prop_assert_eq!(shift_round(v, 0, r, &mut l), v);
                prop_assert_eq!(l, lfsr());
            }
        }

        #[test]
        fn floor_is_euclidean_division(v: i128, s in 0u32..=126) {
            let mut l = lfsr();
            prop_assert_eq!(shift_round(v, s, Rounding::Floor, &mut l), v.div_euclid(1 << s));
            prop_assert_eq!(l, lfsr());
        }

        #[test]
        fn half_even_matches_sign_magnitude_rounding(v: i128, s in 0u32..=126) {
            let mut l = lfsr();
            prop_assert_eq!(shift_round(v, s, Rounding::HalfEven, &mut l), reference_half_even(v, s));
            prop_assert_eq!(l, lfsr());
            // a tie built on purpose: v's bits above s, then 2^(s-1)
            if s >= 1 {
                let t = (v & !((1i128 << s) - 1)) | 1 << (s - 1);
                prop_assert_eq!(round_half_even(t, s), reference_half_even(t, s));
            }
        }

        #[test]
        fn stochastic_is_floor_of_v_plus_drawn_r(v: i128, s in 0u32..=126, seed in 1u32..) {
            let (mut l, mut reference) = (Lfsr::new(seed).unwrap(), Lfsr::new(seed).unwrap());
            let got = shift_round(v, s, Rounding::Stochastic, &mut l);
            let d = 1i128 << s;
            let r = reference_r(&mut reference, s) as i128;
            let floor = v.div_euclid(d);
            prop_assert_eq!(got, floor + (v.rem_euclid(d) + r).div_euclid(d));
            prop_assert!(got == floor || got == floor + 1);
            prop_assert_eq!(l, reference); // drew exactly ceil(s / 32) words
        }
    }

    #[test]
    fn half_even_ties_both_signs() {
        let f = q(8, 0);
        for (x, want) in
            [(0.5, 0), (1.5, 2), (2.5, 2), (-0.5, 0), (-1.5, -2), (-2.5, -2), (0.49, 0), (0.51, 1)]
        {
            assert_eq!(f.from_f64(x, Overflow::Saturate), Ok((want, false)), "{x}");
        }
        // the same ties one level down, as raw integers with one fraction bit
        for (v, want) in [(1, 0), (3, 2), (5, 2), (-1, 0), (-3, -2), (-5, -2)] {
            assert_eq!(shift_round(v, 1, Rounding::HalfEven, &mut lfsr()), want);
            assert_eq!(shift_round(v, 1, Rounding::Floor, &mut lfsr()), v >> 1);
        }
        // and at 4 fraction bits: 1.5 LSB and -2.5 LSB
        let g = q(16, 4);
        assert_eq!(g.from_f64(1.5 / 16.0, Overflow::Wrap), Ok((2, false)));
        assert_eq!(g.from_f64(-2.5 / 16.0, Overflow::Wrap), Ok((-2, false)));
    }

    #[test]
    fn shifts_of_127_and_beyond() {
        let (min, max) = (i128::MIN, i128::MAX);
        let mut l = lfsr();
        for (v, s, floor, even) in [
            (min, 127, -1, -1),
            (-(1 << 126), 127, -1, 0), // tie -1/2
            (1 << 126, 127, 0, 0),     // tie 1/2
            (max, 127, 0, 1),
            (min, 128, -1, 0), // tie -1/2
            (max, 128, 0, 0),
            (-1, 200, -1, 0),
            (1, u32::MAX, 0, 0),
        ] {
            assert_eq!(shift_round(v, s, Rounding::Floor, &mut l), floor, "{v} {s}");
            assert_eq!(shift_round(v, s, Rounding::HalfEven, &mut l), even, "{v} {s}");
        }
        assert_eq!(l, lfsr());

        // Stochastic, decided by the drawn words (first drawn least significant):
        // MIN / 2^130 draws 5 words (160 bits, r their top 130) and rounds up to 0 iff
        // r >= 2^127, i.e. one of the last 3 bits drawn is 1.
        for seed in 1..200 {
            let (mut l, mut reference) = (Lfsr::new(seed).unwrap(), Lfsr::new(seed).unwrap());
            reference_draw(&mut reference, 157);
            let last3 = reference_draw(&mut reference, 3);
            let want = if last3 != 0 { 0 } else { -1 };
            assert_eq!(shift_round(min, 130, Rounding::Stochastic, &mut l), want);
            assert_eq!(l, reference);
            // MAX / 2^128 rounds up to 1 iff r >= 2^128 - MAX = 2^127 + 1.
            let r = reference_draw(&mut reference, 128);
            let want = i128::from(r > 1 << 127);
            assert_eq!(shift_round(max, 128, Rounding::Stochastic, &mut l), want);
            assert_eq!(l, reference);
        }
    }

    #[test]
    fn stochastic_mean_is_unbiased() {
        const N: u32 = 4000;
        let mut rng = StdRng::seed_from_u64(0x5eed);
        let mut cases: Vec<(i128, u32, f64)> = (0..40)
            .map(|_| {
                let s = rng.random_range(1..=126u32);
                let v = rng.random::<i128>() >> rng.random_range(0..127u32);
                let rem = v.rem_euclid(1 << s) as f64;
                (v, s, rem / 2f64.powi(s as i32))
            })
            .collect();
        cases.extend([
            (3, 2, 0.75),
            (-3, 2, 0.25),
            (i128::MIN, 130, 7.0 / 8.0),
            (i128::MAX, 128, 0.5),
            (-1, 200, 1.0),
        ]);
        let mut l = lfsr();
        for (v, s, p) in cases {
            let floor = shift_round(v, s, Rounding::Floor, &mut l);
            let ups: u32 = (0..N)
                .map(|_| {
                    let d = shift_round(v, s, Rounding::Stochastic, &mut l) - floor;
                    assert!(d == 0 || d == 1);
                    d as u32
                })
                .sum();
            let n = f64::from(N);
            let mean = f64::from(ups) / n;
            let bound = 6.0 * (p * (1.0 - p) / n).sqrt() + 3.0 / n;
            assert!((mean - p).abs() <= bound, "v={v} s={s}: mean {mean}, want {p}");
        }
    }

    /// GF(2) polynomials of degree < 32 in a u64, bit i = coefficient of x^i.
    const POLY: u64 = 1 << 32 | 1 << 22 | 1 << 2 | 1 << 1 | 1;

    fn poly_mulmod(a: u64, b: u64) -> u64 {
        (0..32).rev().fold(0, |acc, i| {
            let acc = acc << 1; // times x
            let acc = if acc >> 32 == 1 { acc ^ POLY } else { acc };
            if b >> i & 1 == 1 {
                acc ^ a
            } else {
                acc
            }
        })
    }

    fn poly_pow(mut base: u64, mut e: u64) -> u64 {
        let mut acc = 1;
        while e > 0 {
            if e & 1 == 1 {
                acc = poly_mulmod(acc, base);
            }
            base = poly_mulmod(base, base);
            e >>= 1;
        }
        acc
    }

    #[test]
    fn polynomial_is_primitive() {
        let period = (1u64 << 32) - 1; // = 3 · 5 · 17 · 257 · 65537
        assert_eq!(3 * 5 * 17 * 257 * 65537, period);
        let x = 0b10;
        assert_eq!(poly_pow(x, period), 1);
        for p in [3, 5, 17, 257, 65537] {
            assert_ne!(poly_pow(x, period / p), 1, "order divides (2^32-1)/{p}");
        }
    }

    #[test]
    fn lfsr_matches_polynomial_arithmetic() {
        // x^-1 from the group order alone, independent of the TAPS constant
        let inv_x = poly_pow(0b10, (1u64 << 32) - 2);
        assert_eq!(poly_mulmod(inv_x, 0b10), 1);
        assert_eq!(inv_x, u64::from(Lfsr::TAPS));
        for seed in [1, 0x8000_0000, 0xDEAD_BEEF, u32::MAX] {
            let mut l = Lfsr::new(seed).unwrap();
            let mut s = u64::from(seed);
            for _ in 0..300 {
                assert_eq!(u64::from(l.next_bit()), s & 1);
                s = poly_mulmod(s, inv_x);
                assert_eq!(u64::from(l.state()), s);
            }
        }
        let mut l = Lfsr::new(1).unwrap();
        assert_eq!(l.next_bits(64), 0x9099_09E7_8A2D_B6DB);
        assert_eq!(l.state(), 0x90BD_2FA6);
    }

    #[test]
    fn next_bits_is_lsb_first() {
        let (mut l, mut reference) = (lfsr(), lfsr());
        assert_eq!(l.next_bits(0), 0);
        assert_eq!(l, reference);
        for n in [1, 5, 32, 63, 64] {
            assert_eq!(u128::from(l.next_bits(n)), reference_draw(&mut reference, n));
            assert_eq!(l, reference);
        }
    }

    #[test]
    #[should_panic(expected = "next_bits: n = 65 exceeds 64")]
    fn next_bits_rejects_more_than_64() {
        lfsr().next_bits(65);
    }

    #[test]
    fn lfsr_rejects_zero_and_never_reaches_zero() {
        assert_eq!(Lfsr::new(0).unwrap_err().to_string(), "LFSR seed must be nonzero");
        let mut l = Lfsr::new(1).unwrap();
        for _ in 0..1_000_000 {
            l.next_bit();
            assert_ne!(l.state(), 0);
        }
    }

    #[test]
    fn from_f64_at_the_range_bounds() {
        let f = q(16, 8);
        let lsb = f.lsb();
        let (min, max) = (f.min_raw(), f.max_raw());
        let sat = |x: f64| f.from_f64(x, Overflow::Saturate).unwrap();
        let wrap = |x: f64| f.from_f64(x, Overflow::Wrap).unwrap();
        assert_eq!(sat(f.max_value()), (max, false));
        assert_eq!(sat(f.min_value()), (min, false));
        assert_eq!(sat(f.max_value() + 0.25 * lsb), (max, false));
        // max_raw is odd, so its upper tie goes to max_raw + 1: overflow
        assert_eq!(sat(f.max_value() + 0.5 * lsb), (max, true));
        assert_eq!(wrap(f.max_value() + 0.5 * lsb), (min, true));
        // min_raw is even, so its lower tie stays in range
        assert_eq!(sat(f.min_value() - 0.5 * lsb), (min, false));
        assert_eq!(sat(f.min_value() - lsb), (min, true));
        assert_eq!(wrap(f.min_value() - lsb), (max, true));
        assert_eq!(sat(f.max_value() + lsb), (max, true));
        assert_eq!(sat(-0.0), (0, false));
        assert_eq!(sat(f64::from_bits(1)), (0, false)); // smallest subnormal
        assert_eq!(wrap(1e300), (0, true)); // low 16 bits of 1e300 · 2^8 are 0
        assert_eq!(wrap(3.0 * 256.0 + 1.0 / 256.0), (1, true));
        assert_eq!(sat(f64::INFINITY), (max, true));
        assert_eq!(sat(f64::NEG_INFINITY), (min, true));
        assert_eq!(
            f.from_f64(f64::NAN, Overflow::Saturate).unwrap_err().to_string(),
            "value NaN is not a number"
        );
        assert_eq!(
            f.from_f64(f64::NEG_INFINITY, Overflow::Wrap).unwrap_err().to_string(),
            "value -inf is infinite and cannot wrap"
        );
        // width 1, frac 0 and frac = width
        assert_eq!(q(1, 0).from_f64(-1.0, Overflow::Saturate), Ok((-1, false)));
        assert_eq!(q(1, 0).from_f64(1.0, Overflow::Wrap), Ok((-1, true)));
        assert_eq!(q(1, 1).from_f64(-0.25, Overflow::Saturate), Ok((0, false))); // tie
        assert_eq!(q(1, 1).from_f64(-0.26, Overflow::Saturate), Ok((-1, false)));
        assert_eq!(q(8, 8).from_f64(0.5, Overflow::Saturate), Ok((127, true)));
    }

    proptest! {
        #[test]
        fn to_f64_round_trips((f, raw) in format_and_raw()) {
            prop_assume!(f.width() <= 53);
            prop_assert_eq!(f.from_f64(f.to_f64(raw), Overflow::Wrap), Ok((raw, false)));
        }

        #[test]
        fn mul_matches_exact_integer_reference(
            (fa, a) in format_and_raw(),
            (fb, b) in format_and_raw(),
            to in format(),
        ) {
            let p = i128::from(a) * i128::from(b);
            let shift = i64::from(fa.frac() + fb.frac()) - i64::from(to.frac());
            prop_assume!(shift <= 126);
            let (floor, even) = if shift >= 0 {
                let d = 1i128 << shift;
                let (quot, rem) = (p.div_euclid(d), p.rem_euclid(d));
                let up = 2 * rem > d || (2 * rem == d && quot % 2 != 0);
                (quot, quot + i128::from(up))
            } else {
                let Some(exact) = p.checked_mul(1 << -shift) else {
                    return Err(TestCaseError::reject("beyond i128"));
                };
                (exact, exact)
            };
            for ov in [Overflow::Saturate, Overflow::Wrap] {
                let got = mul(a, fa, b, fb, to, Rounding::Floor, ov, &mut lfsr());
                prop_assert_eq!(got, reference_fit(floor, to, ov));
                let got = mul(a, fa, b, fb, to, Rounding::HalfEven, ov, &mut lfsr());
                prop_assert_eq!(got, reference_fit(even, to, ov));
            }
        }
    }

    #[test]
    fn mul_extremes() {
        let h = q(16, 15);
        let (m, ov) = (h.min_raw(), Overflow::Saturate);
        // (-1) · (-1) = 1 does not fit Q(16,15)
        assert_eq!(mul(m, h, m, h, h, Rounding::Floor, ov, &mut lfsr()), (h.max_raw(), true));
        let w = Overflow::Wrap;
        assert_eq!(mul(m, h, m, h, h, Rounding::Floor, w, &mut lfsr()), (m, true));
        // Q(64,64): (-1/2)(-1/2) = 1/4, product has 128 fraction bits
        let f = q(64, 64);
        let (lo, hi) = (f.min_raw(), f.max_raw());
        let run = |a, b, to, r| mul(a, f, b, f, to, r, ov, &mut lfsr());
        assert_eq!(run(lo, lo, f, Rounding::Floor), (1 << 62, false));
        assert_eq!(run(lo, lo, q(64, 0), Rounding::HalfEven), (0, false));
        assert_eq!(run(lo, lo, q(64, 1), Rounding::HalfEven), (0, false)); // tie 1/2
        assert_eq!(run(lo, lo, q(64, 2), Rounding::HalfEven), (1, false));
        // -1/2 · (1/2 - 2^-64) is just above -1/4
        assert_eq!(run(lo, hi, q(64, 0), Rounding::Floor), (-1, false));
        assert_eq!(run(lo, hi, q(64, 0), Rounding::HalfEven), (0, false));
        assert_eq!(run(lo, hi, q(64, 2), Rounding::HalfEven), (-1, false));
        assert_eq!(run(lo, hi, q(64, 2), Rounding::Floor), (-1, false));
    }

    #[test]
    fn requantize_left_shift_past_i128() {
        let f = q(64, 64);
        let mut l = lfsr();
        let (s, w) = (Overflow::Saturate, Overflow::Wrap);
        let r = Rounding::Floor;
        assert_eq!(requantize(i128::MAX, 0, f, r, s, &mut l), (f.max_raw(), true));
        assert_eq!(requantize(i128::MIN, 0, f, r, s, &mut l), (f.min_raw(), true));
        assert_eq!(requantize(i128::MAX, 0, f, r, w, &mut l), (0, true));
        assert_eq!(requantize(3 << 100, 20, f, r, w, &mut l), (0, true));
        assert_eq!(requantize(-3, 0, q(8, 4), r, s, &mut l), (-48, false));
        assert_eq!(requantize(5, 0, q(4, 3), r, w, &mut l), (-8, true)); // 40 mod 16
        assert_eq!(requantize(0, 0, f, r, s, &mut l), (0, false));
        assert_eq!(l, lfsr());
        // 2^127 and beyond: past i128 and past every power of two in it
        let g = q(8, 0);
        assert_eq!(g.fit_shl(1, 127, s), (127, true));
        assert_eq!(g.fit_shl(-1, 127, s), (-128, true));
        assert_eq!(g.fit_shl(1, 127, w), (0, true));
        assert_eq!(g.fit_shl(-3, 300, s), (-128, true));
        assert_eq!(g.fit_shl(0, 300, s), (0, false));
        assert_eq!(g.fit_shl(-3, 5, w), (-96, false));
    }

    /// `fixed` as oracle: its multiplication floors, its `from_num` rounds ties to even.
    macro_rules! fixed_oracle {
        ($name:ident, $fixed:ty, $int:ty, $width:expr, $frac:expr) => {
            proptest! {
                #[test]
                fn $name(a: $int, b: $int, x in float_input(q($width, $frac))) {
                    let f = q($width, $frac);
                    let (fa, fb) = (<$fixed>::from_bits(a), <$fixed>::from_bits(b));
                    let (a, b) = (i64::from(a), i64::from(b));
                    let (fl, sat, wrap) = (Rounding::Floor, Overflow::Saturate, Overflow::Wrap);
                    prop_assert_eq!(
                        mul(a, f, b, f, f, fl, wrap, &mut lfsr()),
                        (i64::from(fa.wrapping_mul(fb).to_bits()), fa.overflowing_mul(fb).1)
                    );
                    prop_assert_eq!(
                        mul(a, f, b, f, f, fl, sat, &mut lfsr()),
                        (i64::from(fa.saturating_mul(fb).to_bits()), fa.checked_mul(fb).is_none())
                    );
                    let (wrapped, overflowed) = <$fixed>::overflowing_from_num(x);
                    prop_assert_eq!(
                        f.from_f64(x, sat),
                        Ok((i64::from(<$fixed>::saturating_from_num(x).to_bits()), overflowed))
                    );
                    prop_assert_eq!(f.from_f64(x, wrap), Ok((i64::from(wrapped.to_bits()), overflowed)));
                }
            }
        };
    }

    /// Any finite f64, values around the range, and exact ties (k + 1/2) LSB.
    fn float_input(f: QFormat) -> impl Strategy<Value = f64> {
        use proptest::num::f64::{NORMAL, SUBNORMAL, ZERO};
        let k = f.min_raw().max(-(1 << 40)) - 2..=f.max_raw().min(1 << 40) + 2;
        prop_oneof![
            NORMAL | SUBNORMAL | ZERO,
            2.0 * f.min_value()..2.0 * f.max_value(),
            k.prop_map(move |k| (k as f64 + 0.5) * f.lsb()),
        ]
    }

    use fixed::types::extra::{U15, U16, U32, U64, U8};
    use fixed::{FixedI16, FixedI32, FixedI64, FixedI8};
    fixed_oracle!(oracle_i0f8, FixedI8<U8>, i8, 8, 8);
    fixed_oracle!(oracle_i8f8, FixedI16<U8>, i16, 16, 8);
    fixed_oracle!(oracle_i1f15, FixedI16<U15>, i16, 16, 15);
    fixed_oracle!(oracle_i16f16, FixedI32<U16>, i32, 32, 16);
    fixed_oracle!(oracle_i32f32, FixedI64<U32>, i64, 64, 32);
    fixed_oracle!(oracle_i0f64, FixedI64<U64>, i64, 64, 64);
}
