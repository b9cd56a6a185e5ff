//! The fixed-point formats of a core (the `fixed:` section of a config): the one place that says
//! how wide every signal class of the datapath is, how it rounds and what it does on overflow.
//! The golden model, the HDL generator and the test vectors all read it.
//!
//! Signal classes:
//! - `state`: the neuron values x, h1, h2 and the activations rho(h) (one format, so that
//!   `[x | rho(h2)] * [W0^T ; W1]` is a single exact integer product);
//! - `derivative`: rho'(h);
//! - `weight`: W0, W1, b0, b1, bx;
//! - `constant`: the relaxation and learning constants held on chip (eps, k, the nudge, 1/(2 beta),
//!   the learning rate);
//! - `accumulator_width`: the exact dot-product accumulator, wide enough never to overflow, so
//!   that summation order cannot change a bit.

use super::sections::{GenerateConfig, ModelConfig, OptimConfig, RelaxConfig};
use crate::error::Error;
use crate::golden::lut::{ActivationLut, Interpolation, LutConfig};
use crate::golden::qformat::{Overflow, QFormat, Rounding};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

/// Reads a `{width, frac}` format ([`QFormat`]'s own deserialiser, checked by `QFormat::new`),
/// naming its field in the error (serde's own message would name only the enclosing section).
macro_rules! format_field {
    ($read:ident, $field:literal) => {
        fn $read<'de, D: Deserializer<'de>>(d: D) -> Result<QFormat, D::Error> {
            QFormat::deserialize(d).map_err(|e| D::Error::custom(format!("{}: {e}", $field)))
        }
    };
}
format_field!(read_state, "fixed.state");
format_field!(read_derivative, "fixed.derivative");
format_field!(read_weight, "fixed.weight");
format_field!(read_constant, "fixed.constant");
format_field!(read_gradient, "fixed.gradient");
format_field!(read_moment, "fixed.moment");
format_field!(read_second_moment, "fixed.second_moment");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FixedConfig {
    #[serde(deserialize_with = "read_state")]
    pub state: QFormat,
    #[serde(deserialize_with = "read_derivative")]
    pub derivative: QFormat,
    #[serde(deserialize_with = "read_weight")]
    pub weight: QFormat,
    #[serde(deserialize_with = "read_constant")]
    pub constant: QFormat,
    /// The scaled EP gradient handed to the optimizer.
    #[serde(deserialize_with = "read_gradient")]
    pub gradient: QFormat,
    /// SGD momentum buffer / Adam's first moment.
    #[serde(deserialize_with = "read_moment")]
    pub moment: QFormat,
    /// Adam's second moment.
    #[serde(deserialize_with = "read_second_moment")]
    pub second_moment: QFormat,
    /// Bits of the dot-product accumulator (at `state.frac + weight.frac` fraction bits).
    pub accumulator_width: u32,
    /// Bits of each parameter's EP-gradient sum over a batch (at `2 state.frac` fraction bits):
    /// at least `2 state.width + ceil(log2(batch)) + 1`, so that it never overflows.
    pub gradient_sum_width: u32,
    pub lut: LutConfig,
    /// Rounding at every requantization of the relaxation datapath (floor or half_even).
    pub rounding: Rounding,
    /// Rounding of the optimizer's requantizations (any mode; stochastic draws from the LFSR).
    pub update_rounding: Rounding,
    /// What every requantization does when the value does not fit.
    pub overflow: Overflow,
    /// Seed of the LFSR behind stochastic rounding (nonzero).
    pub lfsr_seed: u32,
}

fn q(width: u32, frac: u32) -> QFormat {
    QFormat::new(width, frac).expect("a valid built-in format")
}

impl Default for FixedConfig {
    /// The paper core: 16-bit neurons and weights, a 40-bit accumulator, 32-bit constants.
    fn default() -> Self {
        FixedConfig {
            state: q(16, 10),
            derivative: q(16, 14),
            weight: q(16, 14),
            constant: q(32, 20),
            gradient: q(32, 24),
            moment: q(32, 24),
            second_moment: q(32, 30),
            accumulator_width: 40,
            gradient_sum_width: 48,
            lut: LutConfig { index_bits: 10, interpolation: Interpolation::Linear },
            rounding: Rounding::HalfEven,
            update_rounding: Rounding::HalfEven,
            overflow: Overflow::Saturate,
            lfsr_seed: 1,
        }
    }
}

impl FixedConfig {
    /// The narrowest accumulator that holds any sum of the relaxation's dot products: a
    /// `state x weight` product needs `state.width + weight.width` bits, and a drive adds up to
    /// `max(n_x + n_h2, n_h1)` products and one bias.
    pub fn min_accumulator_width(&self, m: &ModelConfig) -> u32 {
        let terms = (m.n_x + m.n_h2).max(m.n_h1) + 1;
        let growth = usize::BITS - (terms - 1).leading_zeros();
        self.state.width() + self.weight.width() + growth
    }

