//! The training loop: per epoch, a flow-matching batch of the whole data set, GradEP measurements
//! and updates, in any [`Arith`]. Writes `config.yaml`, `loss.csv` (a line per epoch),
//! `checkpoint.json` (every `train.checkpoint_every` epochs and at the end), `loss.png`, and
//! for fixed-point runs `saturation.csv` (overflows per signal class per epoch).

use crate::arith::dispatch::{run_in, ArithKind, ArithTask};
use crate::arith::Arith;
use crate::checkpoint::{Checkpoint, EpochRecord};
use crate::config::Config;
use crate::error::Error;
use crate::flow::{epoch_rng, flow_batch, init_rng};
use crate::gradep::gradep_step;
use crate::io::atomic_write;
use crate::model::{Dims, Params};
use crate::optim::learning_rate;
use crate::plot::{line_plot_png, LinePlot, Series};
use crate::progress::Progress;
use crate::saturation::{Saturations, Signal};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Where a run writes, and how it reports.
pub struct RunOptions {
    pub out: PathBuf,
    /// A progress display over the epochs (`commands::terminal::Bar` on a terminal); `None`: none.
    pub progress: Option<Box<dyn Progress>>,
    /// Without the bar, a progress line on stderr at least this often (a log would otherwise
    /// show one line per checkpoint); `None`: only the checkpoint lines.
    pub log_every: Option<std::time::Duration>,
    /// Set (by a signal handler) to stop at the end of the current epoch with a checkpoint.
    pub stop: Option<Arc<AtomicBool>>,
}

/// The files of a run's folder: the resolved config, the loss per epoch and its plot, the
/// saturations per epoch (fixed point only), the checkpoint.
pub const CONFIG_FILE: &str = "config.yaml";
pub const LOSS_CSV: &str = "loss.csv";
pub const LOSS_PNG: &str = "loss.png";
pub const SATURATION_CSV: &str = "saturation.csv";
pub const CHECKPOINT_FILE: &str = "checkpoint.json";
const RUN_FILES: [&str; 5] = [CONFIG_FILE, LOSS_CSV, LOSS_PNG, SATURATION_CSV, CHECKPOINT_FILE];

/// Paths of a run's outputs.
pub fn checkpoint_path(out: &Path) -> PathBuf {
    out.join(CHECKPOINT_FILE)
}

/// The lock file of a run folder: the id of the process training in it.
const LOCK_FILE: &str = ".floweqprop.lock";

/// A run folder held by this process while it trains there ([`lock_run_folder`]); dropping it
/// frees the folder. A lock left by a process that is gone is taken over.
pub struct RunLock(PathBuf);

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Takes the run folder `dir` (created if missing) for this process, before any work: refuses
/// it while another live process trains there (`flag` names the option that chose it), so two
/// runs never write one folder.
pub fn lock_run_folder(dir: &Path, flag: &str) -> Result<RunLock, Error> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::invalid(flag, dir.display(), "not a folder"));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = dir.join(LOCK_FILE);
    let holder = std::fs::read_to_string(&path).ok().and_then(|t| t.trim().parse::<u32>().ok());
    if let Some(pid) = holder.filter(|&pid| pid != std::process::id() && crate::io::process_alive(pid)) {
        let why =
            format!("a running floweqprop (process {pid}) is training in it; wait for it or stop it first");
        return Err(Error::invalid(flag, dir.display(), &why));
    }
    atomic_write(&path, format!("{}\n", std::process::id()).as_bytes())?;
    Ok(RunLock(path))
}

/// Makes the locked `out` ready for a new run, before any work: refuses a folder that holds
/// anything (but the lock and the temporary files of dead runs, which are removed) unless
/// `overwrite`; then a previous run's files are removed, so a later resume cannot pick up its
/// checkpoint beside the new run's files. Errors name `--out`.
pub fn claim_run_folder(_lock: &RunLock, out: &Path, overwrite: bool) -> Result<(), Error> {
    let shown = out.display().to_string();
    for name in RUN_FILES {
        crate::io::remove_stale_siblings(out, name).map_err(|e| Error::io(out, e))?;
    }
    let entries = std::fs::read_dir(out).map_err(|e| Error::io(out, e))?;
    let mut others = entries.filter_map(|e| e.ok()).filter(|e| e.file_name() != LOCK_FILE);
    if others.next().is_none() {
        return Ok(());
    }
    if !overwrite {
        return Err(Error::invalid(
            "--out",
            &shown,
            &format!(
                "is not empty: continue that run with --resume {shown}, choose another --out, or start over \
                 in it with --overwrite"
            ),
        ));
    }
    RUN_FILES.iter().try_for_each(|name| match std::fs::remove_file(out.join(name)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(&out.join(name), e)),
        _ => Ok(()),
    })
}

