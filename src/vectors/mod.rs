//! Golden test vectors for the generated core (`floweqprop vectors`): a few consecutive SGD
//! training steps and a generation run of the fixed-point golden model, written as `$readmemh`
//! files with a `manifest.json` ([`Manifest`]) that says what each holds. The Verilator testbench compares the
//! RTL against every one of them; `docs/hardware.md` lists the observation points.
//!
//! Every value is written as its two's complement in exactly `ceil(width / 4)` lowercase hex
//! digits, one value per line, `width` being its format's width. Orders:
//! - parameters: the fused matrix `M = [W0^T ; W1]` (`K = n_x + n_h2` rows, `N = n_h1` columns)
//!   row-major, then the K-side biases `[bx ; b1]`, then the N-side biases `b0`;
//! - a sample: `x_t` then `u` (`n_x` each); an equilibrium: `[x | h2 | h1]`;
//! - gradient sums: the parameters' order, `fixed.gradient_sum_width` bits;
//! - overflow counts (`overflows.hex`, 64 bits): the golden model's per-class counts so far
//!   ([`Signal::ALL`]'s order), after each step's update and once more after generation.
//! - with stochastic update rounding, `lfsr_step<s>.hex`: the optimizer's two LFSR states after
//!   step `s` (gradient stream, update stream; 32 bits), which the testbench reads back as CONST
//!   15 and 16.
//! - with global-norm clipping, `clip_step<s>.hex`: step `s`'s norm and clip factor
//!   ([`manifest::clip_values`], the host data width), which the testbench reads back as CONST
//!   20 to 22.
//!
//! The training recipe is the core's: SGD (the config's `optim.lr` and `optim.momentum` when it
//! says `sgd`, else the [`VectorOptions`] defaults), the config's global-norm clip
//! (`optim.clip_norm`), `batch` samples per update, and
//! the config's learning-rate schedule (`optim.schedule`, [`crate::optim::learning_rate`]). Step
//! `s` is the first update of epoch `s` of a run of `steps` epochs (its samples are the head of
//! that epoch's flow batch), so a cosine schedule gives each step its own learning rate; the
//! manifest lists every step's constants (`constants.sgd.steps`: the gradient scale and the
//! learning rate, as `golden::optim::core_constants` makes them for the golden model's update),
//! and the testbench writes them before each UPDATE.

use crate::arith::fixed::{needs_i128, Fixed, Wide};
use crate::arith::Arith;
use crate::config::{Config, OptimizerKind, Schedule, VelocityMode};
use crate::error::Error;
use crate::flow::{epoch_rng, flow_batch, gaussian_noise, init_rng};
use crate::generate::euler_step;
use crate::golden::optim::{core_constants, CoreConstants, FixedOptimizer};
use crate::golden::qformat::{hex_lines, QFormat};
use crate::gradep::{gradep_step, three_phases};
use crate::hdl::params::CoreParams;
use crate::model::{Dims, Params, States};
use crate::optim::learning_rate;
use crate::relax::Packed;
use crate::saturation::{Saturations, Signal};

pub mod manifest;
pub mod stream;

pub use manifest::{FileEntry, LfsrStates, Manifest, MANIFEST};
pub use stream::{emit_stream, StreamOptions};

/// What to emit.
#[derive(Debug, Clone)]
pub struct VectorOptions {
    /// Consecutive training steps (weights carried from step to step).
    pub steps: usize,
    /// Samples per step.
    pub batch: usize,
    /// Samples generated, and Euler steps of generation.
    pub gen_samples: usize,
    pub gen_steps: usize,
}

impl Default for VectorOptions {
    fn default() -> Self {
        VectorOptions { steps: 4, batch: 2, gen_samples: 2, gen_steps: 3 }
    }
}

/// One `$readmemh` file: name and text.
pub type File = (String, String);

