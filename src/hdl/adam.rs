//! The Adam unit's widths and schedule (`templates/adam_unit.v`): a sequential, bit-serial
//! optimizer back end, one parameter at a time, bit-exact with `golden::optim`'s Adam rows.
//!
//! Every run-time value has a range fixed here, from the `fixed:` formats: a constant's shift up
//! to [`AdamParams::shift_max`], the divider's shift `qs` in `0 ..= qs_max`, `eps` below
//! `2^eps_w`. The host refuses constants outside them (`CoreParams::check_update_constants`),
//! so the fixed schedule walks enough bits for every value the unit accepts.

use crate::config::FixedConfig;
use crate::golden::qformat::Rounding;

/// `ceil(log2(n))`, at least 1: the width of an index over `n` values (the lowest layer of
/// `hdl` that needs it; `hdl::params` re-exports it).
pub fn index_width(n: usize) -> u32 {
    (usize::BITS - n.saturating_sub(1).leading_zeros()).max(1)
}

/// Constants down to `2^-ADAM_RANGE` below a full mantissa: a shift up to `constant.width - 2 +
/// ADAM_RANGE` (a learning rate of `1e-7` has a shift of 53 with 32-bit constants).
pub const ADAM_RANGE: usize = 32;

/// Quotient bits the divider computes below the weight LSB.
const GUARD: usize = crate::golden::optim::GUARD_BITS as usize;

/// Widths and cycle counts of `adam_unit.v` (its header has the rows; `make hdl-unit`'s adam_tb
/// checks the latency).
#[derive(Debug, Clone, PartialEq)]
pub struct AdamParams {
    /// Largest shift of a constant the unit accepts.
    pub shift_max: usize,
    /// Bits the rows m' and v' walk: from the aligned sum's LSB past its sign bit and past the
    /// result's top bit, for every alignment the shifts allow.
    pub row_len: usize,
    /// Cycles of the rows: `row_len` and the pipeline around it (the operands' start, the
    /// multipliers, the adder, the rounding's bit registers and its result register).
    pub rows_cycles: usize,
    /// Root bits: `ceil((v_w - 1 + v_f) / 2)` (the radicand `max(v', 1) 2^v_f`).
    pub nr: usize,
    /// `eps` at the denominator's fraction bits, `optim.eps 2^(v_f + c2_shift)` for `c2_shift` up
    /// to `c_w - 2` (`c2 >= 1`), fits this many bits.
    pub eps_w: usize,
    /// The denominator `root c2_mant + eps`.
    pub den_w: usize,
    /// The numerator `|m'| lrt_mant`.
    pub num_w: usize,
    /// Cycles of the serial products `den` and `num`.
    pub mul_cycles: usize,
    /// Largest divider shift: `w_f + 15 + v_f + (c_w - 2) - m_f`, at `lrt_shift = 0` and the
    /// largest `c2_shift`.
    pub qs_max: usize,
    /// Divider cycles: a dividend bit each, `num_w + qs_max`.
    pub div_cycles: usize,
    /// Quotient bits kept: `w_w + 1 + GUARD` (a larger quotient saturates the weight).
    pub qb: usize,
    /// Stochastic rounding: the most random words the rows m' and v' draw (`ceil(drop / 32)` for
    /// the most bits a row drops), 0 without it. The update draws one more.
    pub words_m: usize,
    pub words_v: usize,
    /// Cycles of the draw phase before the rows (stochastic rounding: a word a cycle, `words_m +
    /// words_v + 1`), 0 without it.
    pub draw_cycles: usize,
    /// Cycles from `g_valid` to `out_valid`.
    pub latency: usize,
    /// Bits of the unit's counters and alignments (signed).
    pub x_w: usize,
}