/// A finished run.
pub struct Trained<A: Arith> {
    pub params: Params<A::Num>,
    pub history: Vec<EpochRecord>,
}

/// Header of `saturation.csv` (fixed-point runs): overflows per signal class per epoch.
fn saturation_header() -> String {
    let names: Vec<&str> = Signal::ALL.iter().map(|s| s.name()).collect();
    format!("epoch,{}", names.join(","))
}

/// Opens `path` for appending after keeping its header and first `keep` lines (a resumed run
/// drops the lines of epochs after its checkpoint).
fn reopen_log(path: &Path, header: &str, keep: usize) -> Result<std::fs::File, Error> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let mut text = format!("{header}\n");
    old.lines().skip(1).take(keep).for_each(|l| text += &format!("{l}\n"));
    atomic_write(path, text.as_bytes())?;
    std::fs::OpenOptions::new().append(true).open(path).map_err(|e| Error::io(path, e))
}

/// Loads the checkpoint of the run in `dir` to resume it, refusing a folder whose files do not
/// belong together: its `config.yaml` must be the checkpoint's config (but for `train.epochs`
/// and `train.checkpoint_every`, which a resume may change) and the first `epochs_done` lines
/// of its `loss.csv` the checkpoint's history (the run rewrites a missing one). Errors name
/// `--resume`, the file and what differs.
pub fn load_resume(dir: &Path) -> Result<Checkpoint, Error> {
    let shown = dir.display().to_string();
    let refuse = |why: String| Error::invalid("--resume", &shown, &why);
    let path = checkpoint_path(dir);
    if !dir.is_dir() {
        return Err(refuse("no such folder".to_string()));
    }
    if !path.exists() {
        return Err(refuse(format!(
            "no {CHECKPOINT_FILE} in it: a run writes its first after train.checkpoint_every epochs, or when \
             interrupted (Ctrl-C); start this one again with --out {shown} --overwrite"
        )));
    }
    let ck = Checkpoint::load(&path)?;
    let apart = "these files come from different runs; start a new run with --out and --overwrite";
    let config_path = dir.join(CONFIG_FILE);
    if config_path.exists() {
        let mut config = Config::from_yaml_file(&config_path)?;
        config.train.epochs = ck.config.train.epochs;
        config.train.checkpoint_every = ck.config.train.checkpoint_every;
        if config != ck.config {
            return Err(refuse(format!("{CONFIG_FILE} is not the config of {CHECKPOINT_FILE}: {apart}")));
        }
    }
    let csv_path = dir.join(LOSS_CSV);
    if csv_path.exists() {
        let rows = read_loss_csv(&csv_path)?;
        if rows.len() < ck.history.len() {
            return Err(refuse(format!(
                "{LOSS_CSV} has {} epochs, fewer than the {} of {CHECKPOINT_FILE}: a damaged file; remove it \
                 and the run rewrites it from the checkpoint",
                rows.len(),
                ck.history.len()
            )));
        }
        for (i, (row, r)) in rows.iter().zip(&ck.history).enumerate() {
            if row.epoch != r.epoch || (row.loss - r.loss).abs() > 1e-12 * r.loss.abs().max(1.0) {
                return Err(refuse(format!(
                    "{LOSS_CSV} line {} is not epoch {} of {CHECKPOINT_FILE} (loss {}): {apart}",
                    i + 2,
                    r.epoch,
                    r.loss
                )));
            }
        }
    }
    Ok(ck)
}

/// What a caller sees of a run as it trains ([`train_watched`]; `floweqprop vectors --epochs`
/// writes the generated core's training stream from it): the inputs of every update, before it
/// is made, and the parameters and optimizer state after every epoch. An error stops the run.
pub trait Watch<A: Arith> {
    /// Update `step` (from 0) of epoch `epoch` (from 0): its samples' `x_t` and `u`, `n_x`
    /// values a sample, sample after sample, with learning rate `lr`.
    fn update(
        &mut self,
        epoch: usize,
        step: usize,
        x_t: &[A::Num],
        u: &[A::Num],
        lr: f64,
    ) -> Result<(), Error> {
        let _ = (epoch, step, x_t, u, lr);
        Ok(())
    }
    /// The epoch `record.epoch` (from 1) is done: the parameters and the optimizer after its
    /// last update, and the epoch's saturations (fixed point; none in float).
    fn epoch(
        &mut self,
        record: &EpochRecord,
        params: &Params<A::Num>,
        opt: &A::Optimizer,
        sat: &Saturations,
    ) -> Result<(), Error> {
        let _ = (record, params, opt, sat);
        Ok(())
    }
}

