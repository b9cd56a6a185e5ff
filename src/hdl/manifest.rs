//! The testbench's view of a golden-vector folder (`floweqprop vectors`): `tb_params.svh` with
//! the run's sizes and raw constants from its [`Manifest`], after checking that the manifest
//! describes the same core as the config (dimensions, array, T, formats, LUT, rounding), so that
//! stale vectors fail with a named field instead of a flood of mismatches.

use super::params::CoreParams;
use super::templates::render_tb_params;
use crate::config::Config;
use crate::error::Error;
use crate::vectors::manifest::spelling;
use crate::vectors::{Manifest, MANIFEST};
use std::path::Path;

/// The field at `path` of the manifest differs from the core's: `got` there, `want` in the core.
fn differs(path: &str, got: impl std::fmt::Display, why: &str) -> Error {
    Error::invalid(&format!("{MANIFEST} {path}"), got, why)
}

/// Checks that `m` describes the core `c` of `config`; the first field that differs is named by
/// its path in the JSON.
fn check(c: &CoreParams, config: &Config, m: &Manifest) -> Result<(), Error> {
    let f = &config.fixed;
    let (mf, u) = (&m.formats, |v: usize| v as u64);
    let mut numbers = vec![
        ("dims.n_x".to_string(), u(m.dims.n_x), u(c.n_x)),
        ("dims.n_h1".to_string(), u(m.dims.n_h1), u(c.n_h1)),
        ("dims.n_h2".to_string(), u(m.dims.n_h2), u(c.n_h2)),
        ("rows".to_string(), u(m.rows), u(c.rows)),
        ("cols".to_string(), u(m.cols), u(c.cols)),
        ("T".to_string(), u(m.t_steps), u(c.t_steps)),
    ];
    for (name, got, want) in [
        ("state", mf.state, f.state),
        ("derivative", mf.derivative, f.derivative),
        ("weight", mf.weight, f.weight),
        ("constant", mf.constant, f.constant),
        ("gradient", mf.gradient, f.gradient),
        ("moment", mf.moment, f.moment),
    ] {
        numbers.push((format!("formats.{name}.width"), got.width().into(), want.width().into()));
        numbers.push((format!("formats.{name}.frac"), got.frac().into(), want.frac().into()));
    }
    numbers.extend([
        ("accumulator_width".to_string(), m.accumulator_width.into(), u(c.acc_w)),
        ("grad_sum_width".to_string(), m.grad_sum_width.into(), u(c.gs_w)),
        ("lut.index_bits".to_string(), m.lut.index_bits.into(), u(c.lut_b)),
        ("lut.entries".to_string(), u(m.lut.entries), u(c.lut_entries)),
    ]);
    for (path, got, want) in numbers {
        if got != want {
            let why = format!("the config's core has {want}: regenerate the vectors (`floweqprop vectors`)");
            return Err(differs(&path, got, &why));
        }
    }
    for (path, got, want) in [
        ("lut.interpolation", spelling(m.lut.interpolation), spelling(f.lut.interpolation)),
        ("rounding", spelling(m.rounding), spelling(f.rounding)),
        ("update_rounding", spelling(m.update_rounding), spelling(f.update_rounding)),
        ("overflow", spelling(m.overflow), spelling(f.overflow)),
    ] {
        if got != want {
            return Err(differs(path, got, &format!("the config's core has {want}")));
        }
    }
    // a stochastic core's tb_core expects the LFSR states of reset to be the run's start
    let lfsr = m.constants.sgd.lfsr.map(|l| l.values().map(|v| crate::golden::qformat::hex(v, 32)));
    if c.update_stochastic && lfsr.as_ref() != Some(&c.lfsr_seed_hex) {
        let why = format!(
            "the config's core resets its LFSRs to {:?} (fixed.lfsr_seed): regenerate the vectors",
            c.lfsr_seed_hex
        );
        return Err(differs("constants.sgd.lfsr", format!("{lfsr:?}"), &why));
    }
    // a clipping core's testbench writes the run's clip norm and compares its norm unit's results
    let clip = m.constants.sgd.clip.as_ref().map(|k| k.norm.value());
    if clip.is_some() != c.clip {
        let why = match c.clip {
            true => "the config's core clips (optim.clip_norm > 0): regenerate the vectors",
            false => "the config's core has no norm unit (optim.clip_norm 0): regenerate the vectors",
        };
        return Err(differs("constants.sgd.clip", format!("{clip:?}"), why));
    }
    let steps = m.constants.sgd.steps.len();
    if steps != m.steps {
        return Err(differs("constants.sgd.steps", steps, &format!("one per step: {}", m.steps)));
    }
    Ok(())
}

