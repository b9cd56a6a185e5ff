//! The values the templates need, computed once from a [`Config`] and checked: array shape and
//! tiles, every signal width of the datapath (`docs/datapath.md`), the LUT contents, the
//! schedule's cycle counts. The templates only print these; no arithmetic lives in them.

use crate::config::{Config, FixedConfig, HardwareConfig, OptimizerKind};
use crate::error::Error;
use crate::golden::lut::Interpolation;
use crate::golden::optim::{stream_seed, Constant, CoreConstants, Stream};
use crate::golden::qformat::hex;
use crate::golden::qformat::{Overflow, QFormat, Rounding, RANDOM_WORD};
use crate::hdl::adam::AdamParams;

/// Widest state, derivative or weight format the RTL is generated for: the exact products of
/// the neuron datapath (constant x (state + 3 bits)) then stay below about 100 bits.
pub const MAX_DATA_WIDTH: u32 = 32;

/// Widest constant: eps, the spring coefficients and the SGD mantissas.
pub const MAX_CONSTANT_WIDTH: u32 = 48;

/// Widest LUT address: the ROMs are written out entry by entry into `act_lut.v`.
pub const MAX_LUT_INDEX_BITS: u32 = 14;

/// Width of the optimizer's exact sums (as the golden model's i128: `golden::optim`).
pub const OPT_WIDTH: u32 = 128;

/// Width of the runtime shift registers of the SGD constants (signed, so shifts of -2^11..2^11).
pub const SHIFT_WIDTH: u32 = 12;

/// Register stages of a PE from its index to its partial sum: the input registers, the memory's
/// read, its output register, the operand registers, the product register and the partial-sum
/// register.
pub const PE_STAGES: usize = 6;

/// Cycles from a host read (`rd_en`) to its answer (`rd_valid`): the decoded index, the units'
/// input registers, the memories' read, the units' output registers, the unit multiplexer's two
/// levels (the unit in its group of 8, then the group and the kind of unit), the answer register.
pub const HOST_READ_LATENCY: usize = 7;

/// Bits of a digit of the optimizer's stream (`sgd_unit.v`): its requantizer and its momentum sum
/// take one digit of their operands a cycle, least significant first; with stochastic rounding
/// each digit below the result adds a word of random bits, which is as wide.
pub const SGD_DIGIT: usize = 32;
const _: () = assert!(SGD_DIGIT == RANDOM_WORD as usize);

/// Bits of a multiplier limb below the top one (`mul_pipe`'s convention, kept by `sgd_unit`): a
/// limb is 17 unsigned bits, or the signed top of at most 18, so every partial product is one
/// signed 18 x 18 multiply.
const LIMB: usize = 17;

/// Whether a `rows x cols` array of a `K x N` matrix with `lanes` sample lanes leaves its neuron
/// pipelines enough time: a side's drives arrive every `nt` (K side) or `kt` (N side) cycles, one
/// per bank and lane, and its pipeline takes one a cycle, so `rows lanes <= N / cols` and
/// `cols lanes <= K / rows`.
pub fn neuron_pipelines_keep_up(k: usize, n: usize, rows: usize, cols: usize, lanes: usize) -> bool {
    rows * cols * lanes <= n && rows * cols * lanes <= k
}

pub use crate::hdl::adam::index_width;

/// Everything the templates print, for one config.
///
/// Names follow the RTL's parameters: `X_w` is a width in bits and `X_f` the fraction bits of a
/// format, with `s` the state, `d` the derivative `rho'`, `w` the weight, `c` a constant, `g`
/// the gradient, `m` the momentum (the `fixed:` section of the config); the other widths name
/// the value they hold (`drive_sum_w`, `neuron_g_w`), as the
/// datapath tables of `docs/datapath.md` do.
#[derive(Debug, Clone, PartialEq)]
pub struct CoreParams {
    // network and array
    pub n_x: usize,
    pub n_h1: usize,
    pub n_h2: usize,
    /// K = n_x + n_h2: rows of the fused matrix M = [W0^T ; W1], the K-side neurons [x | h2].
    pub k: usize,
    /// N = n_h1: columns of M, the N-side neurons h1.
    pub n: usize,
    pub rows: usize,
    pub cols: usize,
    /// Sample lanes (`hardware.lanes`): samples relaxing side by side, one multiplier each per PE.
    pub lanes: usize,
    /// Tile of one PE: `kt x nt` weights.
    pub kt: usize,
    pub nt: usize,
    /// Relaxation steps per phase (T).
    pub t_steps: usize,
    // formats (width, fraction bits)
    pub s_w: usize,
    pub s_f: usize,
    pub d_w: usize,
    pub d_f: usize,
    pub w_w: usize,
    pub w_f: usize,
    pub c_w: usize,
    pub c_f: usize,
    pub g_w: usize,
    pub g_f: usize,
    pub m_w: usize,
    pub m_f: usize,
    /// Adam's second moment (`fixed.second_moment`).
    pub v_w: usize,
    pub v_f: usize,
    /// The optimizer state of a parameter, in the moment memories and the host's MOMENT word:
    /// `m` (`m_w` bits), or Adam's `{v, m}` (`v_w + m_w`).
    pub os_w: usize,
    pub acc_w: usize,
    /// Gradient-sum registers (`fixed.gradient_sum_width`): exact over a batch.
    pub gs_w: usize,
    /// Host data ports.
    pub data_w: usize,
    // rounding and overflow
    /// `fixed.rounding` is half-even (else floor).
    pub half_even: bool,
    /// `fixed.update_rounding` is half-even (else floor, or stochastic).
    pub update_half_even: bool,
    /// `fixed.update_rounding` is stochastic: the optimizer unit's two LFSRs
    /// (`golden::optim`, "Stochastic rounding"), reset to these states (8 hex digits each:
    /// `stream_seed(fixed.lfsr_seed, 0, stream)`, gradient then update), host-writable as
    /// CONST 15 and 16.
    pub update_stochastic: bool,
    pub lfsr_seed_hex: [String; 2],
    /// `fixed.overflow` wraps (else saturates).
    pub wrap: bool,
    // neuron datapath widths (exact intermediates; the products' widths are their operands')
    /// The drive's sum `acc + (bias << F_s)`.
    pub drive_sum_w: usize,
    /// The neuron update's gradient `g` of either rule (`coeff (x - x_t) + c2 u` and its
    /// rounding margin), exact.
    pub neuron_g_w: usize,
    // PE widths
    /// Operand A of the one multiplier (a weight or an activation).
    pub mul_a_w: usize,
    /// Its product.
    pub prod_w: usize,
    // indices
    /// Local neuron index of a neuron unit.
    pub li_w: usize,
    /// Local weight index of a PE.
    pub wi_w: usize,
    /// A constant's shift ([`SHIFT_WIDTH`] bits).
    pub sh_w: usize,
    /// Index of a PE or a neuron unit.
    pub unit_w: usize,
    /// The sequential optimizer's schedule (`sgd_unit.v`).
    pub sgd: SgdSchedule,
    /// Global-norm clipping (`optim.clip_norm > 0`): UPDATE walks the parameters twice, and the
    /// norm unit (`norm_unit.v`) computes the clip factor between the walks.
    pub clip: bool,
    pub norm: NormParams,
    /// `optim.kind` is Adam: the gradient rows of `sgd_unit.v` feed the Adam unit
    /// (`adam_unit.v`), which updates the moments and the weight.
    pub optim_adam: bool,
    pub adam: AdamParams,
    /// Host read latency ([`HOST_READ_LATENCY`]).
    pub rd_latency: usize,
    /// Cycles from a neuron's issue into the neuron pipeline to its write-back.
    pub neuron_latency: usize,
    /// Cycles from a step's last MAC to its commit: `pe_drain()`, the K side's serializer (one
    /// cycle a PE row), the neuron pipeline's latency, one cycle to see it idle.
    pub drain_cycles: usize,
    // LUT
    /// Index bits of the activation ROMs (`fixed.lut.index_bits`).
    pub lut_b: usize,
    /// Low bits of the state below the LUT address (interpolation fraction).
    pub lut_l: usize,
    /// `fixed.lut.interpolation` is linear.
    pub lut_linear: bool,
    /// Entries of each ROM: `2^lut_b`, and the end point with interpolation.
    pub lut_entries: usize,
    /// ROM contents, hex of `s_w` (rho) and `d_w` (rho') bits, in address order.
    pub rho_hex: Vec<String>,
    pub drho_hex: Vec<String>,
    /// With interpolation ([`CoreParams::lut_interpolates`]), the interpolator's slope ROMs:
    /// entry `i` is `table[i + 1] - table[i]` (`s_w + 1`, `d_w + 1` bits), so the block RAM's
    /// output meets a register, not a subtractor; empty without interpolation.
    pub rho_dy_hex: Vec<String>,
    pub drho_dy_hex: Vec<String>,
    /// rho(0) and rho'(0): the activations of a hidden unit reset to 0.
    pub rho0_hex: String,
    pub drho0_hex: String,
    // schedule
    /// Cycles of one relaxation step: the MACs, the drain and the commit.
    pub step_cycles: usize,
    /// The MACs alone: `2 kt nt` (the K side's and the N side's drives).
    pub ideal_step_cycles: usize,
}