/// Watches nothing ([`train`]).
pub struct NoWatch;

impl<A: Arith> Watch<A> for NoWatch {}

/// Trains from scratch (`resume = None`) or continues a checkpoint, up to `config.train.epochs`,
/// in the arithmetic `a`. An interrupted run loses at most the epochs since its last checkpoint,
/// none if it was stopped through `opts.stop` (then [`Error::Interrupted`]); a run that turns
/// non-finite stops with the epoch and phase and leaves the last good
/// checkpoint in place. Each epoch draws a flow-matching batch of the whole data set and makes
/// one update per `optim.batch_size` samples (one per epoch by default).
pub fn train<A: Arith>(
    a: &A,
    config: &Config,
    images: &[f64],
    resume: Option<&Checkpoint>,
    opts: &RunOptions,
) -> Result<Trained<A>, Error> {
    train_watched(a, config, images, resume, opts, &mut NoWatch)
}

/// [`train`], showing `watch` every update's inputs and every epoch's result as they come.
pub fn train_watched<A: Arith>(
    a: &A,
    config: &Config,
    images: &[f64],
    resume: Option<&Checkpoint>,
    opts: &RunOptions,
    watch: &mut dyn Watch<A>,
) -> Result<Trained<A>, Error> {
    config.validate()?;
    let d = Dims::of(&config.model);
    let (mut params, mut opt, mut history) = match resume {
        Some(ck) => {
            let opt = a.load_optimizer(ck.config.optim.kind, &ck.optimizer)?;
            (ck.params(a), opt, ck.history.clone())
        }
        None => {
            let p = Params::<f64>::init(d, config.model.init_gain, &mut init_rng(config.train.seed));
            (p.map(|v| a.param(v)), a.optimizer(d, config), Vec::new())
        }
    };
    let out = &opts.out;
    atomic_write(&out.join(CONFIG_FILE), config.to_yaml().as_bytes())?;
    let csv_path = out.join(LOSS_CSV);
    let mut csv_text = format!("{}\n", EpochRecord::CSV_HEADER);
    history.iter().for_each(|r| csv_text += &format!("{}\n", r.csv_line()));
    atomic_write(&csv_path, csv_text.as_bytes())?;
    let mut csv =
        std::fs::OpenOptions::new().append(true).open(&csv_path).map_err(|e| Error::io(&csv_path, e))?;
    let sat_path = out.join(SATURATION_CSV);
    let mut sat_log = match A::FIXED_POINT {
        true => Some(reopen_log(&sat_path, &saturation_header(), history.len())?),
        false => None,
    };

    let (start, epochs) = (history.len(), config.train.epochs);
    if let Some(p) = &opts.progress {
        p.start(start as u64, epochs as u64);
    }
    let mut last_line = Instant::now();
    let nx = d.n_x;
    for epoch in start..epochs {
        let t0 = Instant::now();
        let batch = flow_batch::<f64, _>(&mut epoch_rng(config.train.seed, epoch), images, nx);
        let x_t: Vec<A::Num> = batch.x_t.iter().map(|&v| a.state(v)).collect();
        let u: Vec<A::Num> = batch.u.iter().map(|&v| a.state(v)).collect();
        let n = x_t.len() / nx;
        let per_update = match config.optim.batch_size {
            0 => n,
            b => b.min(n),
        };
        let lr = learning_rate(&config.optim, epoch, epochs);
        let diverged = |phase: &str| Error::Diverged { epoch: epoch + 1, phase: phase.to_string() };
        let (mut sq_sum, mut norm_sum, mut updates) = (0.0, 0.0, 0);
        let mut sat = Saturations::default();
        for (i, (x_t, u)) in x_t.chunks(per_update * nx).zip(u.chunks(per_update * nx)).enumerate() {
            watch.update(epoch, i, x_t, u, lr)?;
            let step =
                gradep_step(a, &params, &config.relax, x_t, u).map_err(|p| diverged(&p.to_string()))?;
            sq_sum += step.loss * x_t.len() as f64;
            sat += step.saturations;
            let norm = a.update(&mut opt, config, lr, &mut params, &step.sum, step.n, &mut sat)?;
            if !norm.is_finite() {
                return Err(diverged("EP gradient"));
            }
            if !params.tensors().iter().all(|(_, t)| a.all_finite(t)) {
                return Err(diverged("update"));
            }
            norm_sum += norm;
            updates += 1;
        }
        let record = EpochRecord {
            epoch: epoch + 1,
            loss: sq_sum / x_t.len() as f64,
            grad_norm: norm_sum / updates as f64,
            lr,
            seconds: t0.elapsed().as_secs_f64(),
        };
        watch.epoch(&record, &params, &opt, &sat)?;
        writeln!(csv, "{}", record.csv_line()).map_err(|e| Error::io(&csv_path, e))?;
        if let Some(log) = &mut sat_log {
            let counts: Vec<String> = Signal::ALL.iter().map(|&s| sat.get(s).to_string()).collect();
            writeln!(log, "{},{}", epoch + 1, counts.join(",")).map_err(|e| Error::io(&sat_path, e))?;
        }
        let sat_note = match A::FIXED_POINT {
            true => format!("  {} saturations", sat.total()),
            false => String::new(),
        };
        if let Some(p) = &opts.progress {
            p.advance(&format!("loss {:.4}  {:.2} s/epoch{sat_note}", record.loss, record.seconds));
        }
        history.push(record);
        let done = epoch + 1;
        let stop = opts.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst)) && done < epochs;
        let checkpoint = done % config.train.checkpoint_every == 0 || done == epochs || stop;
        if checkpoint {
            Checkpoint::new(a, config, done, &params, &opt, &history).save(&checkpoint_path(out))?;
        }
        let due = opts.log_every.is_some_and(|every| last_line.elapsed() >= every);
        if opts.progress.is_none() && (checkpoint || due) {
            let last = history.last().expect("just pushed");
            let written = if checkpoint { ", checkpoint written" } else { "" };
            eprintln!(
                "epoch {done}/{epochs}: loss {:.4} ({:.2} s/epoch{sat_note}){written}",
                last.loss, last.seconds
            );
            last_line = Instant::now();
        }
        if stop {
            if let Some(p) = &opts.progress {
                p.abandon();
            }
            write_loss_png(out, &history)?;
            return Err(Error::Interrupted { epochs_done: done, epochs, out: out.clone() });
        }
    }
    if let Some(p) = &opts.progress {
        p.finish();
    }
    write_loss_png(out, &history)?;
    Ok(Trained { params, history })
}