    /// The narrowest exact gradient sum over `batch` samples: each sample adds two products of
    /// states, `|a+ b+ - a- b-| <= 2^(2 state.width - 1)`.
    pub fn min_gradient_sum_width(&self, batch: usize) -> u32 {
        let growth = usize::BITS - batch.max(1).saturating_sub(1).leading_zeros();
        2 * self.state.width() + growth + 1
    }

    /// The on-chip constants, each named by the setting it comes from.
    pub fn constants(r: &RelaxConfig, o: &OptimConfig, g: &GenerateConfig) -> Vec<(&'static str, f64)> {
        let nudge = r.nudge();
        vec![
            ("relax.eps", r.eps),
            ("generate.dt (dt alpha)", g.dt * r.alpha),
            ("relax.k", r.k),
            ("relax.beta (nudge beta*(alpha*k)^2)", nudge),
            ("relax.beta (k + nudge)", r.k + nudge),
            ("relax.beta (k - nudge)", r.k - nudge),
            ("relax.beta (nudge / (alpha*k))", nudge / (r.alpha * r.k)),
            ("relax.beta (1/(2 beta))", 1.0 / (2.0 * r.beta)),
            ("optim.lr", o.lr),
        ]
    }

    /// Checks the formats against the network: accumulator width, LUT, LFSR seed. Errors name
    /// the field. (Independent of the float settings, so a float run never fails on it.)
    pub fn validate(&self, m: &ModelConfig) -> Result<(), Error> {
        let min = self.min_accumulator_width(m);
        if min > 128 {
            return Err(Error::invalid(
                "fixed.state",
                format!("Q({},{})", self.state.width(), self.state.frac()),
                &format!(
                    "with weight Q({},{}) the widest drive's exact sum needs {min} bits, more than the golden \
                     model's 128: narrow the state or the weight by {} bits",
                    self.weight.width(),
                    self.weight.frac(),
                    min - 128
                ),
            ));
        }
        if self.accumulator_width < min || self.accumulator_width > 128 {
            return Err(Error::invalid(
                "fixed.accumulator_width",
                self.accumulator_width,
                &format!(
                    "must be in {min}..=128: a product of state Q({},{}) and weight Q({},{}) summed over \
                     the widest drive needs {min} bits",
                    self.state.width(),
                    self.state.frac(),
                    self.weight.width(),
                    self.weight.frac()
                ),
            ));
        }
        if self.rounding == Rounding::Stochastic {
            return Err(Error::invalid(
                "fixed.rounding",
                "stochastic",
                "the relaxation rounds with floor or half_even (its roundings run in parallel, so \
                 they cannot share one LFSR sequence); stochastic rounding is for fixed.update_rounding",
            ));
        }
        if self.lfsr_seed == 0 {
            return Err(Error::invalid("fixed.lfsr_seed", 0, "must be nonzero (an LFSR stuck at 0)"));
        }
        self.activation_lut().map(drop)
    }

    /// The activation LUT of these formats (`rho` and the state in `state`, `rho'` in
    /// `derivative`), or an error naming `fixed.lut` when it cannot cover the state range.
    pub fn activation_lut(&self) -> Result<ActivationLut, Error> {
        ActivationLut::new(self.state, self.state, self.derivative, &self.lut)
            .map_err(|e| Error::invalid("fixed.lut", self.lut.to_string(), &e.to_string()))
    }

