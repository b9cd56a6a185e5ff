//! The training stream of the generated core (`floweqprop vectors --epochs N`): whole epochs of
//! the golden model's training on the digits, written for a testbench (`templates/tb_train.sv`)
//! that trains the core through its host port and compares its parameters after every epoch.
//!
//! The stream comes from the training loop itself ([`crate::train::train_watched`]): a
//! [`Watch`] writes the samples of every update as the loop draws them and the parameters and
//! momenta after every epoch, so the stream is what `train` computes with the same recipe and
//! seed, not a second copy of the loop. The golden run's own files (`config.yaml`, `loss.csv`,
//! `saturation.csv`, `checkpoint.json`, `loss.png`) go to `golden/` beside them.
//!
//! Files (hex as in the module [`crate::vectors`]), each written as it comes, so that an epoch
//! of samples is never held whole, here or in the testbench (which reads it with `$fscanf`):
//! - `params_init.hex`: the initial parameters;
//! - `samples_epoch<e>.hex`: every sample of epoch `e` (from 0) in training order, `x_t` then `u`;
//!   update `s` takes the next `batch` of them (the epoch's last, the rest);
//! - `constants_epoch<e>.hex`: the constants of each update of epoch `e`, the words of CONST 7 to
//!   10 ([`Step::words`]: the gradient scale of the update's samples, the learning rate of the
//!   epoch under `optim.schedule`), as the golden optimizer computed them for that update
//!   (`golden::optim::core_constants` of the learning rate and samples `train` gave it);
//! - `params_epoch<e>.hex`, `moments_epoch<e>.hex`: parameters and SGD momenta after epoch `e`;
//! - `overflows_epoch<e>.hex`: the overflow counts of epoch `e`, per class (64 bits, as the step
//!   vectors' `overflows.hex`), which the testbench reads from the core and clears after each;
//! - `manifest.json` with its `train` section ([`TrainStream`]): sizes, loss per epoch.

use super::manifest::{FileEntry, Sgd, Step, TrainStream};
use super::{
    core_manifest, core_order, core_recipe, overflow_counts, recipe_note, step_constants, LfsrStates,
    Manifest, VectorOptions, MANIFEST,
};
use crate::arith::fixed::{needs_i128, Fixed, Wide};
use crate::checkpoint::EpochRecord;
use crate::config::Config;
use crate::dataset::N_IMAGES;
use crate::error::Error;
use crate::golden::optim::FixedOptimizer;
use crate::golden::qformat::hex_lines;
use crate::io::{replace_folder_with, synced_file, SyncedFile};
use crate::model::Params;
use crate::progress::Progress;
use crate::saturation::Saturations;
use crate::train::{train_watched, RunOptions, Watch};
use std::path::Path;
use std::time::Duration;

/// What to stream.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// Whole epochs (`--epochs`).
    pub epochs: usize,
    /// Samples a step (`--batch`); `None`: the config's `optim.batch_size` (0: the whole epoch).
    pub batch: Option<usize>,
    /// Samples an epoch: the first `digits` of the data set (`--digits`).
    pub digits: usize,
}

/// The subfolder of the golden run's own files.
pub const GOLDEN_RUN: &str = "golden";

/// How a stream reports progress: a display over the epochs, or without one a line on stderr at
/// least this often ([`RunOptions`]).
pub struct StreamProgress {
    pub progress: Option<Box<dyn Progress>>,
    pub log_every: Option<Duration>,
}

/// The recipe of a stream: the core's SGD ([`core_recipe`]) with `o`'s batch, for `o.epochs`
/// epochs (the span of a cosine schedule) with one checkpoint at the end. Errors name the flag out of range.
pub fn stream_recipe(config: &Config, o: &StreamOptions) -> Result<Config, Error> {
    if o.epochs == 0 {
        return Err(Error::invalid("--epochs", 0, "must be at least 1"));
    }
    if o.digits == 0 || o.digits > N_IMAGES {
        return Err(Error::invalid(
            "--digits",
            o.digits,
            &format!("must be 1 to {N_IMAGES}, the data set's digits"),
        ));
    }
    let batch = match o.batch {
        Some(b) if b == 0 || b > o.digits => {
            let why = format!("must be 1 to --digits ({}): samples a step of an epoch", o.digits);
            return Err(Error::invalid("--batch", b, &why));
        }
        Some(b) => b,
        None => match config.optim.batch_size {
            0 => o.digits,
            b => b.min(o.digits),
        },
    };
    let mut c = core_recipe(config, &VectorOptions { batch, ..Default::default() });
    c.train.epochs = o.epochs;
    c.train.checkpoint_every = o.epochs;
    crate::capability::check(&c, crate::capability::Use::Core)?;
    Ok(c)
}