fn write_loss_png(out: &Path, history: &[EpochRecord]) -> Result<(), Error> {
    let curve = loss_curve_png(&[(String::new(), history.to_vec())], "FlowEqProp training loss");
    atomic_write(&out.join(LOSS_PNG), &curve)
}

/// [`train`] in the arithmetic `kind` chosen at run time; returns the loss history.
pub fn train_in(
    kind: ArithKind,
    config: &Config,
    images: &[f64],
    resume: Option<&Checkpoint>,
    opts: &RunOptions,
) -> Result<Vec<EpochRecord>, Error> {
    struct Train<'a> {
        config: &'a Config,
        images: &'a [f64],
        resume: Option<&'a Checkpoint>,
        opts: &'a RunOptions,
    }
    impl ArithTask for Train<'_> {
        type Output = Result<Vec<EpochRecord>, Error>;
        fn run<A: Arith>(self, a: &A) -> Self::Output {
            Ok(train(a, self.config, self.images, self.resume, self.opts)?.history)
        }
    }
    run_in(kind, config, Train { config, images, resume, opts })?
}

/// Width of the moving mean drawn over the per-epoch loss.
pub const LOSS_WINDOW: usize = 100;

/// Means of consecutive, non-overlapping windows of `width` epochs: `(first epoch, mean)`.
pub fn window_means(history: &[EpochRecord], width: usize) -> Vec<(usize, f64)> {
    history
        .chunks(width)
        .filter(|w| w.len() == width)
        .map(|w| (w[0].epoch, w.iter().map(|r| r.loss).sum::<f64>() / width as f64))
        .collect()
}

/// The trailing mean's width for a run of `epochs`: `LOSS_WINDOW`, or a tenth of a run shorter
/// than two windows (a 100-epoch run gets a 10-epoch mean, a curve rather than one point).
fn mean_width(epochs: usize) -> usize {
    match epochs >= 2 * LOSS_WINDOW {
        true => LOSS_WINDOW,
        false => (epochs / 10).max(1),
    }
}