/// The global-norm unit (`norm_unit.v`): its widths, and the cycles the controller gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct NormParams {
    /// The parameters whose squares it sums (`K N + K + N`).
    pub params: usize,
    /// Bits of the parameter count: `2^npw > params`, so `Σ g² < 2^(2 (g_w - 1) + npw)`
    /// (golden::optim's 128-bit sum never saturates in a core).
    pub npw: usize,
    /// 17-bit limbs of `|g|` (`g_w` bits: the most negative `g`'s is `2^(g_w - 1)`).
    pub limbs: usize,
    /// Cycles the unit waits after taking `finish` before it reads the columns: the last `g`'s
    /// product of limbs `(i, j)` reaches column `i + j` 4 + `i limbs + j` cycles after its
    /// `g_valid`, and column `c` is read `2 + drain + c` cycles after it at the earliest (finish
    /// a cycle after the last `g`), so `drain >= 2 + (limbs - 1)^2`: `max(limbs^2, 2)`.
    pub drain: usize,
    /// Bits of a column's sum: `params` times at most `limbs` limb products below `2^34`.
    pub col_w: usize,
    /// Bits of the norm, `g_w - 1 + ceil(npw / 2)`, and of `den = norm + delta` at most.
    pub norm_w: usize,
    pub den_w: usize,
    /// PyTorch's `1e-6` in gradient LSBs (golden::optim's `delta`, the host's CONST 19).
    pub delta: u64,
    /// Cycles from the norm unit's `finish` until its results hold (its schedule, in
    /// `norm_unit.v`): the controller waits this long, whatever the data.
    pub cycles: usize,
}

/// Clip norms down to `2^-CLIP_RANGE` (a clip constant's shift up to `constant.width - 2 +
/// CLIP_RANGE`): the clip's stream walks enough digits for the rounding of the smallest.
pub const CLIP_RANGE: usize = 32;

impl NormParams {
    fn new(f: &FixedConfig, params: usize) -> Result<NormParams, Error> {
        let g_w = f.gradient.width() as usize;
        let npw = index_width(params + 1) as usize;
        let norm_w = g_w - 1 + npw.div_ceil(2);
        let delta = (1e-6 * 2f64.powi(f.gradient.frac() as i32)).round_ties_even() as u64;
        let delta_w = (u64::BITS - delta.leading_zeros()) as usize;
        if delta_w > norm_w {
            return Err(invalid(
                "fixed.gradient",
                shown(f.gradient),
                &format!("1e-6 in gradient LSBs ({delta}) must fit the norm's {norm_w} bits"),
            ));
        }
        let limbs = g_w.div_ceil(LIMB);
        let col_w = 2 * LIMB + npw + index_width(limbs + 1) as usize;
        let den_w = norm_w + 1;
        // norm_unit.v's schedule: finish taken, the last g's products drain, the columns add
        // (2 limbs - 1) and load the root, the root (a bit a cycle), den, its normalization
        // (den_w), the division (a quotient bit a cycle over the c_w - 1 + den_w dividend bits),
        // two result stages: the results and done in cycle finish + cycles (make hdl-unit's
        // norm_tb checks it, and that done comes no sooner)
        let c_w = f.constant.width() as usize;
        let drain = (limbs * limbs).max(2);
        let cycles = 1 + drain + 2 * limbs + norm_w + 1 + den_w + (c_w - 1 + den_w) + 2;
        Ok(NormParams { params, npw, limbs, drain, col_w, norm_w, den_w, delta, cycles })
    }

    /// Bits of the summed squares as the columns leave them (the carry out of the last column
    /// above `2 limbs - 1` digits of 17 bits); the value itself fits `2 norm_w` bits.
    pub fn full_w(&self) -> usize {
        LIMB * (2 * self.limbs - 1) + self.col_w + 1 - LIMB
    }

    /// The most bits the clip's rounding drops: `frac = clip.shift + L - drop - G_F` with `L`
    /// at most `den_w`.
    fn clip_drop(&self, c_w: usize, g_f: usize) -> usize {
        (c_w - 2 + CLIP_RANGE + self.den_w).saturating_sub(g_f)
    }
}