/// Parameters in the core's order (module doc; [`Dims::core_walk`]).
pub fn core_order<T: Copy + Default>(p: &Params<T>) -> Vec<T> {
    let tensors = p.tensors();
    p.dims().core_walk().into_iter().map(|(t, i)| tensors[t].1[i]).collect()
}

/// Equilibria in the core's order, a sample after another.
fn states_order(s: &States<i64>, d: Dims) -> Vec<i64> {
    let mut v = Vec::new();
    for i in 0..s.n {
        v.extend(&s.x[i * d.n_x..(i + 1) * d.n_x]);
        v.extend(&s.h2[i * d.n_h2..(i + 1) * d.n_h2]);
        v.extend(&s.h1[i * d.n_h1..(i + 1) * d.n_h1]);
    }
    v
}

/// The config the vectors are made with: the config's optimizer (module doc), `o.steps` epochs
/// of its learning-rate schedule.
pub fn core_recipe(config: &Config, o: &VectorOptions) -> Config {
    let mut c = config.clone();
    c.optim.batch_size = o.batch;
    c.train.epochs = o.steps;
    c.generate.mode = VelocityMode::Energy;
    c
}

/// The constants of update `t` (1 for the first) of `n` samples at learning rate `lr` in the
/// recipe `c`: those the golden optimizer computes for it (`golden::optim::core_constants`).
fn step_constants(c: &Config, lr: f64, n: usize, t: u64) -> Result<CoreConstants, Error> {
    core_constants(&c.fixed, &c.optim, c.relax.beta, lr, n, t)
}

/// The recipe `c` (from [`core_recipe`]) in words, for the manifest and the command's output.
pub fn recipe_note(c: &Config) -> String {
    let o = &c.optim;
    let schedule = match o.schedule {
        Schedule::Constant => "constant learning rate".to_string(),
        Schedule::Cosine => {
            format!("cosine learning rate from {} to {} over {} epochs", o.lr, o.lr_min, c.train.epochs)
        }
    };
    let clip = match o.clip_norm > 0.0 {
        true => format!("global-norm clip {}", o.clip_norm),
        false => "no clipping".into(),
    };
    let rule = match o.kind {
        OptimizerKind::Sgd => format!("sgd lr {} momentum {}", o.lr, o.momentum),
        OptimizerKind::Adam => format!("adam lr {} betas {} {} eps {}", o.lr, o.beta1, o.beta2, o.eps),
    };
    format!(
        "{rule}, {} samples a step, {schedule}, {clip}, {} update rounding (the config's optimizer)",
        o.batch_size,
        manifest::spelling(c.fixed.update_rounding)
    )
}

/// Each parameter's optimizer state in the core's order, as its MOMENT word holds it: `m`, or
/// Adam's `{v, m}` (`v` above `fixed.moment.width()` bits).
pub(crate) fn optimizer_states(opt: &FixedOptimizer, f: &crate::config::FixedConfig) -> Vec<i128> {
    let (m, v) = (core_order(&opt.moment), core_order(&opt.second_moment));
    let mw = f.moment.width();
    let low = (1i128 << mw) - 1;
    m.iter().zip(&v).map(|(&m, &v)| (i128::from(v) << mw) | (i128::from(m) & low)).collect()
}

/// The overflow counts so far, one per [`Signal`] in [`Signal::ALL`]'s order (the core's STATUS
/// 1 + class): a line each in `overflows.hex`, after every step's update and after generation.
pub(crate) fn overflow_counts(sat: &Saturations) -> Vec<u64> {
    Signal::ALL.iter().map(|&c| sat.get(c)).collect()
}