/// Trailing mean over `width` epochs: `(epoch, mean of the window ending there)`.
fn trailing_means(history: &[EpochRecord], width: usize) -> Vec<(f64, f64)> {
    (width..=history.len())
        .map(|end| {
            let w = &history[end - width..end];
            (w[width - 1].epoch as f64, w.iter().map(|r| r.loss).sum::<f64>() / width as f64)
        })
        .collect()
}

/// The loss curve as a PNG: for one run, the loss per epoch and its trailing mean (over
/// [`mean_width`] epochs); for several (named) runs, each run's trailing mean, to compare them.
pub fn loss_curve_png(runs: &[(String, Vec<EpochRecord>)], title: &str) -> Vec<u8> {
    let mean = |name: String, history: &[EpochRecord]| {
        let width = mean_width(history.len());
        Series {
            name: format!("{name}{width}-epoch mean"),
            points: trailing_means(history, width),
            markers: false,
        }
    };
    let series = match runs {
        [(_, history)] => {
            let raw = history.iter().map(|r| (r.epoch as f64, r.loss)).collect();
            let mut s = vec![Series { name: "loss per epoch".into(), points: raw, markers: false }];
            if mean_width(history.len()) > 1 {
                s.push(mean(String::new(), history));
            }
            s
        }
        _ => runs.iter().map(|(name, history)| mean(format!("{name}, "), history)).collect(),
    };
    // Log scale: the fall from 2.7 and the slow drift near 0.34 are both visible.
    line_plot_png(&LinePlot { log_y: true, ..LinePlot::new(title, "epoch", "loss  mean (v - u)^2", series) })
}

/// Reads a `loss.csv` written by [`train`].
pub fn read_loss_csv(path: &Path) -> Result<Vec<EpochRecord>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let bad = |line: usize, why: &str| Error::Data {
        origin: path.display().to_string(),
        message: format!("line {line}: {why}"),
    };
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if h.trim() == EpochRecord::CSV_HEADER => {}
        _ => return Err(bad(1, &format!("expected header {:?}", EpochRecord::CSV_HEADER))),
    }
    lines
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let f: Vec<f64> = l
                .split(',')
                .map(|v| v.trim().parse::<f64>())
                .collect::<Result<_, _>>()
                .map_err(|e| bad(i + 1, &e.to_string()))?;
            if f.len() != 5 {
                return Err(bad(i + 1, &format!("{} fields, expected 5", f.len())));
            }
            Ok(EpochRecord { epoch: f[0] as usize, loss: f[1], grad_norm: f[2], lr: f[3], seconds: f[4] })
        })
        .collect()
}