/// The limits of the generated core on the `fixed:` formats (the golden model accepts more):
/// data widths, constant widths, LUT index bits. Errors name the field.
fn check_formats(f: &FixedConfig) -> Result<(), Error> {
    for (field, q) in
        [("fixed.state", f.state), ("fixed.derivative", f.derivative), ("fixed.weight", f.weight)]
    {
        if q.width() > MAX_DATA_WIDTH {
            return Err(invalid(
                field,
                shown(q),
                &format!("the generated core supports widths up to {MAX_DATA_WIDTH} bits"),
            ));
        }
    }
    if f.constant.width() > MAX_CONSTANT_WIDTH || f.constant.width() < 2 {
        return Err(invalid(
            "fixed.constant",
            shown(f.constant),
            &format!("the generated core supports constant widths 2..={MAX_CONSTANT_WIDTH}"),
        ));
    }
    for (field, q) in [("fixed.gradient", f.gradient), ("fixed.moment", f.moment)] {
        if q.width() > 64 {
            return Err(invalid(field, shown(q), "the generated core supports widths up to 64 bits"));
        }
    }
    if f.lut.index_bits > MAX_LUT_INDEX_BITS {
        return Err(invalid(
            "fixed.lut.index_bits",
            f.lut.index_bits,
            &format!(
                "the generated core writes its ROMs out entry by entry: at most {MAX_LUT_INDEX_BITS} \
                 index bits (2^{MAX_LUT_INDEX_BITS} entries)"
            ),
        ));
    }
    Ok(())
}

/// A side's neuron pipeline takes one drive of a bank and lane a cycle: banks x lanes must fit in
/// the cycles between two drives (the field named is the lanes when there are several).
fn check_pipelines_keep_up(h: &HardwareConfig, kt: usize, nt: usize) -> Result<(), Error> {
    let lanes = h.lanes;
    let keep_up = |banks: usize, every: usize, (field, side, unit, period): (&str, &str, &str, &str)| {
        if banks * lanes <= every {
            return Ok(());
        }
        let (field, value) = if lanes > 1 { ("hardware.lanes", lanes) } else { (field, banks) };
        Err(invalid(
            field,
            value,
            &format!(
                "the {side} neuron pipeline takes the drives of one PE {unit} and lane a cycle, and \
                 they arrive every {period} = {every} cycles: {unit}s x lanes = {banks} x {lanes} \
                 must be at most {every}"
            ),
        ))
    };
    keep_up(h.rows, nt, ("hardware.rows", "K-side", "row", "n_h1 / hardware.cols"))?;
    keep_up(h.cols, kt, ("hardware.cols", "N-side", "column", "(n_x + n_h2) / hardware.rows"))?;
    Ok(())
}

/// Latency of `mul_pipe` (templates/pipe.v) for `wa x wb` bits: operand and partial-product
/// registers, then one register per level of the tree over its 18 x 18 partial products.
fn mul_latency(wa: usize, wb: usize) -> usize {
    2 + index_width(limbs(wa) * limbs(wb)) as usize - usize::from(limbs(wa) * limbs(wb) == 1)
}

/// Latency of `neuron_pipe` (templates/neuron_pipe.v) from a neuron's issue to its write-back:
/// bank read, its register and select (3), stage A (2), the three products of stage B aligned to the slowest,
/// its rounding and the two halves of g (3), `eps g`, its rounding, the difference and the new
/// state (3), the LUT (4) and the write-back register.
fn neuron_latency(s_w: usize, d_w: usize, c_w: usize, neuron_g_w: usize) -> usize {
    let b = stage_b_latencies(s_w, d_w, c_w).into_iter().max().unwrap_or(0);
    16 + b + mul_latency(c_w, neuron_g_w)
}

/// Latencies of the neuron pipeline's three products of stage B: `rho' drive` (`d_w x s_w`),
/// `coeff dx` (`c_w x (s_w + 1)`), `c2 u` (`c_w x s_w`).
fn stage_b_latencies(s_w: usize, d_w: usize, c_w: usize) -> [usize; 3] {
    [mul_latency(d_w, s_w), mul_latency(c_w, s_w + 1), mul_latency(c_w, s_w)]
}

/// Limbs of a `w`-bit signed operand: 17-bit unsigned limbs and a signed top one of at most 18.
fn limbs(w: usize) -> usize {
    if w <= 18 {
        1
    } else {
        1 + (w - 18).div_ceil(LIMB)
    }
}

/// One requantization of the optimizer's stream (`sgd_unit.v`): the exact value (a product, or
/// the momentum sum) of at most `value_w` bits, signed, rounded into `out_w` bits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamPass {
    /// Bits of the exact value (signed) from the LSB of its finer term.
    pub value_w: usize,
    /// Bits of the result.
    pub out_w: usize,
    /// Dropped digits at most: `sgd_align` clamps there. Either the result no longer changes
    /// beyond (the guard bit lies above the value's sign bit, so the floor is the sign, the guard
    /// the sign and the sticky bit whether the value is nonzero, as for any longer drop), or no
    /// value golden::optim accepts drops more.
    pub drop_max: usize,
    /// Digits streamed: the dropped ones, the result's, and up to a digit whose top bit lies at
    /// or above the value's sign bit however it is aligned (the value starts less than a digit
    /// above the grid when bits are dropped; a left shift is clamped at `out_w` bits, beyond which
    /// every nonzero value overflows and the result's bits are 0).
    pub digits: usize,
}

impl StreamPass {
    /// A value of one term, which no drop can outlast: clamped beyond its width.
    fn single(value_w: usize, out_w: usize) -> StreamPass {
        StreamPass::new(value_w, out_w, 1 + value_w.div_ceil(SGD_DIGIT))
    }

    /// A value that never drops more than `drop_max` digits.
    fn new(value_w: usize, out_w: usize, drop_max: usize) -> StreamPass {
        // the value's sign bit at most at bit DW - 1 + value_w - 1 of the grid when bits are
        // dropped, at out_w + value_w - 1 when it is shifted left
        let right = (SGD_DIGIT - 1 + value_w).div_ceil(SGD_DIGIT);
        let left = (out_w + value_w).div_ceil(SGD_DIGIT);
        let digits = (drop_max + out_w.div_ceil(SGD_DIGIT)).max(right).max(left);
        StreamPass { value_w, out_w, drop_max, digits }
    }
}