/// Trains the golden model as `o` says and writes the stream into the folder `out` (replaced
/// whole, only if every epoch is written). Returns the manifest.
pub fn emit_stream(
    config: &Config,
    o: &StreamOptions,
    out: &Path,
    p: StreamProgress,
) -> Result<Manifest, Error> {
    let c = stream_recipe(config, o)?;
    let mut manifest = None;
    replace_folder_with(out, MANIFEST, |dir| {
        manifest = Some(match needs_i128(&c) {
            true => stream_with(&Fixed::<i128>::new(&c)?, &c, o.digits, dir, p)?,
            false => stream_with(&Fixed::<i64>::new(&c)?, &c, o.digits, dir, p)?,
        });
        Ok(())
    })?;
    Ok(manifest.expect("the folder was filled"))
}

/// [`emit_stream`] in the golden model `a` of the recipe `c` (made from `config`), into `dir`.
fn stream_with<I: Wide>(
    a: &Fixed<I>,
    c: &Config,
    digits: usize,
    dir: &Path,
    p: StreamProgress,
) -> Result<Manifest, Error> {
    let (f, d) = (&c.fixed, crate::model::Dims::of(&c.model));
    let batch = c.optim.batch_size;
    let steps = digits.div_ceil(batch);
    let last_step = digits - (steps - 1) * batch;
    let core = crate::hdl::params::CoreParams::new(c)?;
    let lfsr = core.update_stochastic.then(|| LfsrStates::of(&crate::arith::Arith::optimizer(a, d, c)));
    let images = crate::dataset::Digits::embedded().images;
    let mut w = StreamWriter {
        dir,
        recipe: c,
        widths: (f.state.width(), f.weight.width(), core.os_w as u32, core.step_word_w() as u32),
        step_sizes: (0..steps).map(|s| if s + 1 == steps { last_step } else { batch }).collect(),
        samples: None,
        constants: Vec::new(),
        momentum: None,
        clip: None,
        adam: None,
        updates: 0,
        files: Vec::new(),
        loss: Vec::new(),
        saturations: 0,
        core: &core,
    };
    let init =
        crate::model::Params::<f64>::init(d, c.model.init_gain, &mut crate::flow::init_rng(c.train.seed));
    w.write_file(
        "params_init.hex",
        &core_order(&init.map(|v| crate::arith::Arith::param(a, v))),
        w.widths.1,
    )?;
    let opts =
        RunOptions { out: dir.join(GOLDEN_RUN), progress: p.progress, log_every: p.log_every, stop: None };
    let trained = train_watched(a, c, &images[..digits * d.n_x], None, &opts, &mut w)?;
    debug_assert_eq!(trained.history.len(), c.train.epochs);
    let manifest = Manifest {
        batch,
        saturations: w.saturations,
        files: w.files,
        train: Some(TrainStream {
            epochs: c.train.epochs,
            digits,
            steps_per_epoch: steps,
            last_step,
            loss: w.loss,
        }),
        ..core_manifest(
            a,
            c,
            recipe_note(c),
            Sgd { steps: Vec::new(), momentum: w.momentum, lfsr, clip: w.clip, adam: w.adam },
        )
    };
    let mut file = synced_file(&dir.join(MANIFEST))?;
    file.write(manifest.to_json())?;
    file.finish()?;
    Ok(manifest)
}