    /// Checks that every on-chip constant of `r` and `o` fits the constant format and does not
    /// round to zero; run where the fixed-point core is used.
    pub fn check_constants(&self, r: &RelaxConfig, o: &OptimConfig, g: &GenerateConfig) -> Result<(), Error> {
        let c = self.constant;
        let shown = format!("Q({},{})", c.width(), c.frac());
        for (name, value) in Self::constants(r, o, g) {
            let (raw, overflowed) = c
                .from_f64(value, Overflow::Saturate)
                .map_err(|e| Error::invalid("fixed.constant", &shown, &e.to_string()))?;
            if overflowed || raw == 0 {
                let why = if overflowed { "does not fit" } else { "rounds to zero" };
                let range = format!("range {}..{}, LSB {}", c.min_value(), c.max_value(), c.lsb());
                return Err(Error::invalid(
                    "fixed.constant",
                    &shown,
                    &format!("{name} = {value} {why} ({range})"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::FixedConfig;
    use crate::config::Config;

    fn err(yaml: &str) -> String {
        Config::from_yaml_str(yaml, "core.yaml").unwrap_err().to_string()
    }

    #[test]
    fn paper_core_formats_are_valid_and_accumulator_is_exactly_wide_enough() {
        let c = Config::default();
        c.validate().unwrap();
        assert_eq!(c.fixed.min_accumulator_width(&c.model), 40);
    }

    #[test]
    fn bad_formats_are_named() {
        let e = err("fixed:\n  state: {width: 70, frac: 10}\n");
        assert!(e.contains("fixed.state") && e.contains("width 70"), "{e}");
        let e = err("fixed:\n  weight: {width: 16, frac: 20}\n");
        assert!(e.contains("fixed.weight") && e.contains("fraction bits 20 exceed width 16"), "{e}");
        let e = err("fixed:\n  weight: {width: 16, frac: 12, sign: true}\n");
        assert!(e.contains("fixed.weight") && e.contains("sign"), "{e}");
    }

    #[test]
    fn narrow_gradient_sum_is_rejected_with_the_minimum() {
        assert_eq!(FixedConfig::default().min_gradient_sum_width(1797), 44);
        assert_eq!(FixedConfig::default().min_gradient_sum_width(1), 33);
        let e = err("fixed:\n  gradient_sum_width: 43\n");
        assert!(e.contains("fixed.gradient_sum_width") && e.contains("44..=128"), "{e}");
        Config::from_yaml_str("optim: {batch_size: 4}\nfixed: {gradient_sum_width: 35}\n", "c").unwrap();
    }

    /// A state too wide for any gradient sum names the state and its limit (it said
    /// `gradient_sum_width: 128: must be in 129..=128`); the same for the accumulator.
    #[test]
    fn formats_no_sum_can_hold_name_the_format_and_the_limit() {
        let at = |state: u32, sum: u32| {
            format!(
                "optim: {{batch_size: 1}}\nfixed: {{state: {{width: {state}, frac: 40}}, weight: {{width: 8, frac: 6}}, \
                 accumulator_width: 128, gradient_sum_width: {sum}}}\n"
            )
        };
        Config::from_yaml_str(&at(63, 127), "c").unwrap();
        let e = err(&at(64, 128));
        assert!(
            e.contains("fixed.state") && e.contains("Q(64,40)") && e.contains("at most 63 state bits"),
            "{e}"
        );
        let e = err(
            "optim: {batch_size: 1}\nfixed: {state: {width: 60, frac: 40}, weight: {width: 64, frac: 40}, \
                     accumulator_width: 128, gradient_sum_width: 121}\n",
        );
        assert!(e.contains("fixed.state") && e.contains("132 bits") && e.contains("by 4 bits"), "{e}");
    }

    #[test]
    fn narrow_accumulator_is_rejected_with_the_minimum() {
        let e = err("fixed:\n  accumulator_width: 39\n");
        assert!(e.contains("fixed.accumulator_width") && e.contains("40..=128"), "{e}");
    }

    fn constants_err(yaml: &str) -> String {
        let c = Config::from_yaml_str(yaml, "core.yaml").unwrap();
        c.fixed.check_constants(&c.relax, &c.optim, &c.generate).unwrap_err().to_string()
    }

    #[test]
    fn constant_that_rounds_to_zero_or_overflows_is_named() {
        let c = Config::default();
        c.fixed.check_constants(&c.relax, &c.optim, &c.generate).unwrap();
        let e = constants_err("fixed:\n  constant: {width: 32, frac: 8}\n");
        assert!(
            e.contains("fixed.constant") && e.contains("optim.lr") && e.contains("rounds to zero"),
            "{e}"
        );
        let e = constants_err("fixed:\n  constant: {width: 16, frac: 8}\n");
        assert!(e.contains("1/(2 beta)") && e.contains("does not fit"), "{e}");
        let e = constants_err("generate:\n  dt: 1.0e-7\n");
        assert!(e.contains("generate.dt") && e.contains("rounds to zero"), "{e}");
        let e = constants_err("relax:\n  beta: 1.0e-9\n");
        assert!(e.contains("nudge") && e.contains("rounds to zero"), "{e}");
    }

    #[test]
    fn lut_that_cannot_cover_the_state_range_is_rejected() {
        let e = err("fixed:\n  state: {width: 16, frac: 12}\n  accumulator_width: 48\n");
        assert!(e.contains("fixed.lut") && e.contains("saturate"), "{e}");
        let e = err("fixed:\n  lut: {index_bits: 17, interpolation: linear}\n");
        assert!(e.contains("fixed.lut") && e.contains("exceeds the state width"), "{e}");
        // the value as the config writes it, not the Rust type's debug form
        assert!(e.contains("{index_bits: 17, interpolation: linear}") && !e.contains("LutConfig"), "{e}");
        let e = err("fixed:\n  rounding: stochastic\n");
        assert!(e.contains("fixed.rounding") && e.contains("update_rounding"), "{e}");
        let e = err("fixed:\n  lfsr_seed: 0\n");
        assert!(e.contains("fixed.lfsr_seed"), "{e}");
    }
}