/// The schedule of the sequential optimizer (`sgd_unit.v`), two parameters in flight: its one
/// 18 x 18 multiplier walks the partial products of `S scale`, `m mu` and `m' lr` column by
/// column, and its digit stream requantizes `g`, `m'` and `u`. Cycles count from a parameter's
/// `in_valid` (0); a register written in cycle `t` is read from `t + 1`.
#[derive(Debug, Clone, PartialEq)]
pub struct SgdSchedule {
    /// Bits of a digit of the stream ([`SGD_DIGIT`]).
    pub digit: usize,
    /// Limbs of `S`, of `m` (and `m'`), of a mantissa (`fixed.constant` bits, signed).
    pub limbs_s: usize,
    pub limbs_m: usize,
    pub limbs_c: usize,
    /// Bits of the column accumulator: a column's partial products and the carry of the one before.
    pub acc_w: usize,
    /// `g = requant(S scale)`, `m' = requant(m mu + g)`, `u = requant(m' lr)` (into
    /// `fixed.weight + 1` bits: `w - u` then saturates or wraps to the same weight as with the
    /// golden model's 64-bit update register).
    pub pass_g: StreamPass,
    pub pass_m: StreamPass,
    pub pass_u: StreamPass,
    /// With global-norm clipping (`optim.clip_norm > 0`): the clip's product `g factor` and its
    /// stream, between the stream of `g` and that of `m'` (else `pass_c` is unused and
    /// `t_mul_c`, `t_stream_c` are 0). `g` then walks `limbs_s` limbs like `S` (the operand
    /// width `gsx_w` holds both), so the product fills the same product register.
    pub clip: bool,
    pub gsx_w: usize,
    pub pass_c: StreamPass,
    pub t_mul_c: usize,
    pub t_stream_c: usize,
    /// First issue of the partial products of `S scale`, of `m mu` (right after), of `m' lr`.
    pub t_mul_g: usize,
    pub t_mul_m: usize,
    pub t_mul_u: usize,
    /// First digit of the stream of `g`, of `m'`, of `u`.
    pub t_stream_g: usize,
    pub t_stream_m: usize,
    pub t_stream_u: usize,
    /// The cycle that forms `w - u`.
    pub t_weight: usize,
    /// Cycles from `in_valid` to `out_valid`.
    pub latency: usize,
    /// The cycle the final `g` (the clip's, with clipping) is in its register (`g_final`).
    pub g_ready: usize,
    /// Cycles between two parameters (the initiation interval): the next one's first steps (its
    /// products, the stream of g) run beside this one's last (the last registers of `m' lr`, the
    /// stream of u, `w - u`), each on registers the other leaves alone then
    /// (`SgdSchedule::new`). Two at most are in flight.
    pub interval: usize,
}

/// A product whose `n` partial products enter the operand registers from cycle `t`, one a cycle,
/// can be read from cycle `t + n + SGD_MUL_DRAIN`: the last one's product, accumulator and top
/// registers.
const SGD_MUL_DRAIN: usize = 3;

/// A stream whose `n` digits enter the aligner's registers from cycle `t`, one a cycle, has its
/// result readable from cycle `t + n + SGD_STREAM_DRAIN`: the last digit's adder, absorber and
/// rounding registers.
const SGD_STREAM_DRAIN: usize = 3;

impl SgdSchedule {
    /// The schedule for these widths: `gs_w` (the gradient sums), `c_w` (constants), `g`, `m`
    /// (gradient and moment formats, width and fraction bits), `w_w` (weights); `carry` is 1
    /// with stochastic rounding, whose random words, added to a value below its result, can
    /// carry it one bit beyond its width (0 otherwise).
    /// `clip_drop`: with clipping, the most bits the clip's rounding drops (else `None`).
    fn new(
        gs_w: usize,
        c_w: usize,
        g: (usize, usize),
        m: (usize, usize),
        w_w: usize,
        carry: usize,
        clip_drop: Option<usize>,
    ) -> SgdSchedule {
        let ((g_w, g_f), (m_w, m_f)) = (g, m);
        let gsx_w = if clip_drop.is_some() { gs_w.max(g_w) } else { gs_w };
        let (limbs_s, limbs_m, limbs_c) = (limbs(gsx_w), limbs(m_w), limbs(c_w));
        let per_column = limbs_s.max(limbs_m).min(limbs_c);
        let acc_w = 36 + index_width(per_column) as usize + 1;
        let pass_g = StreamPass::single(gs_w + c_w + carry, g_w);
        // g factor, factor = mant 2^-frac < 1: frac bits dropped, the product below g's width
        let pass_c = StreamPass::new(g_w + c_w + carry, g_w, clip_drop.unwrap_or(0).div_ceil(SGD_DIGIT));
        // golden::optim (check_sum) bounds each aligned term of the momentum sum below 2^125 at
        // the finer fraction, so the sum fits 127 bits signed; it drops z - M_F bits, and g's
        // bound (g_w - 1 + z - G_F <= 125) caps that at 126 - g_w + G_F - M_F
        let drop_m = (126 + g_f).saturating_sub(g_w + m_f);
        let pass_m = StreamPass::new(OPT_WIDTH as usize - 1 + carry, m_w, drop_m.div_ceil(SGD_DIGIT));
        let pass_u = StreamPass::single(m_w + c_w + carry, w_w + 1);
        let t_mul_g = 1;
        let t_mul_m = t_mul_g + limbs_s * limbs_c;
        let t_stream_g = t_mul_g + limbs_s * limbs_c + SGD_MUL_DRAIN;
        let m_mu_ready = t_mul_m + limbs_m * limbs_c + SGD_MUL_DRAIN;
        // clipping: g factor once g is out of its stream and m mu out of the multiplier; m' reads
        // the clipped g
        let (t_mul_c, t_stream_c, g_ready) = match clip_drop {
            Some(_) => {
                let t_mul_c =
                    (t_stream_g + pass_g.digits + SGD_STREAM_DRAIN).max(t_mul_m + limbs_m * limbs_c);
                let t_stream_c = t_mul_c + limbs_s * limbs_c + SGD_MUL_DRAIN;
                (t_mul_c, t_stream_c, t_stream_c + pass_c.digits + SGD_STREAM_DRAIN)
            }
            None => (0, 0, t_stream_g + pass_g.digits + SGD_STREAM_DRAIN),
        };
        let t_stream_m = g_ready.max(m_mu_ready);
        let t_mul_u = t_stream_m + pass_m.digits + SGD_STREAM_DRAIN;
        let t_stream_u = t_mul_u + limbs_m * limbs_c + SGD_MUL_DRAIN;
        let t_weight = t_stream_u + pass_u.digits + SGD_STREAM_DRAIN;
        let latency = t_weight + 2;
        // The next parameter enters `interval` cycles after this one. It must not meet this one
        // on a shared register: its first partial product after this one's last (the multiplier,
        // its accumulator: the last product's top is read the cycle the next product's first
        // partial sum is written); its first digit after this one's last (the stream, whose
        // settings travel with the digits); its first write into a product register (a limb
        // of m mu, or of S scale, 3 cycles after that product's first issue at the earliest)
        // after this one's stream has read the register; its m' after this one's output; and
        // this one's w and tag (its slot) free before the parameter after it takes the slot.
        // With clipping, g factor shares S scale's product register (read by the stream of the
        // clip, until t_stream_c + pass_c.digits).
        let first_write = 3;
        let interval = [
            t_mul_u + limbs_m * limbs_c - 1,
            t_stream_u + pass_u.digits - t_stream_g,
            (t_stream_u + pass_u.digits).saturating_sub(t_mul_m + first_write),
            (t_stream_g + pass_g.digits).saturating_sub(t_mul_g + first_write),
            (t_stream_c + pass_c.digits).saturating_sub(t_mul_g + first_write),
            (latency + 1).saturating_sub(t_mul_u),
            (t_weight + 1).div_ceil(2),
        ]
        .into_iter()
        .max()
        .unwrap_or(1);
        SgdSchedule {
            digit: SGD_DIGIT,
            limbs_s,
            limbs_m,
            limbs_c,
            acc_w,
            pass_g,
            pass_m,
            pass_u,
            clip: clip_drop.is_some(),
            gsx_w,
            pass_c,
            t_mul_c,
            t_stream_c,
            t_mul_g,
            t_mul_m,
            t_mul_u,
            t_stream_g,
            t_stream_m,
            t_stream_u,
            t_weight,
            latency,
            g_ready,
            interval,
        }
    }