/// The [`Watch`] that writes the stream's files as training goes.
struct StreamWriter<'a> {
    dir: &'a Path,
    /// The recipe `train` runs.
    recipe: &'a Config,
    /// Bits of a state, a weight, a moment, a constant.
    widths: (u32, u32, u32, u32),
    /// Samples of each update of an epoch, as the recipe says `train` splits it.
    step_sizes: Vec<usize>,
    /// The open samples file of the current epoch: its epoch, the file, its values.
    samples: Option<(usize, SyncedFile, usize)>,
    /// The current epoch's update constants so far ([`Step::words`], a step after another).
    constants: Vec<i64>,
    /// The momentum constant (the config's, the same every update).
    momentum: Option<crate::golden::optim::Constant>,
    /// The clip's constants (the config's, the same every update), when it clips.
    clip: Option<crate::golden::optim::ClipConstants>,
    /// Adam's constants the same every update.
    adam: Option<crate::vectors::manifest::AdamStatic>,
    /// Updates so far: Adam's step `t` is one more.
    updates: u64,
    files: Vec<FileEntry>,
    loss: Vec<f64>,
    /// Saturations of the whole run, every signal class.
    saturations: u64,
    /// The core the stream is for: its limits on the update constants, whether it rounds
    /// stochastically (then the LFSR states after every epoch are written too).
    core: &'a crate::hdl::params::CoreParams,
}

impl StreamWriter<'_> {
    fn write_file<T: Copy + Into<i128>>(
        &mut self,
        name: &str,
        values: &[T],
        width: u32,
    ) -> Result<(), Error> {
        let mut file = synced_file(&self.dir.join(name))?;
        file.write(hex_lines(values, width))?;
        file.finish()?;
        self.files.push(FileEntry { name: name.to_string(), values: values.len() });
        Ok(())
    }
}

