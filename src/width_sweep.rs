//! `floweqprop sweep`: how narrow can the core be? Trains one recipe (Adam and/or SGD, from the
//! config) in the fixed-point golden model at a list of widths, and in float as the reference,
//! for the same number of epochs; tabulates and plots the final loss against the width.
//!
//! A width `w` sets the state, derivative and weight formats (the signal classes of the
//! relaxation) with the integer bits each needs and every other bit for the fraction:
//! state `Q(w, w - 6)` (rho reaches 26.5: 5 integer bits and the sign), derivative
//! `Q(w, w - 2)` (rho' lies in [-0.1, 1.1]), weight `Q(w, w - 2)` (trained weights stay below
//! 0.6 in magnitude); the accumulator is made exactly as wide as the exact sums need, the
//! gradient sum at least so. Constants and the optimizer's formats keep the config's values.

use crate::arith::dispatch::ArithKind;
use crate::checkpoint::{Checkpoint, EpochRecord};
use crate::choice::Choice;
use crate::config::{Config, OptimizerKind};
use crate::error::Error;
use crate::golden::qformat::QFormat;
use crate::io::atomic_write;
use crate::plot::{line_plot_png, LinePlot, Series};
use crate::train::{checkpoint_path, train_in, RunOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Final loss: the mean over the last this many epochs (one epoch's loss is noisy).
pub const FINAL_WINDOW: usize = 10;

/// Loss within this factor of the float run counts as "trains as well as float".
pub const TOLERANCE: f64 = 1.10;

/// `config` with the relaxation's formats `w` bits wide (module doc).
pub fn at_width(config: &Config, w: u32) -> Result<Config, Error> {
    let mut c = config.clone();
    let q = |frac_from_top: u32| {
        QFormat::new(w, w.saturating_sub(frac_from_top))
            .map_err(|e| Error::invalid("sweep width", w, &e.to_string()))
    };
    c.fixed.state = q(6)?;
    c.fixed.derivative = q(2)?;
    c.fixed.weight = q(2)?;
    c.fixed.lut.index_bits = c.fixed.lut.index_bits.min(w);
    c.fixed.accumulator_width = c.fixed.min_accumulator_width(&c.model);
    let min_sum = c.fixed.min_gradient_sum_width(c.samples_per_update());
    c.fixed.gradient_sum_width = c.fixed.gradient_sum_width.max(min_sum);
    crate::capability::check(&c, crate::capability::Use::FixedModel)?;
    Ok(c)
}

/// `config` with the optimizer `kind` (SGD with `sgd_lr` and `momentum`).
pub fn with_optimizer(config: &Config, kind: OptimizerKind, sgd_lr: f64, momentum: f64) -> Config {
    let mut c = config.clone();
    c.optim.kind = kind;
    if kind == OptimizerKind::Sgd {
        c.optim.lr = sgd_lr;
        c.optim.momentum = momentum;
    }
    c
}

/// One finished run of the sweep.
#[derive(Debug, Clone)]
pub struct SweepRun {
    pub optimizer: OptimizerKind,
    /// `None`: the float reference.
    pub width: Option<u32>,
    pub final_loss: f64,
    /// Overflows of all signal classes over the whole run (fixed point).
    pub saturations: u64,
}

/// Mean loss of the last [`FINAL_WINDOW`] epochs.
pub fn final_loss(history: &[EpochRecord]) -> f64 {
    let tail = &history[history.len().saturating_sub(FINAL_WINDOW)..];
    tail.iter().map(|r| r.loss).sum::<f64>() / tail.len().max(1) as f64
}

/// Trains `config` in `kind` into `out`, continuing a finished or interrupted run there.
fn run(
    config: &Config,
    kind: ArithKind,
    images: &[f64],
    out: &Path,
    stop: Option<&Arc<AtomicBool>>,
) -> Result<Vec<EpochRecord>, Error> {
    let resume = match checkpoint_path(out).exists() {
        true => Some(Checkpoint::load(&checkpoint_path(out))?),
        false => None,
    };
    if let Some(ck) = &resume {
        if ck.config != *config || ck.precision != kind.name() {
            return Err(Error::checkpoint(
                &checkpoint_path(out),
                "belongs to a different sweep point; remove the folder or choose another --out",
            ));
        }
        if ck.epochs_done == config.train.epochs {
            return Ok(ck.history.clone());
        }
    }
    let opts = RunOptions { out: out.to_path_buf(), progress: None, log_every: None, stop: stop.cloned() };
    train_in(kind, config, images, resume.as_ref(), &opts)
}

/// Sum of a fixed-point run's `saturation.csv` (0 when there is none).
fn saturations(out: &Path) -> u64 {
    let text = std::fs::read_to_string(out.join(crate::train::SATURATION_CSV)).unwrap_or_default();
    text.lines().skip(1).flat_map(|l| l.split(',').skip(1).map(|v| v.parse::<u64>().unwrap_or(0))).sum()
}

/// Runs every point (float reference first, per optimizer), each in its own folder under `out`
/// (`adam-float`, `adam-w12`, ...); a point already finished there is read back, not rerun.
/// `on_done` sees each run as it finishes. `stop` (set by a signal handler) ends the running
/// point at its next epoch with a checkpoint ([`Error::Interrupted`]); the same sweep again
/// continues it.
pub fn sweep(
    images: &[f64],
    optimizers: &[(OptimizerKind, Config)],
    widths: &[u32],
    out: &Path,
    stop: Option<&Arc<AtomicBool>>,
    on_done: &mut dyn FnMut(&SweepRun),
) -> Result<Vec<SweepRun>, Error> {
    let mut runs = Vec::new();
    for (kind, base) in optimizers {
        let name = optimizer_name(*kind);
        let mut points: Vec<(Option<u32>, Config, ArithKind, PathBuf)> =
            vec![(None, base.clone(), ArithKind::F32, out.join(format!("{name}-float")))];
        for &w in widths {
            points.push((Some(w), at_width(base, w)?, ArithKind::Fixed, out.join(format!("{name}-w{w}"))));
        }
        for (width, c, arith, dir) in points {
            let history = run(&c, arith, images, &dir, stop)?;
            let r = SweepRun {
                optimizer: *kind,
                width,
                final_loss: final_loss(&history),
                saturations: saturations(&dir),
            };
            on_done(&r);
            runs.push(r);
        }
    }
    Ok(runs)
}

pub fn optimizer_name(kind: OptimizerKind) -> &'static str {
    match kind {
        OptimizerKind::Adam => "adam",
        OptimizerKind::Sgd => "sgd",
    }
}

/// The smallest width whose final loss is within [`TOLERANCE`] of the float run, per optimizer.
pub fn smallest_within_tolerance(runs: &[SweepRun], kind: OptimizerKind) -> Option<u32> {
    let float = runs.iter().find(|r| r.optimizer == kind && r.width.is_none())?.final_loss;
    runs.iter()
        .filter(|r| r.optimizer == kind && r.width.is_some() && r.final_loss <= TOLERANCE * float)
        .filter_map(|r| r.width)
        .min()
}

/// The results as a Markdown table, then the smallest widths.
pub fn table(runs: &[SweepRun], epochs: usize) -> String {
    let mut t = format!(
        "| optimizer | arithmetic | width | final loss (mean of last {FINAL_WINDOW} of {epochs} epochs) | vs float | saturations |\n\
         |---|---|---|---|---|---|\n"
    );
    for r in runs {
        let float =
            runs.iter().find(|f| f.optimizer == r.optimizer && f.width.is_none()).map(|f| f.final_loss);
        let ratio = float.map_or(String::new(), |f| format!("{:.3}", r.final_loss / f));
        let (arith, width) = match r.width {
            None => ("float (f32)", "-".to_string()),
            Some(w) => ("fixed", w.to_string()),
        };
        t += &format!(
            "| {} | {arith} | {width} | {:.4} | {ratio} | {} |\n",
            optimizer_name(r.optimizer),
            r.final_loss,
            r.saturations
        );
    }
    t += "\n";
    for kind in [OptimizerKind::Adam, OptimizerKind::Sgd] {
        if runs.iter().any(|r| r.optimizer == kind) {
            let smallest = smallest_within_tolerance(runs, kind)
                .map_or("none of the widths tried".to_string(), |w| format!("{w} bits"));
            t += &format!(
                "smallest width within {:.0}% of float, {}: {smallest}\n",
                (TOLERANCE - 1.0) * 100.0,
                optimizer_name(kind)
            );
        }
    }
    t
}

/// Final loss against width, a line per optimizer, float as dashed-free horizontal references.
pub fn plot(runs: &[SweepRun], epochs: usize) -> Vec<u8> {
    let mut series = Vec::new();
    let widths: Vec<f64> = runs.iter().filter_map(|r| r.width.map(f64::from)).collect();
    let (lo, hi) = widths.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &w| (a.min(w), b.max(w)));
    for kind in [OptimizerKind::Adam, OptimizerKind::Sgd] {
        let name = optimizer_name(kind);
        let fixed: Vec<(f64, f64)> = runs
            .iter()
            .filter(|r| r.optimizer == kind)
            .filter_map(|r| r.width.map(|w| (f64::from(w), r.final_loss)))
            .collect();
        if !fixed.is_empty() {
            series.push(Series { name: format!("{name}, fixed point"), points: fixed, markers: false });
        }
        if let Some(f) = runs.iter().find(|r| r.optimizer == kind && r.width.is_none()) {
            series.push(Series {
                name: format!("{name}, float (reference)"),
                points: vec![(lo, f.final_loss), (hi, f.final_loss)],
                markers: false,
            });
        }
    }
    line_plot_png(&LinePlot {
        log_y: true,
        ..LinePlot::new(
            format!("Final loss after {epochs} epochs against fixed-point width"),
            "width of states, activations, derivatives and weights (bits)",
            &format!("loss (mean of last {FINAL_WINDOW} epochs)"),
            series,
        )
    })
}