    /// Partial products of the multiplies (three, four with the clip), one multiplier cycle each.
    pub fn partial_products(&self) -> usize {
        (self.limbs_s * (1 + usize::from(self.clip)) + 2 * self.limbs_m) * self.limbs_c
    }

    /// The controller's wait between two issues (`interval - 1` cycles).
    pub fn last_gap(&self) -> usize {
        self.interval - 1
    }
}

fn invalid(field: &str, value: impl ToString, why: &str) -> Error {
    Error::invalid(field, value, why)
}

fn shown(q: QFormat) -> String {
    format!("Q({},{})", q.width(), q.frac())
}

impl CoreParams {
    /// The values of `config`'s core, or an error naming the field the RTL, or the golden model
    /// its vectors come from, cannot implement ([`crate::capability::Use::Core`]).
    pub fn new(config: &Config) -> Result<CoreParams, Error> {
        config.validate()?;
        crate::arith::fixed::check_model(config)?;
        let (m, f, h) = (&config.model, &config.fixed, &config.hardware);
        check_formats(f)?;
        let lut = f.activation_lut()?;

        let (s_w, s_f, d_w, d_f) =
            (f.state.width(), f.state.frac(), f.derivative.width(), f.derivative.frac());
        let (w_w, w_f, c_w, c_f) = (f.weight.width(), f.weight.frac(), f.constant.width(), f.constant.frac());
        let acc_w = f.accumulator_width;
        let gs_w = f.gradient_sum_width;
        if gs_w + c_w > OPT_WIDTH + 1 {
            return Err(invalid(
                "fixed.gradient_sum_width",
                gs_w,
                &format!(
                    "with the constant width {c_w} the scaling product S * mantissa would exceed the \
                     {OPT_WIDTH}-bit port of golden::optim: at most {} bits",
                    OPT_WIDTH + 1 - c_w
                ),
            ));
        }
        let drive_sum_w = acc_w.max(w_w + s_f) + 1;
        // coeff (x - x_t): c_w + s_w + 1 bits; g adds two of margin; eps g is c_w + g's
        let neuron_g_w = c_w + s_w + 1 + 2;
        if c_w + neuron_g_w + 1 > OPT_WIDTH {
            return Err(invalid(
                "fixed.constant",
                shown(f.constant),
                "the product eps * g of the neuron update would exceed 128 bits",
            ));
        }
        let mul_a_w = w_w.max(s_w);
        let (k, n) = (m.n_x + m.n_h2, m.n_h1);
        let (kt, nt) = (k / h.rows, n / h.cols);
        let stochastic = f.update_rounding == Rounding::Stochastic;
        // the host writes and reads the LFSR states (32 bits) of a stochastic core
        let lfsr_w = if stochastic { 32 } else { 0 };
        let clip = config.optim.clip_norm > 0.0;
        let norm = NormParams::new(f, k * n + k + n)?;
        let optim_adam = config.optim.kind == OptimizerKind::Adam;
        // the host reads the norm unit's results of a clipping core
        let norm_w = if clip { norm.norm_w as u32 } else { 0 };
        // the host's MOMENT word: m, or Adam's {v, m}
        let state_w = f.moment.width() + if optim_adam { f.second_moment.width() } else { 0 };
        let data_w = [w_w, s_w, c_w, gs_w, state_w, f.gradient.width(), lfsr_w, norm_w]
            .into_iter()
            .max()
            .unwrap_or(64);
        let lut_b = f.lut.index_bits;
        let table = |t: &[i64], w: u32| t.iter().map(|&v| hex(v, w)).collect::<Vec<_>>();
        let linear = f.lut.interpolation == Interpolation::Linear;
        let slopes = |t: &[i64], w: u32| match linear && s_w > lut_b {
            true => t.windows(2).map(|p| hex(p[1] - p[0], w + 1)).collect::<Vec<_>>(),
            false => Vec::new(),
        };
        let (rho0, drho0) = lut.eval(0);
        let ideal_step_cycles = 2 * kt * nt;
        let lanes = h.lanes;
        check_pipelines_keep_up(h, kt, nt)?;
        let neuron_latency = neuron_latency(s_w as usize, d_w as usize, c_w as usize, neuron_g_w as usize);
        let tree_levels = index_width(h.rows.max(h.cols)) as usize;
        let drain_cycles = PE_STAGES + tree_levels + 1 + h.rows * lanes + neuron_latency;
        let z = |v: u32| v as usize;
        let clip_drop = clip.then(|| norm.clip_drop(z(c_w), z(f.gradient.frac())));
        Ok(CoreParams {
            n_x: m.n_x,
            n_h1: m.n_h1,
            n_h2: m.n_h2,
            k,
            n,
            rows: h.rows,
            cols: h.cols,
            lanes,
            kt,
            nt,
            t_steps: config.relax.steps,
            s_w: z(s_w),
            s_f: z(s_f),
            d_w: z(d_w),
            d_f: z(d_f),
            w_w: z(w_w),
            w_f: z(w_f),
            c_w: z(c_w),
            c_f: z(c_f),
            g_w: z(f.gradient.width()),
            g_f: z(f.gradient.frac()),
            m_w: z(f.moment.width()),
            m_f: z(f.moment.frac()),
            v_w: z(f.second_moment.width()),
            v_f: z(f.second_moment.frac()),
            os_w: z(state_w),
            acc_w: z(acc_w),
            gs_w: z(gs_w),
            data_w: z(data_w),
            half_even: f.rounding == Rounding::HalfEven,
            update_half_even: f.update_rounding == Rounding::HalfEven,
            update_stochastic: stochastic,
            lfsr_seed_hex: [Stream::Gradient, Stream::Update]
                .map(|s| hex(i64::from(stream_seed(f.lfsr_seed, 0, s)), RANDOM_WORD)),
            wrap: f.overflow == Overflow::Wrap,
            drive_sum_w: z(drive_sum_w),
            neuron_g_w: z(neuron_g_w),
            mul_a_w: z(mul_a_w),
            prod_w: z(mul_a_w + s_w),
            li_w: z(index_width(kt.max(nt))),
            wi_w: z(index_width(kt * nt)),
            sh_w: z(SHIFT_WIDTH),
            unit_w: z(index_width(h.rows * h.cols)),
            sgd: SgdSchedule::new(
                z(gs_w),
                z(c_w),
                (z(f.gradient.width()), z(f.gradient.frac())),
                (z(f.moment.width()), z(f.moment.frac())),
                z(w_w),
                usize::from(stochastic),
                clip_drop,
            ),
            clip,
            norm,
            optim_adam,
            adam: AdamParams::new(f, config.optim.eps, z(SHIFT_WIDTH)),
            rd_latency: HOST_READ_LATENCY,
            neuron_latency,
            drain_cycles,
            lut_b: z(lut_b),
            lut_l: z(s_w - lut_b),
            lut_linear: linear,
            lut_entries: lut.rho_table().len(),
            rho_hex: table(lut.rho_table(), s_w),
            drho_hex: table(lut.drho_table(), d_w),
            rho_dy_hex: slopes(lut.rho_table(), s_w),
            drho_dy_hex: slopes(lut.drho_table(), d_w),
            rho0_hex: hex(rho0, s_w),
            drho0_hex: hex(drho0, d_w),
            step_cycles: ideal_step_cycles + drain_cycles + 1,
            ideal_step_cycles,
        })
    }