impl<I: Wide> Watch<Fixed<I>> for StreamWriter<'_> {
    fn update(&mut self, epoch: usize, step: usize, x_t: &[i64], u: &[i64], lr: f64) -> Result<(), Error> {
        let n_x = self.recipe.model.n_x;
        let n = x_t.len() / n_x;
        if self.step_sizes.get(step) != Some(&n) {
            // the testbench replays the recipe's split: a loop that differs is a bug here
            let why = format!("expected {:?} samples", self.step_sizes.get(step));
            return Err(Error::invalid(
                "training stream",
                format!("epoch {epoch} step {step}: {n} samples"),
                &why,
            ));
        }
        self.updates += 1;
        let k = step_constants(self.recipe, lr, n, self.updates)?;
        self.core.check_update_constants(&k)?;
        self.constants.extend(Step::from(&k).words());
        (self.momentum, self.clip, self.adam) =
            (k.momentum, k.clip, crate::vectors::manifest::AdamStatic::of(&k));
        if step == 0 {
            let name = format!("samples_epoch{epoch}.hex");
            self.samples = Some((epoch, synced_file(&self.dir.join(name))?, 0));
        }
        let (_, file, values) = self.samples.as_mut().expect("opened at step 0");
        let sw = self.widths.0;
        for (x, u) in x_t.chunks(n_x).zip(u.chunks(n_x)) {
            file.write(hex_lines(x, sw))?;
            file.write(hex_lines(u, sw))?;
            *values += 2 * n_x;
        }
        Ok(())
    }

    fn epoch(
        &mut self,
        record: &EpochRecord,
        params: &Params<i64>,
        opt: &FixedOptimizer,
        sat: &Saturations,
    ) -> Result<(), Error> {
        let (epoch, file, values) = self.samples.take().expect("an epoch has updates");
        file.finish()?;
        self.files.push(FileEntry { name: format!("samples_epoch{epoch}.hex"), values });
        let (_, ww, ow, cw) = self.widths;
        let constants = std::mem::take(&mut self.constants);
        self.write_file(&format!("constants_epoch{epoch}.hex"), &constants, cw)?;
        self.write_file(&format!("params_epoch{epoch}.hex"), &core_order(params), ww)?;
        let states = crate::vectors::optimizer_states(opt, &self.recipe.fixed);
        self.write_file(&format!("moments_epoch{epoch}.hex"), &states, ow)?;
        self.write_file(&format!("overflows_epoch{epoch}.hex"), &overflow_counts(sat), 64)?;
        if self.core.update_stochastic {
            self.write_file(&format!("lfsr_epoch{epoch}.hex"), &LfsrStates::of(opt).values(), 32)?;
        }
        self.loss.push(record.loss);
        self.saturations += sat.total();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{epoch_rng, flow_batch};
    use crate::train::{train, RunOptions};
    use crate::vectors::manifest::ADAM_STEP_WORDS;
    use std::path::PathBuf;

    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("fep-stream-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn quiet() -> StreamProgress {
        StreamProgress { progress: None, log_every: None }
    }

    /// The stream is what `train` computes with the same recipe and seed: each epoch's samples
    /// in the order the epoch's flow batch draws them (x_t then u, sample after sample), and the
    /// parameters after every epoch those of a plain `train` run of that many epochs; the
    /// manifest's losses are `train`'s, and its sizes say how the epochs were split.
    #[test]
    fn the_stream_is_what_train_computes() {
        let config = Config::shipped("tiny");
        let o = StreamOptions { epochs: 2, batch: Some(3), digits: 7 };
        let out = scratch("equal");
        let m = emit_stream(&config, &o, &out, quiet()).unwrap();
        let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();
        let t = m.train.as_ref().unwrap();
        assert_eq!((t.epochs, t.digits, t.steps_per_epoch, t.last_step, m.batch), (2, 7, 3, 1, 3));
        // Adam's constants, 7 words an update: the gradient scale the same but for the last
        // update's (its 1 sample against 3), the learning rate lr / (1 - beta1^t) and the bias
        // correction of every update t, counted across the epochs
        let constants: Vec<String> = read("constants_epoch0.hex").lines().map(str::to_string).collect();
        let w = ADAM_STEP_WORDS;
        assert_eq!(constants.len(), 3 * w);
        assert_eq!(constants[..2], constants[w..w + 2]);
        assert_ne!(constants[..2], constants[2 * w..2 * w + 2]);
        assert_ne!(constants[2..w], constants[w + 2..2 * w]);
        assert_ne!(read("constants_epoch0.hex"), read("constants_epoch1.hex"));
        assert!(m.recipe.contains("adam lr 0.001 betas 0.9 0.95") && m.recipe.contains("3 samples a step"));
        assert!(m.constants.sgd.adam.is_some());

        let c = stream_recipe(&config, &o).unwrap();
        let a = Fixed::<i64>::new(&c).unwrap();
        let (d, sw) = (crate::model::Dims::of(&c.model), c.fixed.state.width());
        let images = &crate::dataset::Digits::embedded().images[..7 * d.n_x];
        for e in 0..2 {
            let batch = flow_batch::<f64, _>(&mut epoch_rng(c.train.seed, e), images, d.n_x);
            let q = |v: &[f64]| v.iter().map(|&v| crate::arith::Arith::state(&a, v)).collect::<Vec<i64>>();
            let (x_t, u) = (q(&batch.x_t), q(&batch.u));
            let mut order = String::new();
            for (x, u) in x_t.chunks(d.n_x).zip(u.chunks(d.n_x)) {
                order += &(hex_lines(x, sw) + &hex_lines(u, sw));
            }
            assert_eq!(read(&format!("samples_epoch{e}.hex")), order, "epoch {e}");

            let mut plain = c.clone();
            plain.train.epochs = e + 1;
            let run = scratch(&format!("train{e}"));
            let opts = RunOptions { out: run.clone(), progress: None, log_every: None, stop: None };
            let trained = train(&a, &plain, images, None, &opts).unwrap();
            let params = hex_lines(&core_order(&trained.params), c.fixed.weight.width());
            assert_eq!(read(&format!("params_epoch{e}.hex")), params, "epoch {e}");
            let ck = crate::checkpoint::Checkpoint::load(&run.join("checkpoint.json")).unwrap();
            let opt = crate::arith::Arith::load_optimizer(&a, c.optim.kind, &ck.optimizer).unwrap();
            // Adam's {v, m}, as the core's MOMENT words
            let states = crate::vectors::optimizer_states(&opt, &c.fixed);
            let moments = hex_lines(&states, c.fixed.moment.width() + c.fixed.second_moment.width());
            assert_eq!(read(&format!("moments_epoch{e}.hex")), moments, "epoch {e}");
            assert_eq!(t.loss[..=e], trained.history.iter().map(|r| r.loss).collect::<Vec<_>>()[..]);
            std::fs::remove_dir_all(run).unwrap();
        }
        assert_ne!(read("params_epoch0.hex"), read("params_epoch1.hex"));
        for f in &m.files {
            assert_eq!(read(&f.name).lines().count(), f.values, "{}", f.name);
        }
        assert_eq!(m, Manifest::read(&out).unwrap());
        assert!(out.join(GOLDEN_RUN).join("loss.csv").exists());
        std::fs::remove_dir_all(out).unwrap();
    }

    /// A cosine stream: `constants_epoch<e>.hex` holds every update's constants as the golden
    /// optimizer makes them (`core_constants`) for the learning rate the golden run logged for the
    /// epoch (its `loss.csv`) and the update's samples: the learning rate changes from epoch to
    /// epoch, and the epoch's last, partial update has its own gradient scale.
    #[test]
    fn a_cosine_stream_records_every_update_constants() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/core_cosine.yaml");
        let config = Config::from_yaml_file(&path).unwrap();
        let o = StreamOptions { epochs: 3, batch: Some(3), digits: 7 };
        let out = scratch("cosine");
        let m = emit_stream(&config, &o, &out, quiet()).unwrap();
        let c = stream_recipe(&config, &o).unwrap();
        let logged = crate::train::read_loss_csv(&out.join(GOLDEN_RUN).join("loss.csv")).unwrap();
        assert!(m.recipe.contains("cosine learning rate from 0.005 to 0.0001 over 3 epochs"), "{}", m.recipe);
        assert!(m.constants.sgd.steps.is_empty() && m.constants.sgd.momentum.is_some());
        let mut epochs: Vec<Vec<Step>> = Vec::new();
        for (e, record) in logged.iter().enumerate() {
            let text = std::fs::read_to_string(out.join(format!("constants_epoch{e}.hex"))).unwrap();
            let k = |n: usize| Step::from(&step_constants(&c, record.lr, n, 1).unwrap());
            let steps = vec![k(3), k(3), k(1)];
            let words: Vec<i64> = steps.iter().flat_map(Step::words).collect();
            assert_eq!(text, hex_lines(&words, c.fixed.constant.width()), "epoch {e}");
            epochs.push(steps);
        }
        assert_eq!(epochs.len(), 3);
        for e in 0..3 {
            let (first, last) = (epochs[e][0], epochs[e][2]);
            assert!(first.scale != last.scale && first.lr == last.lr, "epoch {e}");
            if e > 0 {
                assert!(
                    first.lr != epochs[e - 1][0].lr && first.scale == epochs[e - 1][0].scale,
                    "epoch {e}"
                );
            }
        }
        std::fs::remove_dir_all(out).unwrap();
    }

    /// Out-of-range options are refused naming their flag and value, before anything is written;
    /// a batch left to the config (tiny: 0, the whole epoch) is the epoch's digits.
    #[test]
    fn bad_options_name_their_flag() {
        let config = Config::shipped("tiny");
        let one = StreamOptions { epochs: 1, batch: None, digits: 5 };
        for (o, flag, value) in [
            (StreamOptions { epochs: 0, ..one.clone() }, "--epochs", "0"),
            (StreamOptions { digits: 0, ..one.clone() }, "--digits", "0"),
            (StreamOptions { digits: 1798, ..one.clone() }, "--digits", "1798"),
            (StreamOptions { batch: Some(0), ..one.clone() }, "--batch", "0"),
            (StreamOptions { batch: Some(6), ..one.clone() }, "--batch", "6"),
        ] {
            let out = scratch("bad");
            let err = emit_stream(&config, &o, &out, quiet()).unwrap_err().to_string();
            assert!(err.contains(&format!("{flag}: {value}")), "{err}");
            assert!(!out.exists(), "{flag} {value}: nothing written");
        }
        assert_eq!(stream_recipe(&config, &one).unwrap().optim.batch_size, 5);
        let all = StreamOptions { digits: N_IMAGES, ..one };
        assert_eq!(stream_recipe(&config, &all).unwrap().optim.batch_size, N_IMAGES);
    }
}