impl AdamParams {
    /// The unit of the formats `f` and `optim.eps` (`eps`), with `sh_w`-bit shift registers; its
    /// rounding is `f.update_rounding` (stochastic adds the draw phase).
    pub fn new(f: &FixedConfig, eps: f64, sh_w: usize) -> AdamParams {
        let u = |v: u32| v as usize;
        let (g_w, g_f) = (u(f.gradient.width()), u(f.gradient.frac()));
        let (m_w, m_f) = (u(f.moment.width()), u(f.moment.frac()));
        let (v_w, v_f) = (u(f.second_moment.width()), u(f.second_moment.frac()));
        let (w_w, w_f, c_w) = (u(f.weight.width()), u(f.weight.frac()), u(f.constant.width()));
        let shift_max = c_w - 2 + ADAM_RANGE;
        let cb = c_w - 1; // a mantissa's bits
                          // a row: term 1 (w1 signed bits at fraction f1 + s1), term 2 (w2 bits at f2 + s2); the
                          // worst alignment puts one shift at 0 and the other at shift_max
                          // (bits walked, most bits dropped)
        let row = |w1: usize, f1: usize, w2: usize, f2: usize, out_w: usize, out_f: usize| {
            let d1 = (f2 + shift_max).saturating_sub(f1);
            let d2 = (f1 + shift_max).saturating_sub(f2);
            let value = (w1 + d1).max(w2 + d2) + 1;
            let drop = (f1.max(f2) + shift_max) - out_f;
            (value.max(drop + out_w + 1), drop)
        };
        let (row_m, drop_m) = row(m_w + cb, m_f, g_w + cb, g_f, m_w, m_f);
        // g^2 (1-b2): |g|^2 < 2^(2 g_w - 2), unsigned, then a mantissa and a sign
        let (row_v, drop_v) = row(v_w + cb, v_f, 2 * g_w - 1 + cb, 2 * g_f, v_w, v_f);
        let row_len = row_m.max(row_v);
        let word = crate::golden::qformat::RANDOM_WORD as usize;
        let (words_m, words_v, draw_cycles) = match f.update_rounding {
            Rounding::Stochastic => {
                let (wm, wv) = (drop_m.div_ceil(word), drop_v.div_ceil(word));
                (wm, wv, wm + wv + 1)
            }
            _ => (0, 0, 0),
        };
        let nr = (v_w - 1 + v_f).div_ceil(2);
        let eps_max = eps * 2f64.powi((v_f + c_w - 2) as i32);
        let eps_w = (f64::log2(eps_max.floor() + 1.0).ceil() as usize).max(1);
        let den_w = (nr + cb).max(eps_w) + 1;
        let num_w = m_w + cb - 1;
        let mul_cycles = (den_w + 2).max(num_w + 1);
        let qs_max = (w_f + GUARD + v_f + c_w - 2).saturating_sub(m_f);
        let div_cycles = num_w + qs_max;
        let rows_cycles = row_len + 5;
        let latency = draw_cycles + rows_cycles + nr + mul_cycles + div_cycles + 5;
        let largest =
            [rows_cycles, div_cycles, mul_cycles, 2 * g_f + shift_max, w_f + GUARD + v_f + shift_max]
                .into_iter()
                .max()
                .unwrap_or(0);
        let x_w = (index_width(largest + 1) as usize + 2).max(sh_w + 3);
        AdamParams {
            shift_max,
            row_len,
            rows_cycles,
            nr,
            eps_w,
            den_w,
            num_w,
            mul_cycles,
            qs_max,
            div_cycles,
            qb: w_w + 1 + GUARD,
            words_m,
            words_v,
            draw_cycles,
            latency,
            x_w,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn tiny_unit_widths() {
        let c = Config::shipped("tiny");
        let a = AdamParams::new(&c.fixed, c.optim.eps, 12);
        // v Q(32,30): a 61-bit radicand; eps 1e-8 2^60 = 1.15e10 < 2^34
        assert_eq!((a.nr, a.eps_w, a.den_w, a.num_w), (31, 34, 63, 62));
        assert_eq!(a.qs_max, 14 + 15 + 30 + 30 - 24);
        assert_eq!(a.qb, 32);
        assert_eq!(a.latency, a.rows_cycles + a.nr + a.mul_cycles + a.div_cycles + 5);
        assert_eq!((a.words_m, a.words_v, a.draw_cycles), (0, 0, 0));
        // stochastic: m' drops up to 24 + 62 - 24 bits (2 words), v' 48 + 62 - 30 (3), u 1 word
        let mut f = c.fixed.clone();
        f.update_rounding = Rounding::Stochastic;
        let s = AdamParams::new(&f, c.optim.eps, 12);
        assert_eq!((s.words_m, s.words_v, s.draw_cycles), (2, 3, 6));
        assert_eq!(s.latency, a.latency + 6);
    }
}
