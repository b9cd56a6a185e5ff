//! The manifest of a golden-vector folder (`manifest.json`): what each file holds and the run's
//! raw constants. `floweqprop vectors` writes it and `floweqprop hdl --vectors` reads it back
//! (`hdl::manifest`, the testbench's `tb_params.svh`): one type for both, so the writer and the
//! reader cannot drift apart.
//!
//! The JSON keeps serde_json's sorted key order (the committed manifests' order), and a
//! constant is its raw two's complement value in `fixed.constant`.

use crate::error::Error;
use crate::golden::lut::Interpolation;
use crate::golden::optim::{ClipConstants, Constant, CoreConstants, StepReport};
use crate::golden::qformat::{Overflow, QFormat, Rounding};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The file every vector set holds.
pub const MANIFEST: &str = "manifest.json";

/// The manifest's format tag (`format`): v2 lists every step's learning rate (`constants.sgd.steps`)
/// where v1 had one, and a stream's per-step constants are in `constants_epoch<e>.hex`.
pub const FORMAT: &str = "floweqprop-vectors-v2";

/// `manifest.json`: the run's sizes, formats, constants and files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    pub dims: Dims,
    /// The PE array (`hardware.rows` x `hardware.cols`).
    pub rows: usize,
    pub cols: usize,
    /// Relaxation steps of a phase (`relax.steps`).
    #[serde(rename = "T")]
    pub t_steps: usize,
    /// The training recipe of the vectors (optimizer, learning rate, momentum, batch), and
    /// whether it replaced the config's (`vectors::core_recipe`).
    pub recipe: String,
    /// Training steps, samples a step, generated samples and their Euler steps (a training
    /// stream: 0 steps and no generation, `batch` samples a step).
    pub steps: usize,
    pub batch: usize,
    pub gen_samples: usize,
    pub gen_steps: usize,
    pub formats: Formats,
    /// `fixed.accumulator_width` and `fixed.gradient_sum_width`, bits.
    pub accumulator_width: u32,
    pub grad_sum_width: u32,
    pub lut: Lut,
    pub rounding: Rounding,
    pub update_rounding: Rounding,
    pub overflow: Overflow,
    pub constants: Constants,
    /// Saturations of the whole run (every signal class).
    pub saturations: u64,
    /// Every `$readmemh` file, in the order written, with its count of values (lines).
    pub files: Vec<FileEntry>,
    /// A training stream of whole epochs (`floweqprop vectors --epochs`), not step vectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train: Option<TrainStream>,
}

/// A training stream (`floweqprop vectors --epochs`): every epoch trains on `digits` samples,
/// `batch` a step (the last step of an epoch takes the rest), in the order of
/// `samples_epoch<e>.hex`; `constants_epoch<e>.hex` holds the constants of each of its updates
/// (CONST 7 to 10: the gradient scale's mantissa and shift, the learning rate's, a line each, raw
/// in `fixed.constant`, [`STEP_WORDS`] lines a step); `params_epoch<e>.hex` and
/// `moments_epoch<e>.hex` hold the golden model's parameters and momenta after epoch `e` (from 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainStream {
    pub epochs: usize,
    /// Samples an epoch: the first `digits` digits of the data set, paired with noise afresh
    /// every epoch.
    pub digits: usize,
    pub steps_per_epoch: usize,
    /// Samples of the epoch's last step (`batch` when it divides `digits`).
    pub last_step: usize,
    /// The golden model's mean loss of each epoch (at the parameters of each update).
    pub loss: Vec<f64>,
}

/// The network and the fused matrix `M` (`K = n_x + n_h2` rows, `N = n_h1` columns).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dims {
    pub n_x: usize,
    pub n_h1: usize,
    pub n_h2: usize,
    #[serde(rename = "K")]
    pub k: usize,
    #[serde(rename = "N")]
    pub n: usize,
}

/// The `fixed:` formats of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Formats {
    pub state: QFormat,
    pub derivative: QFormat,
    pub weight: QFormat,
    pub constant: QFormat,
    pub gradient: QFormat,
    pub moment: QFormat,
}

/// The activation ROMs (`lut_rho.hex`, `lut_drho.hex`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lut {
    pub index_bits: u32,
    pub interpolation: Interpolation,
    pub entries: usize,
}

/// The constants the host writes, raw in `fixed.constant`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Constants {
    /// The relaxation step `eps`.
    pub eps: i64,
    /// The spring coefficient of each phase: `k`, `k + beta (alpha k)^2`, `k - beta (alpha k)^2`.
    pub coeff: Phases<i64>,
    /// The nudge's coefficient of `u`: `+- beta (alpha k)^2 / (alpha k)`.
    pub c2: Nudged<i64>,
    /// Generation's Euler step `dt alpha`.
    pub dt_alpha: i64,
    pub sgd: Sgd,
}

/// A value of each phase: free, nudged plus, nudged minus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phases<T> {
    pub free: T,
    pub plus: T,
    pub minus: T,
}

/// A value of each nudged phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Nudged<T> {
    pub plus: T,
    pub minus: T,
}

/// The optimizer's constants (`golden::optim::CoreConstants`): those of every update step, and the
/// momentum (`null` without), the config's for the whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sgd {
    /// Step vectors: one per step. A training stream: none here; each epoch's are in
    /// `constants_epoch<e>.hex` ([`TrainStream`]).
    pub steps: Vec<Step>,
    pub momentum: Option<Constant>,
    /// With stochastic update rounding, the optimizer unit's LFSR states at the start of the run
    /// (the host writes them as CONST 15 and 16); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lfsr: Option<LfsrStates>,
    /// With global-norm clipping, its constants (the host writes them as CONST 17 to 19); each
    /// step's norm and clip factor are then in `clip_step<s>.hex` ([`clip_values`]). Absent
    /// without clipping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip: Option<ClipConstants>,
    /// Adam's constants the same every step (CONST 23 to 28; `momentum` is `beta1`, each step's
    /// `lr` is `lr / (1 - beta1^t)`); absent under SGD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adam: Option<AdamStatic>,
}

