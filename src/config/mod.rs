//! The one configuration value: network sizes, relaxation constants, optimizer, training and
//! generation settings. Defaults are the paper's (SPEC, Table 1); a YAML file overrides any subset
//! of fields, and every value is checked before any work starts. The sections live in
//! [`sections`], the fixed-point formats in [`fixed`]; [`Config`] ties them together and checks
//! what spans sections.

pub mod fixed;
pub mod sections;

use crate::error::Error;
pub use fixed::FixedConfig;
pub use sections::{
    GenerateConfig, HardwareConfig, ModelConfig, OptimConfig, OptimizerKind, RelaxConfig, Schedule,
    TrainConfig, VelocityMode,
};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Everything a run needs.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub model: ModelConfig,
    pub relax: RelaxConfig,
    pub optim: OptimConfig,
    pub train: TrainConfig,
    pub generate: GenerateConfig,
    /// Number formats of the fixed-point core (golden model and hardware).
    pub fixed: FixedConfig,
    /// Shape of the generated core.
    pub hardware: HardwareConfig,
}

impl Config {
    /// Reads a YAML config; absent fields keep their defaults, unknown fields are errors.
    pub fn from_yaml_file(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Config::from_yaml_str(&text, &path.display().to_string())
    }

    /// A config shipped in `configs/` (`tiny` -> `configs/tiny.yaml`), for tests.
    #[cfg(test)]
    pub(crate) fn shipped(name: &str) -> Config {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("configs/{name}.yaml"));
        Config::from_yaml_file(&path).unwrap()
    }

    /// Parses YAML text (`origin` names it in errors) and validates the result.
    pub fn from_yaml_str(text: &str, origin: &str) -> Result<Config, Error> {
        let config: Config = serde_yaml_ng::from_str(text)
            .map_err(|e| Error::Config { origin: origin.to_string(), message: e.to_string() })?;
        config.validate().map_err(|e| e.within(origin))?;
        Ok(config)
    }

    /// Checks every value; the error names the field and the value.
    pub fn validate(&self) -> Result<(), Error> {
        fn check(ok: bool, field: &str, value: impl ToString, why: &str) -> Result<(), Error> {
            if ok {
                Ok(())
            } else {
                Err(Error::invalid(field, value, why))
            }
        }
        let finite_pos = |x: f64| x.is_finite() && x > 0.0;
        let m = &self.model;
        check(
            m.n_x == crate::dataset::N_PIXELS,
            "model.n_x",
            m.n_x,
            "must be 64: the visible units are the pixels of one 8x8 digit",
        )?;
        check(m.n_h1 >= 1, "model.n_h1", m.n_h1, "must be at least 1")?;
        check(m.n_h2 >= 1, "model.n_h2", m.n_h2, "must be at least 1")?;
        check(finite_pos(m.init_gain), "model.init_gain", m.init_gain, "must be > 0")?;
        let r = &self.relax;
        check(r.steps >= 1, "relax.steps", r.steps, "must be at least 1")?;
        check(finite_pos(r.eps), "relax.eps", r.eps, "must be > 0")?;
        check(finite_pos(r.k), "relax.k", r.k, "must be > 0")?;
        check(finite_pos(r.alpha), "relax.alpha", r.alpha, "must be > 0")?;
        check(finite_pos(r.beta), "relax.beta", r.beta, "must be > 0")?;
        let stability = r.eps * r.visible_coefficient();
        check(
            stability < 2.0,
            "relax.eps",
            r.eps,
            &format!(
                "the relaxation diverges: eps*(1+k+beta*(alpha*k)^2) = {stability:.4} must be < 2 \
                 (reduce eps or beta)"
            ),
        )?;
        let nudge = r.nudge();
        check(
            nudge < 1.0 + r.k,
            "relax.beta",
            r.beta,
            &format!(
                "the -beta phase has no minimum: beta*(alpha*k)^2 = {nudge:.4} must be < 1+k = {}",
                1.0 + r.k
            ),
        )?;
        let o = &self.optim;
        check(finite_pos(o.lr), "optim.lr", o.lr, "must be > 0")?;
        check((0.0..1.0).contains(&o.beta1), "optim.beta1", o.beta1, "must be in [0, 1)")?;
        check((0.0..1.0).contains(&o.beta2), "optim.beta2", o.beta2, "must be in [0, 1)")?;
        check(finite_pos(o.eps), "optim.eps", o.eps, "must be > 0")?;
        check(o.clip_norm.is_finite(), "optim.clip_norm", o.clip_norm, "must be finite")?;
        check(
            o.lr_min.is_finite() && o.lr_min >= 0.0 && o.lr_min <= o.lr,
            "optim.lr_min",
            o.lr_min,
            "must be in [0, lr]",
        )?;
        check((0.0..1.0).contains(&o.momentum), "optim.momentum", o.momentum, "must be in [0, 1)")?;
        check(
            o.batch_size <= crate::dataset::N_IMAGES,
            "optim.batch_size",
            o.batch_size,
            &format!(
                "must be at most {} (the digits of the data set; 0 means all of them)",
                crate::dataset::N_IMAGES
            ),
        )?;
        let t = &self.train;
        check(t.epochs >= 1, "train.epochs", t.epochs, "must be at least 1")?;
        check(t.checkpoint_every >= 1, "train.checkpoint_every", t.checkpoint_every, "must be at least 1")?;
        let g = &self.generate;
        check(finite_pos(g.dt) && g.dt <= 1.0, "generate.dt", g.dt, "must be in (0, 1]")?;
        check(finite_pos(g.t1), "generate.t1", g.t1, "must be > 0")?;
        let h = &self.hardware;
        let (k, n) = (m.n_x + m.n_h2, m.n_h1);
        check(
            h.rows >= 1 && k % h.rows == 0,
            "hardware.rows",
            h.rows,
            &format!("must divide n_x + n_h2 = {k} (the rows of the fused weight matrix [W0^T ; W1])"),
        )?;
        check(
            h.cols >= 1 && n % h.cols == 0,
            "hardware.cols",
            h.cols,
            &format!("must divide n_h1 = {n} (the columns of the fused weight matrix)"),
        )?;
        check(h.lanes >= 1, "hardware.lanes", h.lanes, "must be at least 1")?;
        let batch = self.samples_per_update();
        let min = self.fixed.min_gradient_sum_width(batch);
        let state = self.fixed.state;
        let growth = min - 2 * state.width(); // log2(batch) + 1
        let widest = (128 - growth.min(128)) / 2;
        check(
            min <= 128,
            "fixed.state",
            format!("Q({},{})", state.width(), state.frac()),
            &format!(
                "the exact EP-gradient sum of a batch of {batch} needs {min} bits, more than the golden \
                 model's 128: at most {widest} state bits at this batch size"
            ),
        )?;
        check(
            (min..=128).contains(&self.fixed.gradient_sum_width),
            "fixed.gradient_sum_width",
            self.fixed.gradient_sum_width,
            &format!(
                "must be in {min}..=128: the exact EP-gradient sum of a batch of {batch} needs {min} bits"
            ),
        )?;
        self.fixed.validate(&self.model)
    }

    /// Samples behind each update: `optim.batch_size`, or the whole data set when it is 0.
    pub fn samples_per_update(&self) -> usize {
        match self.optim.batch_size {
            0 => crate::dataset::N_IMAGES,
            b => b,
        }
    }

    /// The resolved config as YAML (written next to every run).
    pub fn to_yaml(&self) -> String {
        serde_yaml_ng::to_string(self).expect("a config always serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::choice::Choice;

    /// A choice's flag name is its spelling in a config file.
    fn names_match<T: Choice + Serialize>() {
        for &c in T::ALL {
            assert_eq!(serde_yaml_ng::to_string(&c).unwrap().trim(), c.name());
        }
    }

    #[test]
    fn choices_are_spelled_the_same_in_files_and_flags() {
        names_match::<Schedule>();
        names_match::<OptimizerKind>();
        names_match::<VelocityMode>();
    }

    #[test]
    fn defaults_are_the_paper_settings_and_valid() {
        let c = Config::default();
        assert_eq!((c.model.n_x, c.model.n_h1, c.model.n_h2), (64, 128, 128));
        assert_eq!((c.relax.steps, c.relax.eps, c.relax.k, c.relax.alpha), (300, 0.1, 15.0, 2.0));
        assert_eq!(c.relax.beta, 1.25e-3);
        assert_eq!(c.train.epochs, 2000);
        c.validate().unwrap();
    }

    #[test]
    fn committed_paper_config_is_the_default() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/paper.yaml");
        assert_eq!(Config::from_yaml_file(&path).unwrap(), Config::default());
    }

    #[test]
    fn yaml_overrides_a_subset_and_round_trips() {
        let c = Config::from_yaml_str("relax:\n  steps: 20\ntrain:\n  epochs: 3\n", "t").unwrap();
        assert_eq!(c.relax.steps, 20);
        assert_eq!(c.train.epochs, 3);
        assert_eq!(c.relax.k, 15.0);
        assert_eq!(Config::from_yaml_str(&c.to_yaml(), "t").unwrap(), c);
    }

    #[test]
    fn unknown_field_is_named() {
        let err = Config::from_yaml_str("relax:\n  stepz: 20\n", "cfg.yaml").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("cfg.yaml") && msg.contains("stepz"), "{msg}");
    }

    #[test]
    fn diverging_step_size_is_rejected_up_front() {
        let err = Config::from_yaml_str("relax:\n  beta: 0.01\n", "cfg.yaml").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("relax.eps") && msg.contains("diverges"), "{msg}");
        let err = Config::from_yaml_str("relax:\n  eps: 0.01\n  beta: 0.02\n", "c").unwrap_err();
        assert!(err.to_string().contains("relax.beta") && err.to_string().contains("no minimum"), "{err}");
        let err = Config::from_yaml_str("relax:\n  eps: -1\n", "c").unwrap_err();
        assert!(err.to_string().contains("relax.eps"));
    }

    #[test]
    fn visible_units_must_match_the_images() {
        let err = Config::from_yaml_str("model: {n_x: 8}\n", "c.yaml").unwrap_err().to_string();
        assert!(err.contains("model.n_x") && err.contains("8x8"), "{err}");
    }

    #[test]
    fn array_that_does_not_tile_the_layers_is_named() {
        let err = Config::from_yaml_str("hardware: {rows: 7, cols: 8}\n", "c.yaml").unwrap_err().to_string();
        assert!(err.contains("hardware.rows") && err.contains("192"), "{err}");
        let err = Config::from_yaml_str("hardware: {rows: 8, cols: 0}\n", "c.yaml").unwrap_err().to_string();
        assert!(err.contains("hardware.cols") && err.contains("128"), "{err}");
    }

    #[test]
    fn batch_beyond_the_data_set_is_named() {
        let ok = "optim: {batch_size: 1797}\nfixed: {gradient_sum_width: 48}\n";
        assert_eq!(Config::from_yaml_str(ok, "c.yaml").unwrap().samples_per_update(), 1797);
        let err = Config::from_yaml_str("optim: {batch_size: 1798}\n", "c.yaml").unwrap_err().to_string();
        assert!(err.contains("optim.batch_size") && err.contains("1798") && err.contains("1797"), "{err}");
    }

    #[test]
    fn malformed_yaml_is_an_error_with_origin() {
        let err = Config::from_yaml_str("relax: [1, 2", "bad.yaml").unwrap_err();
        assert!(err.to_string().contains("bad.yaml"), "{err}");
        let err = Config::from_yaml_str("relax:\n  steps: many\n", "bad.yaml").unwrap_err();
        assert!(err.to_string().contains("steps"), "{err}");
    }
}