/// `tb_params.svh` for the vectors in `dir` (its `manifest.json`), checked against the core `c`
/// of `config`. Errors name the manifest and its field.
pub fn tb_params(c: &CoreParams, config: &Config, dir: &Path) -> Result<String, Error> {
    let m = Manifest::read(dir)?;
    check(c, config, &m).map_err(|e| Error::data(&dir.join(MANIFEST), e))?;
    let dir_text = dir.display().to_string().replace('\\', "/").replace('"', "\\\"");
    render_tb_params(&dir_text, &m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_tb_params(vectors: &str) -> Result<String, Error> {
        let config = Config::shipped("tiny");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testvectors").join(vectors);
        tb_params(&CoreParams::new(&config).unwrap(), &config, &dir)
    }

    /// A stochastic core's testbench gets its LFSR states from vectors of its own seed only.
    #[test]
    fn stochastic_vectors_must_start_at_the_cores_seeds() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/core_stochastic.yaml");
        let config = Config::from_yaml_file(&path).unwrap();
        let o = crate::vectors::VectorOptions { steps: 1, gen_steps: 1, ..Default::default() };
        let files = crate::vectors::emit(&config, &o).unwrap();
        let m: Manifest = serde_json::from_str(&files.last().unwrap().1).unwrap();
        let c = CoreParams::new(&config).unwrap();
        check(&c, &config, &m).unwrap();
        let svh = render_tb_params("v", &m).unwrap();
        assert!(
            svh.contains(&format!(
                "LFSR_UPDATE = 64'sd{};",
                u32::from_str_radix(&c.lfsr_seed_hex[1], 16).unwrap()
            )),
            "{svh}"
        );
        let mut other = config.clone();
        other.fixed.lfsr_seed += 1;
        let e = check(&CoreParams::new(&other).unwrap(), &other, &m).unwrap_err().to_string();
        assert!(e.contains("constants.sgd.lfsr") && e.contains("fixed.lfsr_seed"), "{e}");
        // vectors that clip (at 45) for a core without the norm unit, and the other way round
        let mut plain = config.clone();
        plain.optim.clip_norm = 0.0;
        let e = check(&CoreParams::new(&plain).unwrap(), &plain, &m).unwrap_err().to_string();
        assert!(
            e.contains("constants.sgd.clip") && e.contains("Some(45.0)") && e.contains("no norm unit"),
            "{e}"
        );
        let unclipped: Manifest =
            serde_json::from_str(&crate::vectors::emit(&plain, &o).unwrap().last().unwrap().1).unwrap();
        let e = check(&c, &config, &unclipped).unwrap_err().to_string();
        assert!(e.contains("constants.sgd.clip") && e.contains("None") && e.contains("clips"), "{e}");
    }

    #[test]
    fn committed_tiny_vectors_give_the_testbench_its_constants() {
        let svh = tiny_tb_params("tiny").unwrap();
        assert!(svh.contains("localparam integer STEPS = 4;"), "{svh}");
        assert!(svh.contains("localparam longint C_EPS = 64'sd104858;"), "{svh}");
        assert!(svh.contains("SCALE_MANT [STEPS] = '{64'sd1677721600, "), "{svh}");
        // every step's Adam learning rate lr / (1 - beta1^t) (0.01, 0.0053, 0.0037, 0.0029) and
        // bias correction c2 = 1/sqrt(1 - beta2^t) (4.47, 3.20, 2.65, 2.32); tiny's lr is constant
        assert!(svh.contains("LR_SHIFT [STEPS] = '{64'sd37, 64'sd38, 64'sd39, 64'sd39};"), "{svh}");
        assert!(svh.contains("C2A_SHIFT [STEPS] = '{64'sd28, 64'sd29, 64'sd29, 64'sd29};"), "{svh}");
        assert!(svh.contains("`define TB_ADAM") && svh.contains("OMB1_SHIFT = 64'sd34;"), "{svh}");
    }

    /// A training stream's manifest gives tb_train its sizes, scales and losses, and none of
    /// tb_core's step constants.
    #[test]
    fn a_training_stream_gives_tb_train_its_constants() {
        let config = Config::shipped("tiny");
        let dir = std::env::temp_dir().join(format!("fep-tb-stream-{}", std::process::id()));
        let o = crate::vectors::StreamOptions { epochs: 2, batch: Some(2), digits: 3 };
        let quiet = crate::vectors::stream::StreamProgress { progress: None, log_every: None };
        let m = crate::vectors::emit_stream(&config, &o, &dir, quiet).unwrap();
        let svh = tb_params(&CoreParams::new(&config).unwrap(), &config, &dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let loss = m.train.unwrap().loss;
        for line in [
            "`define TB_TRAIN_STREAM".to_string(),
            "localparam integer EPOCHS = 2;".to_string(),
            "localparam integer STEPS_PER_EPOCH = 2;".to_string(),
            "localparam integer LAST_STEP = 1;".to_string(),
            format!("localparam real GOLDEN_LOSS [EPOCHS] = '{{{:?}, {:?}}};", loss[0], loss[1]),
            format!("// Recipe: {}", m.recipe),
        ] {
            assert!(svh.contains(&line), "{line}\n{svh}");
        }
        assert!(!svh.contains("STEPS =") && !svh.contains("GEN_SAMPLES"), "{svh}");
    }

    /// Step vectors whose manifest lacks a step's constants are refused naming the field: the
    /// testbench would write another step's learning rate before that UPDATE.
    #[test]
    fn a_step_without_its_constants_is_named() {
        let config = Config::shipped("tiny");
        let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("testvectors/tiny");
        let mut m = Manifest::read(&committed).unwrap();
        m.constants.sgd.steps.pop();
        let dir = std::env::temp_dir().join(format!("fep-tb-steps-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(MANIFEST), m.to_json()).unwrap();
        let e = tb_params(&CoreParams::new(&config).unwrap(), &config, &dir).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            e.contains("manifest.json") && e.contains("constants.sgd.steps: 3") && e.contains("4"),
            "{e}"
        );
    }

    #[test]
    fn vectors_of_another_core_are_named() {
        let e = tiny_tb_params("small").unwrap_err().to_string();
        assert!(e.contains("manifest.json") && e.contains("dims.n_h1"), "{e}");
    }
}