/// Adam's `1 - beta1`, `beta2` and `1 - beta2`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamStatic {
    pub one_minus_beta1: Constant,
    pub beta2: Constant,
    pub one_minus_beta2: Constant,
}

/// Adam's constants of one step besides `lr_t`: `c2 = 1/sqrt(1 - beta2^t)` (CONST 29, 30) and
/// `eps` at the denominator's fraction bits (CONST 31).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamStep {
    pub c2: Constant,
    pub eps: u64,
}

/// A step's global-norm row as the core's norm unit answers it (CONST 20, 21, 22, the host data
/// width each): the norm in gradient LSBs, the clip factor's mantissa, and `applied << shift_w |
/// frac` (`shift_w`: the core's shift width; mantissa and frac 0 when the clip did not apply).
pub fn clip_values(r: &StepReport, shift_w: usize) -> [u128; 3] {
    let (mant, frac) = r.clip.map_or((0, 0), |(m, f)| (m as u128, u128::from(f)));
    [r.norm_lsb, mant, u128::from(r.clip.is_some()) << shift_w | frac]
}

/// The states of the optimizer unit's two stochastic-rounding LFSRs (`golden::optim`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LfsrStates {
    pub gradient: u32,
    pub update: u32,
}

impl LfsrStates {
    /// The states of `opt`.
    pub fn of(opt: &crate::golden::optim::FixedOptimizer) -> LfsrStates {
        LfsrStates { gradient: opt.lfsr_gradient, update: opt.lfsr_update }
    }

    /// As the lines of a `lfsr_*.hex` file: gradient, then update (32 bits each).
    pub fn values(self) -> [u32; 2] {
        [self.gradient, self.update]
    }
}

/// The constants the host writes before one UPDATE: the gradient scale `1/(2 beta n)` of its
/// `n` samples and the learning rate of its epoch (`optim.schedule`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub scale: Constant,
    pub lr: Constant,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adam: Option<AdamStep>,
}

impl AdamStatic {
    /// The static constants of an Adam step's constants.
    pub fn of(k: &CoreConstants) -> Option<AdamStatic> {
        k.adam.map(|a| AdamStatic {
            one_minus_beta1: a.one_minus_beta1,
            beta2: a.beta2,
            one_minus_beta2: a.one_minus_beta2,
        })
    }
}

/// Lines an SGD step in `constants_epoch<e>.hex`: [`Step::words`].
pub const STEP_WORDS: usize = 4;

/// Lines an Adam step: SGD's, then `c2`'s mantissa and shift and `eps`.
pub const ADAM_STEP_WORDS: usize = 7;

impl From<&CoreConstants> for Step {
    fn from(k: &CoreConstants) -> Step {
        let adam = k.adam.map(|a| AdamStep { c2: a.c2, eps: a.eps as u64 });
        Step { scale: k.scale, lr: k.lr, adam }
    }
}

impl Step {
    /// The step's CONST registers in order: 7 to 10 (scale mantissa, scale shift, lr mantissa,
    /// lr shift), and with Adam 29 to 31 (c2 mantissa, c2 shift, eps).
    pub fn words(&self) -> Vec<i64> {
        let Step { scale, lr, adam } = self;
        let mut w = vec![scale.mant, scale.shift.into(), lr.mant, lr.shift.into()];
        if let Some(a) = adam {
            w.extend([a.c2.mant, a.c2.shift.into(), a.eps as i64]);
        }
        w
    }
}

/// One `$readmemh` file: its name and its number of values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    pub name: String,
    pub values: usize,
}

/// A choice as the manifest spells it (`half_even`).
pub fn spelling(v: impl Serialize) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

impl Manifest {
    /// The JSON text (pretty, keys sorted, a final newline).
    pub fn to_json(&self) -> String {
        // through a Value: its map sorts the keys, the order of the committed manifests
        let value = serde_json::to_value(self).expect("plain data serialises");
        serde_json::to_string_pretty(&value).expect("plain data serialises") + "\n"
    }

    /// Reads `dir/manifest.json`. Errors: the file unreadable, or not a manifest (naming the
    /// file, and serde's field and line).
    pub fn read(dir: &Path) -> Result<Manifest, Error> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        serde_json::from_str(&text).map_err(|e| Error::data(&path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed manifests read into the type and write back byte for byte.
    #[test]
    fn committed_manifests_round_trip() {
        for name in ["tiny", "small", "paper"] {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testvectors").join(name);
            let m = Manifest::read(&dir).unwrap();
            assert_eq!(m.format, FORMAT);
            assert_eq!(m.to_json(), std::fs::read_to_string(dir.join(MANIFEST)).unwrap(), "{name}");
        }
    }

    #[test]
    fn a_malformed_manifest_names_the_file_and_the_field() {
        let dir = std::env::temp_dir().join(format!("fep-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("testvectors/tiny/manifest.json");
        let text = std::fs::read_to_string(committed).unwrap().replace("\"n_h1\"", "\"n_hidden\"");
        std::fs::write(dir.join(MANIFEST), text).unwrap();
        let e = Manifest::read(&dir).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(e.contains("manifest.json") && e.contains("n_h1"), "{e}");
    }
}
