//! One check of what a config can run on, made by every command before any work: a command
//! asks for the use it makes of the config, and every limit it states is one that all the parts
//! of that use reach. (Before, `hdl` rendered cores whose vectors `vectors` could not make,
//! `vectors` made vectors for cores `hdl` refused, and `train --arith fixed` refused constants
//! only after its start banner.)

use crate::arith::fixed::check_model;
use crate::config::Config;
use crate::error::Error;

/// What a command does with a config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Float training, sampling and evaluation: the whole file's structure ([`Config::validate`]:
    /// every section, the `fixed:` formats and `hardware:` array included, since one file is the
    /// source of truth for every use), but not whether the float settings fit `fixed.constant`,
    /// which only fixed-point runs use (a float study of `relax.k` needs no constant format).
    Float,
    /// The fixed-point golden model (`train --arith fixed`, `sweep`): also the formats, every
    /// on-chip constant in `fixed.constant`, and a datapath (`i64` or `i128`, chosen from the
    /// formats) that holds every intermediate.
    FixedModel,
    /// The generated core and its golden vectors (`hdl`, `vectors`, `make cosim`, `make fpga`):
    /// also every limit of the RTL and its testbench (`hdl::CoreParams::new`).
    Core,
}

/// Checks `config` for `what`; the error names the field, its value and the limit.
pub fn check(config: &Config, what: Use) -> Result<(), Error> {
    match what {
        Use::Float => config.validate(),
        Use::FixedModel => config.validate().and_then(|_| check_model(config)),
        // the core's limits include the golden model's (its vectors come from it)
        Use::Core => crate::hdl::params::CoreParams::new(config).map(drop),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arith::fixed::needs_i128;
    use crate::vectors::{emit, VectorOptions};

    fn tiny_with(replace: &[(&str, &str)]) -> Config {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/tiny.yaml");
        let mut text = std::fs::read_to_string(path).unwrap();
        for (from, to) in replace {
            assert!(text.contains(from), "{from}");
            text = text.replace(from, to);
        }
        Config::from_yaml_str(&text, "tiny-variant.yaml").unwrap()
    }

    fn refused(c: &Config, what: Use) -> String {
        check(c, what).unwrap_err().to_string()
    }

    fn vectors(c: &Config) -> Result<usize, Error> {
        let o = VectorOptions { steps: 1, gen_steps: 1, ..Default::default() };
        emit(c, &o).map(|files| files.len())
    }

    /// A core whose sums need the i128 datapath: `hdl` rendered it but `vectors` failed naming
    /// a type the user cannot choose. Now both accept it (make cosim-wide checks its RTL).
    #[test]
    fn sums_beyond_53_bits_make_vectors_on_the_wide_datapath() {
        let wide = tiny_with(&[
            ("state: {width: 16, frac: 10}", "state: {width: 32, frac: 26}"),
            ("accumulator_width: 40", "accumulator_width: 55"),
            ("gradient_sum_width: 48", "gradient_sum_width: 76"),
        ]);
        assert!(needs_i128(&wide));
        check(&wide, Use::Core).unwrap();
        assert!(vectors(&wide).unwrap() > 10);
        crate::hdl::render(&wide).unwrap();
    }

    /// What the core cannot run is refused by `vectors` as by `hdl` (vectors were written for
    /// 16-bit LUT indices), while the golden model takes it; stochastic update rounding and
    /// wrapping the core runs, with SGD and with Adam.
    #[test]
    fn vectors_refuse_what_the_core_refuses() {
        let (c, field) = (tiny_with(&[("index_bits: 10", "index_bits: 15")]), "fixed.lut.index_bits");
        check(&c, Use::FixedModel).unwrap();
        assert!(refused(&c, Use::Core).contains(field), "{field}");
        let e = vectors(&c).unwrap_err().to_string();
        assert!(e.contains(field), "{e}");
        // the edge the core takes, and stochastic rounding
        let c = tiny_with(&[("index_bits: 10", "index_bits: 14")]);
        check(&c, Use::Core).unwrap();
        let sgd =
            [("kind: adam", "kind: sgd"), ("update_rounding: half_even", "update_rounding: stochastic")];
        check(&tiny_with(&sgd), Use::Core).unwrap();
        let adam = [
            ("update_rounding: half_even", "update_rounding: stochastic"),
            ("overflow: saturate", "overflow: wrap"),
        ];
        check(&tiny_with(&adam), Use::Core).unwrap();
    }

    /// Constants that do not fit or round to zero: `hdl` generated a core for them that the
    /// golden model could not run. Now every fixed-point use refuses them, float runs take them.
    #[test]
    fn constants_the_format_cannot_hold_are_refused_for_every_fixed_point_use() {
        let constant = |q: &str| tiny_with(&[("constant: {width: 32, frac: 20}", &format!("constant: {q}"))]);
        for (q, why) in [
            ("{width: 12, frac: 8}", "relax.k = 15 does not fit"),
            ("{width: 32, frac: 2}", "rounds to zero"),
        ] {
            let c = constant(q);
            check(&c, Use::Float).unwrap();
            for what in [Use::FixedModel, Use::Core] {
                let e = refused(&c, what);
                assert!(e.contains("fixed.constant") && e.contains(why), "{what:?}: {e}");
            }
            assert!(crate::hdl::render(&c).is_err() && vectors(&c).is_err());
        }
        // the edges: the largest constant, 1/(2 beta) = 400, needs 9 integer bits and a sign;
        // the smallest, optim.lr = 0.001, 9 fraction bits (it rounds to 2^-9)
        for (fits, refused_as) in [
            ("{width: 30, frac: 20}", ("{width: 29, frac: 20}", "1/(2 beta)) = 400 does not fit")),
            ("{width: 32, frac: 9}", ("{width: 32, frac: 8}", "optim.lr = 0.001 rounds to zero")),
        ] {
            check(&constant(fits), Use::Core).unwrap();
            let e = refused(&constant(refused_as.0), Use::FixedModel);
            assert!(e.contains(refused_as.1), "{e}");
        }
    }
}