    /// Bits of a line of a training stream's `constants_epoch<e>.hex`: a constant's, or Adam's
    /// `eps` when wider.
    pub fn step_word_w(&self) -> usize {
        if self.optim_adam {
            self.c_w.max(self.adam.eps_w)
        } else {
            self.c_w
        }
    }

    /// Cycles between two parameters of an Adam walk (outside pass 1): the Adam unit takes a `g`
    /// every `adam.latency` cycles, and sgd_unit a parameter every `sgd.interval`.
    pub fn adam_interval(&self) -> usize {
        self.adam.latency.max(self.sgd.interval)
    }

    /// The controller's gap counter: the longest wait between two issues.
    pub fn upd_gap_w(&self) -> u32 {
        let adam = if self.optim_adam { self.adam_interval() } else { 0 };
        index_width(self.sgd.interval.max(adam))
    }

    /// Latencies of the neuron pipeline's three products of stage B (`neuron_pipe.v` aligns them).
    pub fn stage_b_latencies(&self) -> [usize; 3] {
        stage_b_latencies(self.s_w, self.d_w, self.c_w)
    }

    /// Latencies of the neuron pipeline's product `eps g`: the K side's (`c_w x neuron_g_w`: a visible
    /// neuron's g) and the N side's (`c_w x (s_w + 1)`: a hidden neuron's `g = h - p`), which
    /// `neuron_pipe.v` delays to the former.
    pub fn et_latencies(&self) -> [usize; 2] {
        [mul_latency(self.c_w, self.neuron_g_w), mul_latency(self.c_w, self.s_w + 1)]
    }

    /// Levels of the reductions' adder trees in `pe_array.v` (at least 1).
    pub fn tree_levels(&self) -> u32 {
        index_width(self.rows.max(self.cols))
    }

    /// Cycles after a step's last MAC until its drives reach the K-side neuron pipeline's input
    /// (the PE's stages and the reduction tree); the controller's drain waits at least this long.
    pub fn pe_drain(&self) -> usize {
        PE_STAGES + self.tree_levels() as usize
    }

    /// Cycles the core's internal reset outlasts `rst`: deeper than every pipeline, so that their
    /// valid bits (which have no reset) have flushed.
    pub fn reset_flush(&self) -> usize {
        self.sgd.latency + self.neuron_latency + self.rows.max(self.cols) + 16
    }

    pub fn flush_w(&self) -> u32 {
        index_width(self.reset_flush() + 1)
    }

    /// Bits of a K-side index (`0..K`) and of an N-side index (`0..N`), as `host_decode` uses them.
    pub fn k_w(&self) -> u32 {
        index_width(self.k + 1)
    }

    pub fn n_w(&self) -> u32 {
        index_width(self.n + 1)
    }

    /// The activation LUT interpolates between entries (linear, with low state bits below the
    /// index): `act_lut.v` then has the slope ROMs.
    pub fn lut_interpolates(&self) -> bool {
        self.lut_linear && self.lut_l > 0
    }

    /// Entries of the ROMs in `act_lut.v`: `2^index_bits` (with interpolation the table's last
    /// entry enters through the top segment's slope).
    pub fn rom_depth(&self) -> usize {
        1 << self.lut_b
    }

    /// Width of the host index ports: every parameter, and every state of every lane
    /// (`lane << state_bits() | i`), has an index.
    pub fn host_index_w(&self) -> u32 {
        // at least 5 bits: the constants' index
        index_width(self.k * self.n + self.k + self.n).max(self.state_bits() + self.lane_w()).max(5)
    }