/// The manifest's description of the core and the run's constants in the golden model `a` of
/// the recipe `c` (`recipe` its [`recipe_note`]; `sgd` the optimizer's constants), without the
/// run's sizes, files and counts (0, none), which the caller sets.
fn core_manifest<I: Wide>(a: &Fixed<I>, c: &Config, recipe: String, sgd: manifest::Sgd) -> Manifest {
    let (f, d, r, g) = (&c.fixed, Dims::of(&c.model), &c.relax, &c.generate);
    let nudge = r.nudge();
    let ak = r.alpha * r.k;
    Manifest {
        format: manifest::FORMAT.into(),
        dims: manifest::Dims { n_x: d.n_x, n_h1: d.n_h1, n_h2: d.n_h2, k: d.n_x + d.n_h2, n: d.n_h1 },
        rows: c.hardware.rows,
        cols: c.hardware.cols,
        t_steps: r.steps,
        recipe,
        steps: 0,
        batch: 0,
        gen_samples: 0,
        gen_steps: 0,
        formats: manifest::Formats {
            state: f.state,
            derivative: f.derivative,
            weight: f.weight,
            constant: f.constant,
            gradient: f.gradient,
            moment: f.moment,
        },
        accumulator_width: f.accumulator_width,
        grad_sum_width: f.gradient_sum_width,
        lut: manifest::Lut {
            index_bits: f.lut.index_bits,
            interpolation: f.lut.interpolation,
            entries: a.lut().rho_table().len(),
        },
        rounding: f.rounding,
        update_rounding: f.update_rounding,
        overflow: f.overflow,
        constants: manifest::Constants {
            eps: a.constant(r.eps),
            coeff: manifest::Phases {
                free: a.constant(r.k),
                plus: a.constant(r.k + nudge),
                minus: a.constant(r.k - nudge),
            },
            c2: manifest::Nudged { plus: a.constant(nudge / ak), minus: a.constant(-nudge / ak) },
            dt_alpha: a.constant(g.dt * r.alpha),
            sgd,
        },
        saturations: 0,
        files: Vec::new(),
        train: None,
    }
}

/// Runs the golden model and returns the files (manifest last). Fails with a named error
/// where the config is not one the core runs.
pub fn emit(config: &Config, o: &VectorOptions) -> Result<Vec<File>, Error> {
    for (flag, v) in [("--steps", o.steps), ("--batch", o.batch), ("--gen-samples", o.gen_samples)] {
        if v == 0 {
            return Err(Error::invalid(flag, v, "must be at least 1"));
        }
    }
    if o.batch > crate::dataset::N_IMAGES {
        let why =
            format!("must be at most {}: a step's samples are distinct digits", crate::dataset::N_IMAGES);
        return Err(Error::invalid("--batch", o.batch, &why));
    }
    let c = core_recipe(config, o);
    crate::capability::check(&c, crate::capability::Use::Core)?;
    // every file is held in memory until the folder is written: hex digits and a newline a value
    let d = Dims::of(&c.model);
    let line = |q: QFormat| q.width().div_ceil(4) as f64 + 1.0;
    let states = (d.n_x + d.n_h1 + d.n_h2) as f64;
    let params = d.n_params() as f64;
    let per_step = o.batch as f64 * (2 * d.n_x) as f64 * line(c.fixed.state)
        + o.batch as f64 * 3.0 * states * line(c.fixed.state)
        + params * (c.fixed.gradient_sum_width.div_ceil(4) as f64 + 1.0 + line(c.fixed.weight));
    let generation = (o.gen_steps + 1) as f64 * (o.gen_samples * d.n_x) as f64 * line(c.fixed.state);
    crate::io::check_fits_memory("--steps", o.steps, o.steps as f64 * per_step)?;
    let gen = format!("{} and {}", o.gen_samples, o.gen_steps);
    crate::io::check_fits_memory("--gen-samples and --gen-steps", gen, generation)?;
    match needs_i128(&c) {
        true => emit_with(&Fixed::<i128>::new(&c)?, &c, o),
        false => emit_with(&Fixed::<i64>::new(&c)?, &c, o),
    }
}