/// The `epoch` column and the loss column `column` of any CSV with a header line (a `loss.csv`,
/// or the `rtl_train.csv` of `make cosim-train`, whose loss is `golden_loss`), for plotting: the
/// records hold the epoch and the loss, their other fields NaN. Errors name the file, the line
/// and the missing column.
pub fn read_loss_column(path: &Path, column: &str) -> Result<Vec<EpochRecord>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let bad = |line: usize, why: String| Error::Data {
        origin: path.display().to_string(),
        message: format!("line {line}: {why}"),
    };
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let header: Vec<&str> =
        lines.next().map(|(_, h)| h.split(',').map(str::trim).collect()).unwrap_or_default();
    let find = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or_else(|| bad(1, format!("no column {name:?} in the header")))
    };
    let (epoch_at, loss_at) = (find("epoch")?, find(column)?);
    lines
        .map(|(i, l)| {
            let fields: Vec<&str> = l.split(',').map(str::trim).collect();
            let field = |at: usize| {
                let v = fields.get(at).ok_or_else(|| bad(i + 1, format!("{} fields", fields.len())))?;
                v.parse::<f64>().map_err(|e| bad(i + 1, format!("{v:?}: {e}")))
            };
            let nan = f64::NAN;
            Ok(EpochRecord {
                epoch: field(epoch_at)? as usize,
                loss: field(loss_at)?,
                grad_norm: nan,
                lr: nan,
                seconds: nan,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(epoch: usize, loss: f64) -> EpochRecord {
        EpochRecord { epoch, loss, grad_norm: 1.0, lr: 1e-3, seconds: 0.5 }
    }

    /// A 100-epoch run compared with others was drawn as one point (its only 100-epoch mean).
    #[test]
    fn short_runs_get_a_narrower_trailing_mean() {
        assert_eq!(
            (mean_width(600), mean_width(200), mean_width(199), mean_width(100), mean_width(5)),
            (100, 100, 19, 10, 1)
        );
        let run: Vec<_> = (1..=100).map(|e| record(e, e as f64)).collect();
        let means = trailing_means(&run, mean_width(run.len()));
        assert_eq!((means.len(), means[0], means[90]), (91, (10.0, 5.5), (100.0, 95.5)));
    }

    #[test]
    fn window_means_cover_whole_windows_only() {
        let h: Vec<_> = (1..=7).map(|e| record(e, e as f64)).collect();
        assert_eq!(window_means(&h, 3), vec![(1, 2.0), (4, 5.0)]);
        assert!(window_means(&h, 8).is_empty());
    }

    /// The watch sees every update of every epoch in order, with its samples, and every epoch
    /// once, after its last update, with the record the run returns.
    #[test]
    fn the_watch_sees_every_update_and_every_epoch() {
        #[derive(Default)]
        struct Count {
            updates: Vec<(usize, usize, usize)>,
            epochs: Vec<(usize, f64, usize)>,
        }
        impl<A: Arith> Watch<A> for Count {
            fn update(
                &mut self,
                epoch: usize,
                step: usize,
                x_t: &[A::Num],
                u: &[A::Num],
                lr: f64,
            ) -> Result<(), Error> {
                assert_eq!((x_t.len(), lr), (u.len(), 1e-3));
                self.updates.push((epoch, step, x_t.len() / 64));
                Ok(())
            }
            fn epoch(
                &mut self,
                record: &EpochRecord,
                _: &Params<A::Num>,
                _: &A::Optimizer,
                _: &Saturations,
            ) -> Result<(), Error> {
                self.epochs.push((record.epoch, record.loss, self.updates.len()));
                Ok(())
            }
        }
        let config = Config::from_yaml_str(
            "model: {n_h1: 8, n_h2: 8}\nrelax: {steps: 8}\noptim: {batch_size: 4}\ntrain: {epochs: 3, checkpoint_every: 3}\n",
            "test",
        )
        .unwrap();
        let out = std::env::temp_dir().join(format!("fep-watch-{}", std::process::id()));
        let opts = RunOptions { out: out.clone(), progress: None, log_every: None, stop: None };
        let images = &crate::dataset::Digits::embedded().images[..10 * 64];
        let mut count = Count::default();
        let a = crate::arith::float::Float::<f32>::new();
        let run = train_watched(&a, &config, images, None, &opts, &mut count).unwrap();
        let steps = |e| [(e, 0, 4), (e, 1, 4), (e, 2, 2)];
        assert_eq!(count.updates, [steps(0), steps(1), steps(2)].concat());
        let seen: Vec<_> =
            run.history.iter().enumerate().map(|(i, r)| (r.epoch, r.loss, 3 * (i + 1))).collect();
        assert_eq!(count.epochs, seen);
        std::fs::remove_dir_all(out).unwrap();
    }

    /// A column of another CSV reads as the loss; a missing column is named with the file.
    #[test]
    fn a_loss_column_of_any_csv_reads_back() {
        let dir = std::env::temp_dir().join(format!("fep-column-{}", std::process::id()));
        let path = dir.join("rtl_train.csv");
        atomic_write(&path, b"epoch,golden_loss,mismatches\n1,2.5,0\n2,0.125,3\n").unwrap();
        let h = read_loss_column(&path, "golden_loss").unwrap();
        assert_eq!(h.iter().map(|r| (r.epoch, r.loss)).collect::<Vec<_>>(), vec![(1, 2.5), (2, 0.125)]);
        let err = read_loss_column(&path, "loss").unwrap_err().to_string();
        assert!(err.contains("rtl_train.csv") && err.contains("\"loss\""), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn loss_csv_lines_read_back() {
        let dir = std::env::temp_dir().join(format!("fep-csv-{}", std::process::id()));
        let path = dir.join("loss.csv");
        let h = vec![record(1, 2.5), record(2, 0.125)];
        let text = format!("{}\n{}\n{}\n", EpochRecord::CSV_HEADER, h[0].csv_line(), h[1].csv_line());
        atomic_write(&path, text.as_bytes()).unwrap();
        assert_eq!(read_loss_csv(&path).unwrap(), h);
        atomic_write(&path, b"epoch,loss\n1,2\n").unwrap();
        let err = read_loss_csv(&path).unwrap_err().to_string();
        assert!(err.contains("loss.csv") && err.contains("line 1"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