    /// With stochastic rounding, whether the optimizer's constants `k` keep every rounding within
    /// its stream: a stream walks at most `drop_max` digits below its result (beyond, a floor
    /// or half-even result no longer changes, but `sgd_align` clamps there and a stochastic one
    /// would draw too few words). Only absurd constants reach it (tiny: a gradient scale below
    /// 2^-102, or a learning rate below 2^-88); the host checks before it writes them
    /// (`floweqprop vectors` does, naming the constant). Floor and half-even: always `Ok`.
    pub fn check_update_constants(&self, k: &CoreConstants) -> Result<(), Error> {
        if let Some(clip) = k.clip {
            let most = self.c_w - 2 + CLIP_RANGE;
            if !self.clip || clip.norm.shift as usize > most {
                let why = match self.clip {
                    true => format!("the core clips at norms down to 2^-{CLIP_RANGE} (a shift up to {most})"),
                    false => "the core was generated without clipping (optim.clip_norm 0)".into(),
                };
                return Err(invalid("optim.clip_norm", clip.norm.value(), &why));
            }
        }
        self.check_adam_constants(k)?;
        if !self.update_stochastic {
            return Ok(());
        }
        let drop = |from: u32, to: usize| (i64::from(from) - to as i64).max(0) as usize;
        let (m_f, g_f) = (self.m_f as u32, self.g_f as u32);
        let moment = k.momentum.map_or(g_f, |mu| (m_f + mu.shift).max(g_f));
        for (name, bits, pass) in [
            ("1/(2 relax.beta n)", drop(2 * self.s_f as u32 + k.scale.shift, self.g_f), &self.sgd.pass_g),
            ("optim.momentum", drop(moment, self.m_f), &self.sgd.pass_m),
            ("optim.lr", drop(m_f + k.lr.shift, self.w_f), &self.sgd.pass_u),
        ] {
            if bits.div_ceil(SGD_DIGIT) > pass.drop_max {
                return Err(invalid(
                    name,
                    format!("a rounding of {bits} bits"),
                    &format!(
                        "stochastic rounding in the core draws at most {} words of 32 bits there: \
                         the constant is too small for the core's update",
                        pass.drop_max
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The Adam unit's ranges (`adam_unit.v`, [`AdamParams`]): every shift up to `shift_max`,
    /// `c2`'s up to `c_w - 2`, the divider's shift in `0 ..= qs_max`, `eps` below `2^eps_w`; and
    /// Adam's constants exactly for an Adam core.
    fn check_adam_constants(&self, k: &CoreConstants) -> Result<(), Error> {
        let Some(a) = k.adam else {
            return match self.optim_adam {
                true => Err(invalid("optim.kind", "sgd", "the core was generated for Adam")),
                false => Ok(()),
            };
        };
        if !self.optim_adam {
            return Err(invalid("optim.kind", "adam", "the core was generated for SGD"));
        }
        let beta1 = k.momentum.unwrap_or(Constant { mant: 0, shift: 0 });
        for (name, c) in [
            ("optim.beta1", beta1),
            ("1 - optim.beta1", a.one_minus_beta1),
            ("optim.beta2", a.beta2),
            ("1 - optim.beta2", a.one_minus_beta2),
            ("optim.lr / (1 - beta1^t)", k.lr),
        ] {
            if c.shift as usize > self.adam.shift_max {
                let why = format!(
                    "the core's Adam unit takes constants down to a shift of {}",
                    self.adam.shift_max
                );
                return Err(invalid(name, c.value(), &why));
            }
        }
        let qs = a.quotient_shift;
        if a.c2.shift as usize > self.c_w - 2 || !(0..=self.adam.qs_max as i64).contains(&qs) {
            let why = format!(
                "the core's Adam divider shifts by 0 to {} bits (here {qs}): the learning rate is too small",
                self.adam.qs_max
            );
            return Err(invalid("optim.lr / (1 - beta1^t)", k.lr.value(), &why));
        }
        if a.eps >= 1u128 << self.adam.eps_w {
            let why = format!(
                "eps at the denominator's fraction bits must fit the core's {} bits",
                self.adam.eps_w
            );
            return Err(invalid("optim.eps", a.eps, &why));
        }
        Ok(())
    }

    /// Low bits of a state, `x_t` or `u` index: the neuron (`0..K+N`); the bits above are the lane.
    pub fn state_bits(&self) -> u32 {
        index_width(self.k + self.n)
    }

    /// Bits of a lane index (at least 1: a port cannot be 0 bits wide).
    pub fn lane_w(&self) -> u32 {
        index_width(self.lanes)
    }

    /// Width of the step counter (0..=T).
    /// Neurons of the larger neuron unit.
    pub fn max_unit(&self) -> usize {
        self.kt.max(self.nt)
    }

    pub fn step_w(&self) -> u32 {
        index_width(self.t_steps + 1)
    }

    /// Bits of a `$readmemh` line of a `w`-bit value: `ceil(w/4)` hex digits.
    pub fn hexbits(&self, w: &usize) -> usize {
        w.div_ceil(4) * 4
    }

    /// `HALF_EVEN` parameter of the relaxation's roundings (1 half-even, 0 floor).
    pub fn he(&self) -> u8 {
        u8::from(self.half_even)
    }

    /// `HALF_EVEN` parameter of the optimizer's roundings.
    pub fn update_he(&self) -> u8 {
        u8::from(self.update_half_even)
    }

    /// `WRAP` parameter of every saturation (1 wrap, 0 saturate).
    pub fn wrap_flag(&self) -> u8 {
        u8::from(self.wrap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_widths_and_hex() {
        assert_eq!([1, 2, 3, 4, 5, 16, 17].map(index_width), [1, 1, 2, 2, 3, 4, 5]);
        assert_eq!(hex(-1, 16), "ffff");
        assert_eq!(hex(5, 43), "00000000005");
        assert_eq!(hex(-2, 43), "7fffffffffe");
        assert_eq!(hex(i64::MIN, 64), "8000000000000000");
    }

    #[test]
    fn tiny_core_values() {
        let p = CoreParams::new(&Config::shipped("tiny")).unwrap();
        assert_eq!((p.k, p.n, p.kt, p.nt), (80, 16, 20, 4));
        assert_eq!((p.s_w, p.s_f, p.w_w, p.w_f, p.acc_w), (16, 10, 16, 14, 40));
        // fixed.gradient_sum_width
        assert_eq!(p.gs_w, 48);
        assert_eq!((p.drive_sum_w, p.neuron_g_w), (41, 51));
        assert_eq!((p.li_w, p.wi_w), (5, 7));
        assert_eq!((p.lut_b, p.lut_l, p.lut_entries), (10, 6, 1025));
        // rho(0) = 0, rho'(0) = 1/2 in Q(16,14)
        assert_eq!((p.rho0_hex.as_str(), p.drho0_hex.as_str()), ("0000", "2000"));
        assert_eq!(p.rho_hex[512], "0000");
        // the optimizer: S scale and the clip's g factor of 3 x 2 limbs, m mu and m' lr of 2 x 2;
        // streams of g, m' and u of 5, 5 and 4 digits; the clip (optim.clip_norm 1) sits between
        // g and m'; make hdl-unit measures the latency and runs at the interval (the
        // multiplier's: the next parameter's first partial product after the last of m' lr), and
        // fails at one cycle less
        let s = &p.sgd;
        assert_eq!((s.limbs_s, s.limbs_m, s.limbs_c, s.acc_w, s.partial_products()), (3, 2, 2, 38, 20));
        assert_eq!((s.pass_g.digits, s.pass_m.digits, s.pass_u.digits), (5, 5, 4));
        assert_eq!((s.t_stream_g, s.t_mul_c, s.t_stream_c, s.pass_c.digits), (10, 18, 27, 4));
        assert_eq!((s.t_stream_g, s.t_stream_m, s.t_mul_u, s.t_stream_u, s.t_weight), (10, 34, 42, 49, 56));
        assert_eq!((s.latency, s.interval), (58, 45));
        assert_eq!(p.neuron_latency, 24);
        assert_eq!(p.step_cycles, 160 + p.pe_drain() + 1 + 4 + p.neuron_latency + 1);
        // the host's MOMENT word holds Adam's {v, m}
        assert_eq!((p.os_w, p.data_w), (64, 64));
    }

    /// The stream's digit counts: enough for the result and the value's sign however the value
    /// is aligned, and no more than the worst alignment needs.
    #[test]
    fn stream_passes_cover_the_worst_alignment() {
        // S scale: 80 bits rounded into 32. Dropping 4 digits or more leaves the sign alone (the
        // guard bit, bit 127, above the sign bit at most 31 + 79 = 110); 4 dropped + 1 kept
        let g = StreamPass::single(80, 32);
        assert_eq!((g.drop_max, g.digits), (4, 5));
        // m mu + g in tiny's formats: golden::optim drops at most 126 - 32 bits (3 digits); the
        // sum fits 127 bits from the finer term, less than a digit above the grid: digit 4
        let p = CoreParams::new(&Config::shipped("tiny")).unwrap();
        assert_eq!((p.sgd.pass_m.drop_max, p.sgd.pass_m.digits), (3, 5));
        // m' lr (64 bits) into u (17 bits): 3 dropped + 1
        assert_eq!((p.sgd.pass_u.drop_max, p.sgd.pass_u.digits), (3, 4));
        // the other cores have tiny's optimizer formats
        for name in ["small", "paper", "paper-fpga"] {
            assert_eq!(CoreParams::new(&Config::shipped(name)).unwrap().sgd, p.sgd, "{name}");
        }
        // tests/data/sgd_wide.yaml, whose unit make hdl-unit tests too: S of 4 limbs, m and the
        // mantissas of 3, results of two digits; the multiplier sets the interval there too (the
        // next parameter's first partial product after m' lr's last)
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sgd_wide.yaml");
        let w = CoreParams::new(&Config::from_yaml_file(&path).unwrap()).unwrap().sgd;
        assert_eq!((w.limbs_s, w.limbs_m, w.limbs_c, w.acc_w), (4, 3, 3, 39));
        assert_eq!((w.pass_g.digits, w.pass_m.digits, w.pass_u.digits), (7, 6, 5));
        assert_eq!((w.pass_g.drop_max, w.pass_m.drop_max, w.pass_u.drop_max), (5, 3, 4));
        assert_eq!((w.latency, w.interval, w.t_mul_u + 3 * 3 - 1), (80, 66, 66));
    }

    #[test]
    fn lanes_beyond_the_neuron_pipelines_name_the_field() {
        let mut c = Config::shipped("tiny");
        c.hardware.lanes = 2; // 4 rows x 2 lanes > nt = 4
        let e = CoreParams::new(&c).unwrap_err().to_string();
        assert!(e.contains("hardware.lanes") && e.contains("4 x 2") && e.contains("at most 4"), "{e}");
        c.hardware.lanes = 0;
        let e = CoreParams::new(&c).unwrap_err().to_string();
        assert!(e.contains("hardware.lanes") && e.contains("at least 1"), "{e}");
    }

    /// A stochastic core: its random words can carry a value one bit beyond its width (the
    /// streams' digits count it), the host writes 32-bit LFSR states, and constants that would
    /// drop more words than a stream walks are refused, naming the constant.
    #[test]
    fn stochastic_cores_widen_their_streams_and_check_their_constants() {
        let mut c = Config::shipped("tiny");
        c.fixed.update_rounding = Rounding::Stochastic;
        // the SGD core (the Adam unit's draws: hdl::adam's tests, make cosim-adam-stochastic)
        c.optim.kind = crate::config::OptimizerKind::Sgd;
        let p = CoreParams::new(&c).unwrap();
        assert!(p.update_stochastic && !p.update_half_even && p.data_w >= 32);
        // u: m' lr of 65 bits with the carry, into 17: 4 dropped digits + 1 (half-even: 3 + 1)
        assert_eq!((p.sgd.pass_u.drop_max, p.sgd.pass_u.digits), (4, 5));
        // one cycle more of latency at the same interval (tiny_core_values: 58, 45)
        assert_eq!((p.sgd.latency, p.sgd.interval), (59, 45));
        assert_eq!(p.lfsr_seed_hex[1], hex(i64::from(stream_seed(c.fixed.lfsr_seed, 0, Stream::Update)), 32));
        let sgd = crate::config::OptimConfig { clip_norm: 0.0, ..c.optim.clone() };
        let k = crate::golden::optim::core_constants(&c.fixed, &sgd, c.relax.beta, 0.01, 2, 1).unwrap();
        p.check_update_constants(&k).unwrap();
        // the edges (the doc): a learning rate of 2^-88 (shift 118, u drops 128 bits) and a
        // gradient scale of 2^-102 (shift 132, g drops 128 bits) pass, half of either does not
        let lr =
            |e: i32| crate::golden::optim::core_constants(&c.fixed, &sgd, c.relax.beta, 2f64.powi(e), 2, 1);
        p.check_update_constants(&lr(-88).unwrap()).unwrap();
        let tiny_lr = lr(-89).unwrap();
        let e = p.check_update_constants(&tiny_lr).unwrap_err().to_string();
        assert!(e.contains("optim.lr") && e.contains("129 bits") && e.contains("at most 4 words"), "{e}");
        let scale = |shift: u32| CoreConstants {
            scale: crate::golden::optim::Constant { mant: 1 << 30, shift },
            ..k.clone()
        };
        p.check_update_constants(&scale(132)).unwrap();
        let e = p.check_update_constants(&scale(133)).unwrap_err().to_string();
        assert!(e.contains("1/(2 relax.beta n)") && e.contains("129 bits"), "{e}");
        let half_even =
            CoreParams::new(&Config { fixed: Config::shipped("tiny").fixed, ..c.clone() }).unwrap();
        half_even.check_update_constants(&tiny_lr).unwrap();
    }

    #[test]
    fn unsupported_settings_name_their_field() {
        let mut c = Config::shipped("tiny");
        c.fixed.weight = QFormat::new(40, 20).unwrap();
        c.fixed.accumulator_width = 70;
        let e = CoreParams::new(&c).unwrap_err().to_string();
        assert!(e.contains("fixed.weight") && e.contains("32"), "{e}");
        let mut c = Config::shipped("tiny");
        c.fixed.lut.index_bits = 15;
        let e = CoreParams::new(&c).unwrap_err().to_string();
        assert!(e.contains("fixed.lut.index_bits"), "{e}");
        let mut c = Config::shipped("tiny");
        c.hardware.rows = 3;
        let e = CoreParams::new(&c).unwrap_err().to_string();
        assert!(e.contains("hardware.rows"), "{e}");
    }
}