/// [`emit`] in the golden model `a` of the recipe `c` (made from `config`).
fn emit_with<I: Wide>(a: &Fixed<I>, c: &Config, o: &VectorOptions) -> Result<Vec<File>, Error> {
    let f = &c.fixed;
    let d = Dims::of(&c.model);
    let images = crate::dataset::Digits::embedded().images;
    let (sw, ww, gw) = (f.state.width(), f.weight.width(), f.gradient_sum_width);

    let lut = a.lut();
    let mut files: Vec<File> = vec![
        ("lut_rho.hex".into(), hex_lines(lut.rho_table(), f.state.width())),
        ("lut_drho.hex".into(), hex_lines(lut.drho_table(), f.derivative.width())),
    ];
    let mut params =
        Params::<f64>::init(d, c.model.init_gain, &mut init_rng(c.train.seed)).map(|v| a.param(v));
    files.push(("params_init.hex".into(), hex_lines(&core_order(&params), ww)));
    let core = CoreParams::new(c)?;
    let mut opt = a.optimizer(d, c);
    let mut sat = Saturations::default();
    let mut overflows = Vec::new();
    let lfsr = core.update_stochastic.then(|| LfsrStates::of(&opt));
    let mut sgd = manifest::Sgd { steps: Vec::new(), momentum: None, lfsr, clip: None, adam: None };
    for s in 0..o.steps {
        let batch = flow_batch::<f64, _>(&mut epoch_rng(c.train.seed, s), &images, d.n_x);
        let q = |v: &[f64]| v[..o.batch * d.n_x].iter().map(|&v| a.state(v)).collect::<Vec<i64>>();
        let (x_t, u) = (q(&batch.x_t), q(&batch.u));
        let mut samples: Vec<i64> = Vec::new();
        for b in 0..o.batch {
            samples.extend(&x_t[b * d.n_x..(b + 1) * d.n_x]);
            samples.extend(&u[b * d.n_x..(b + 1) * d.n_x]);
        }
        files.push((format!("samples_step{s}.hex"), hex_lines(&samples, sw)));
        let eq = three_phases(a, &Packed::new(a, &params), &c.relax, &x_t, &u, &mut sat);
        for (name, st) in [("free", &eq.free), ("plus", &eq.plus), ("minus", &eq.minus)] {
            files.push((format!("{name}_step{s}.hex"), hex_lines(&states_order(st, d), sw)));
        }
        // The training path itself (it must agree with the phases above: same code, same bits).
        let step = gradep_step(a, &params, &c.relax, &x_t, &u)
            .map_err(|p| Error::invalid("vectors", p, "non-finite state in fixed point"))?;
        debug_assert_eq!(step.sum, a.ep_sum(d, &eq.plus, &eq.minus));
        files.push((format!("gradsum_step{s}.hex"), hex_lines(&core_order(&step.sum), gw)));
        // the step's learning rate as `train` computes it for epoch s (module doc)
        let lr = learning_rate(&c.optim, s, c.train.epochs);
        let k = step_constants(c, lr, o.batch, s as u64 + 1)?;
        core.check_update_constants(&k)?;
        sgd.steps.push(manifest::Step::from(&k));
        // the config's, the same every step
        (sgd.momentum, sgd.clip, sgd.adam) = (k.momentum, k.clip, manifest::AdamStatic::of(&k));
        let sum_frac = 2 * f.state.frac();
        let report =
            opt.step(f, &c.optim, c.relax.beta, lr, &mut params, &step.sum, sum_frac, step.n, &mut sat)?;
        files.push((format!("params_step{s}.hex"), hex_lines(&core_order(&params), ww)));
        files.push((format!("moments_step{s}.hex"), hex_lines(&optimizer_states(&opt, f), core.os_w as u32)));
        if k.clip.is_some() {
            let values = manifest::clip_values(&report, core.sh_w + 1);
            files.push((
                format!("clip_step{s}.hex"),
                hex_lines(&values.map(|v| v as i128), core.data_w as u32),
            ));
        }
        if core.update_stochastic {
            files.push((format!("lfsr_step{s}.hex"), hex_lines(&LfsrStates::of(&opt).values(), 32)));
        }
        overflows.extend(overflow_counts(&sat));
    }

    let noise = gaussian_noise(&mut init_rng(c.train.seed.wrapping_add(1)), o.gen_samples, d.n_x);
    let mut x: Vec<i64> = noise.iter().map(|&v| a.state(v)).collect();
    files.push(("gen_x0.hex".into(), hex_lines(&x, sw)));
    let packed = Packed::new(a, &params);
    for e in 0..o.gen_steps {
        euler_step(a, &packed, &c.relax, &c.generate, &mut x, &mut sat);
        files.push((format!("gen_step{e}.hex"), hex_lines(&x, sw)));
    }
    overflows.extend(overflow_counts(&sat));
    files.push(("overflows.hex".into(), hex_lines(&overflows, 64)));

    let manifest = Manifest {
        steps: o.steps,
        batch: o.batch,
        gen_samples: o.gen_samples,
        gen_steps: o.gen_steps,
        saturations: sat.total(),
        files: files.iter().map(|(n, t)| FileEntry { name: n.clone(), values: t.lines().count() }).collect(),
        ..core_manifest(a, c, recipe_note(c), sgd)
    };
    files.push(("config.yaml".into(), c.to_yaml()));
    files.push((MANIFEST.into(), manifest.to_json()));
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::golden::optim::FixedOptimizer;
    use std::path::Path;

    #[test]
    fn core_order_is_fused_matrix_then_biases() {
        let d = Dims { n_x: 2, n_h1: 3, n_h2: 1 };
        let mut p = Params::<i64>::zeros(d);
        p.w0 = vec![1, 2, 3, 4, 5, 6]; // W0[n][k], 3 x 2
        p.w1 = vec![7, 8, 9]; // W1[0][n]
        (p.bx, p.b1, p.b0) = (vec![10, 11], vec![12], vec![13, 14, 15]);
        // M rows: k = 0: W0[.][0] = 1 3 5; k = 1: 2 4 6; k = 2 (h2_0): 7 8 9.
        assert_eq!(core_order(&p), vec![1, 3, 5, 2, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    }

    /// Each vector option out of range is refused naming its flag (not the options' debug form),
    /// and a batch of the whole data set, the upper edge, runs.
    #[test]
    fn options_out_of_range_name_their_flag() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/tiny.yaml");
        let c = Config::from_yaml_file(&path).unwrap();
        let one = VectorOptions { steps: 1, batch: 1, gen_samples: 1, gen_steps: 1 };
        for (o, flag, value) in [
            (VectorOptions { steps: 0, ..one.clone() }, "--steps", "0"),
            (VectorOptions { batch: 0, ..one.clone() }, "--batch", "0"),
            (VectorOptions { gen_samples: 0, ..one.clone() }, "--gen-samples", "0"),
            (VectorOptions { batch: 1798, ..one.clone() }, "--batch", "1798"),
        ] {
            let err = emit(&c, &o).unwrap_err().to_string();
            assert!(err.contains(flag) && err.contains(value) && !err.contains("VectorOptions"), "{err}");
        }
        let files = emit(&c, &VectorOptions { batch: 1797, ..one }).unwrap();
        let free = &files.iter().find(|(f, _)| f == "free_step0.hex").unwrap().1;
        assert_eq!(free.lines().count(), 1797 * (64 + 16 + 16));
    }

    /// A cosine schedule trains in the vectors as the config says: step `s` gets the learning
    /// rate `train` gives epoch `s` of a run of `steps` epochs, the manifest lists every step's
    /// constants as the golden optimizer makes them (`core_constants`), each step's learning rate
    /// differs from the one before, and the training used them: against the same config with a
    /// constant schedule, the first update (the same learning rate) gives the same weights and
    /// every later one other weights.
    #[test]
    fn a_cosine_schedule_gives_every_step_its_constants() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/core_cosine.yaml");
        let cosine = Config::from_yaml_file(&path).unwrap();
        let o = VectorOptions { steps: 4, batch: 2, gen_samples: 1, gen_steps: 1 };
        let files = emit(&cosine, &o).unwrap();
        let get = |files: &[File], n: &str| files.iter().find(|(f, _)| f == n).unwrap().1.clone();
        let m: Manifest = serde_json::from_str(&get(&files, MANIFEST)).unwrap();
        let c = core_recipe(&cosine, &o);
        assert_eq!(c.optim.schedule, Schedule::Cosine);
        assert!(m.recipe.contains("cosine learning rate from 0.005 to 0.0001 over 4 epochs"), "{}", m.recipe);
        let steps = &m.constants.sgd.steps;
        assert_eq!(steps.len(), 4);
        let mut lr_values = Vec::new();
        for (s, step) in steps.iter().enumerate() {
            let lr = learning_rate(&c.optim, s, 4);
            let k = core_constants(&c.fixed, &c.optim, c.relax.beta, lr, 2, 1).unwrap();
            assert_eq!(*step, manifest::Step::from(&k), "step {s}");
            assert_eq!(step.scale, steps[0].scale, "step {s}: the same samples a step");
            let value = step.lr.value();
            assert!((value / lr - 1.0).abs() < 1e-9, "step {s}: {value} for {lr}");
            lr_values.push(value);
        }
        // from 0.005 down towards 0.0001, a step below the one before
        assert!(lr_values.windows(2).all(|w| w[1] < w[0]) && lr_values[3] < 0.001, "{lr_values:?}");
        assert_eq!(
            m.constants.sgd.momentum,
            core_constants(&c.fixed, &c.optim, c.relax.beta, c.optim.lr, 2, 1).unwrap().momentum
        );
        let mut constant = cosine.clone();
        constant.optim.schedule = Schedule::Constant;
        let flat = emit(&constant, &o).unwrap();
        assert_eq!(get(&files, "params_step0.hex"), get(&flat, "params_step0.hex"));
        for s in 1..4 {
            let name = format!("params_step{s}.hex");
            assert_ne!(get(&files, &name), get(&flat, &name), "{name}");
        }
    }

    /// The tiny core's vectors: every file the manifest lists, with the right counts, and the
    /// training steps move the weights.
    #[test]
    fn tiny_vectors_are_complete_and_consistent() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/tiny.yaml");
        let c = Config::from_yaml_file(&path).unwrap();
        let o = VectorOptions { steps: 2, batch: 2, gen_samples: 2, gen_steps: 1 };
        let files = emit(&c, &o).unwrap();
        let get = |n: &str| &files.iter().find(|(f, _)| f == n).unwrap_or_else(|| panic!("{n}")).1;
        let (k, n) = (80, 16);
        assert_eq!(get("params_init.hex").lines().count(), k * n + k + n);
        assert_ne!(get("params_init.hex"), get("params_step0.hex"));
        assert_ne!(get("params_step0.hex"), get("params_step1.hex"));
        assert_eq!(get("free_step1.hex").lines().count(), 2 * (64 + 16 + 16));
        assert_eq!(get("gradsum_step0.hex").lines().next().unwrap().len(), 12);
        assert_eq!(get("lut_rho.hex").lines().count(), 1025);
        let manifest: serde_json::Value = serde_json::from_str(get("manifest.json")).unwrap();
        assert_eq!(manifest["constants"]["coeff"]["free"], 15 << 20);
        assert_eq!(manifest["dims"]["K"], 80);
        for entry in manifest["files"].as_array().unwrap() {
            let name = entry["name"].as_str().unwrap();
            assert_eq!(get(name).lines().count() as u64, entry["values"].as_u64().unwrap(), "{name}");
        }
        // The default recipe exercises the arithmetic, not only its rails: no saturation, and
        // most weights moved.
        assert_eq!(manifest["saturations"], 0);
        let moved =
            get("params_init.hex").lines().zip(get("params_step1.hex").lines()).filter(|(a, b)| a != b);
        assert!(moved.count() > k * n / 2);
        // Reproducible: the same config gives the same bits.
        assert_eq!(emit(&c, &o).unwrap(), files);
    }

    /// `overflows.hex` of the overflow core (make cosim-overflow): counts that only grow, reach
    /// every class the SGD core counts (so the cosimulation's comparison of them can fail), agree
    /// with the manifest's total, and none for the second moment, which SGD never rounds.
    #[test]
    fn overflow_counts_reach_every_class_of_the_sgd_core() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/core_overflow.yaml");
        let c = Config::from_yaml_file(&path).unwrap();
        let o = VectorOptions::default();
        let files = emit(&c, &o).unwrap();
        let get = |n: &str| &files.iter().find(|(f, _)| f == n).unwrap_or_else(|| panic!("{n}")).1;
        let counts: Vec<u64> =
            get("overflows.hex").lines().map(|l| u64::from_str_radix(l, 16).unwrap()).collect();
        let n = Signal::ALL.len();
        assert_eq!(counts.len(), (o.steps + 1) * n);
        let rows: Vec<&[u64]> = counts.chunks(n).collect();
        for pair in rows.windows(2) {
            assert!(pair[0].iter().zip(pair[1]).all(|(a, b)| a <= b), "{pair:?}");
        }
        let last = rows[o.steps];
        for (i, class) in Signal::ALL.iter().enumerate() {
            match class {
                Signal::SecondMoment => assert_eq!(last[i], 0),
                _ => assert!(last[i] > 0, "no {} overflow: {last:?}", class.name()),
            }
        }
        let manifest: serde_json::Value = serde_json::from_str(get(MANIFEST)).unwrap();
        assert_eq!(manifest["saturations"], last.iter().sum::<u64>());
    }

    /// The stochastic core's vectors (make cosim-stochastic) differ from those of the same
    /// config with half-even update rounding: the same first gradient sums, other
    /// parameters after every step, and the LFSR states of every step, which move.
    #[test]
    fn stochastic_vectors_differ_from_half_even_ones() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let c = Config::from_yaml_file(&root.join("tests/data/core_stochastic.yaml")).unwrap();
        let mut tiny = c.clone();
        tiny.fixed.update_rounding = crate::golden::qformat::Rounding::HalfEven;
        let o = VectorOptions::default();
        let (sr, he) = (emit(&c, &o).unwrap(), emit(&tiny, &o).unwrap());
        let get = |files: &[File], n: &str| files.iter().find(|(f, _)| f == n).map(|(_, t)| t.clone());
        assert_eq!(get(&sr, "gradsum_step0.hex"), get(&he, "gradsum_step0.hex"));
        let (mut last, start) = (String::new(), c.fixed.lfsr_seed);
        for s in 0..o.steps {
            let (a, b) = (
                get(&sr, &format!("params_step{s}.hex")).unwrap(),
                get(&he, &format!("params_step{s}.hex")).unwrap(),
            );
            let differ = a.lines().zip(b.lines()).filter(|(x, y)| x != y).count();
            assert!(differ > a.lines().count() / 10, "step {s}: {differ} parameters differ");
            let lfsr = get(&sr, &format!("lfsr_step{s}.hex")).unwrap();
            assert!(lfsr.lines().count() == 2 && lfsr != last, "step {s}: {lfsr}");
            assert_eq!(get(&he, &format!("lfsr_step{s}.hex")), None);
            last = lfsr;
        }
        let m: serde_json::Value = serde_json::from_str(&get(&sr, "manifest.json").unwrap()).unwrap();
        let want = FixedOptimizer::new(Dims::of(&c.model), &c.fixed);
        assert_eq!(m["constants"]["sgd"]["lfsr"]["update"], want.lfsr_update);
        assert_ne!(want.lfsr_update, start);
    }
}