/// Writes `sweep.md` (the table), `sweep.csv` and `sweep.png` into `out`.
pub fn write_results(runs: &[SweepRun], epochs: usize, out: &Path) -> Result<(), Error> {
    let mut csv = String::from("optimizer,arith,width,final_loss,saturations\n");
    for r in runs {
        let (arith, width) = r.width.map_or(("f32", String::new()), |w| ("fixed", w.to_string()));
        csv +=
            &format!("{},{arith},{width},{},{}\n", optimizer_name(r.optimizer), r.final_loss, r.saturations);
    }
    atomic_write(&out.join("sweep.csv"), csv.as_bytes())?;
    atomic_write(&out.join("sweep.md"), table(runs, epochs).as_bytes())?;
    atomic_write(&out.join("sweep.png"), &plot(runs, epochs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_give_valid_formats_with_the_exact_accumulator() {
        let c = Config::default();
        for w in [10, 12, 16, 24] {
            let v = at_width(&c, w).unwrap();
            assert_eq!((v.fixed.state.width(), v.fixed.state.frac()), (w, w - 6));
            assert_eq!((v.fixed.weight.width(), v.fixed.weight.frac()), (w, w - 2));
            assert_eq!(v.fixed.accumulator_width, 2 * w + 8);
            assert!(v.fixed.state.max_value() >= 26.47);
        }
        // The default core is the sweep's 16-bit point, whose loss the committed results show.
        assert_eq!(at_width(&c, 16).unwrap(), c);
        let e = at_width(&c, 4).unwrap_err().to_string();
        assert!(e.contains("fixed.lut") || e.contains("sweep width"), "{e}");
    }

    #[test]
    fn smallest_width_within_ten_percent_and_table() {
        let run = |width, final_loss| SweepRun {
            optimizer: OptimizerKind::Adam,
            width,
            final_loss,
            saturations: 0,
        };
        let runs = vec![
            run(None, 1.0),
            run(Some(10), 3.0),
            run(Some(12), 1.12),
            run(Some(14), 1.09),
            run(Some(16), 1.0),
        ];
        assert_eq!(smallest_within_tolerance(&runs, OptimizerKind::Adam), Some(14));
        assert_eq!(smallest_within_tolerance(&runs, OptimizerKind::Sgd), None);
        let t = table(&runs, 50);
        assert!(t.contains("| adam | fixed | 12 | 1.1200 | 1.120 | 0 |"), "{t}");
        assert!(t.contains("smallest width within 10% of float, adam: 14 bits"), "{t}");
        assert!(!plot(&runs, 50).is_empty());
    }
}
