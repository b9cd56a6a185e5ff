//! `floweqprop train` and `floweqprop plot-loss`: a training run (new or resumed) and the
//! loss curves of finished ones.

use super::resolve::{origin_name, read_config, resolve, Flag};
use super::terminal::{choice, stop_on_interrupt, Bar};
use crate::arith::dispatch::ArithKind;
use crate::capability::Use;
use crate::choice::Choice;
use crate::config::Schedule;
use crate::dataset::Digits;
use crate::io::{atomic_write, check_file_target};
use crate::progress::Progress;
use crate::train::{
    checkpoint_path, claim_run_folder, load_resume, lock_run_folder, loss_curve_png, read_loss_column,
    train_in, window_means, RunOptions, LOSS_WINDOW,
};
use anyhow::{bail, Result};
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Args)]
pub struct TrainArgs {
    /// YAML config overriding the paper defaults (unknown fields are errors).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Number of epochs (one epoch = one full-batch update).
    #[arg(long)]
    epochs: Option<usize>,
    /// Seed of the parameter init and of every epoch's noise.
    #[arg(long)]
    seed: Option<u64>,
    /// Learning-rate schedule.
    #[arg(long, value_parser = choice::<Schedule>())]
    schedule: Option<Schedule>,
    /// Checkpoint every N epochs.
    #[arg(long)]
    checkpoint_every: Option<usize>,
    /// Output folder [default: runs/train, or the --resume folder].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the run in this folder from its checkpoint.json (its config is used; --epochs may extend it).
    #[arg(long, conflicts_with_all = ["config", "seed", "schedule"])]
    resume: Option<PathBuf>,
    /// Start a new run in an --out folder that holds another run (its files are replaced).
    #[arg(long, conflicts_with = "resume")]
    overwrite: bool,
    /// Arithmetic: f32 (fast), f64 (verification) or fixed (the bit-accurate golden model of the
    /// config's `fixed:` formats).
    #[arg(long, value_parser = choice::<ArithKind>(), default_value = "f32", alias = "precision")]
    arith: ArithKind,
    /// No progress bar (a line per checkpoint instead).
    #[arg(long)]
    quiet: bool,
    /// Without a terminal (output to a log) and without --quiet, a progress line at least this
    /// often, in seconds, besides the line per checkpoint.
    #[arg(long, default_value_t = 30.0)]
    log_every: f64,
}

#[derive(Args)]
pub struct PlotLossArgs {
    /// loss.csv of a training run; repeat it to compare runs (their 100-epoch means).
    #[arg(long, required = true)]
    csv: Vec<PathBuf>,
    /// Legend name of each --csv, in order [default: the path].
    #[arg(long)]
    label: Vec<String>,
    /// Output PNG.
    #[arg(long)]
    png: PathBuf,
    /// Plot title.
    #[arg(long, default_value = "FlowEqProp training loss")]
    title: String,
    /// The column of each --csv that holds the loss (beside its `epoch` column): any CSV with
    /// a header can be drawn, e.g. `golden_loss` of make cosim-train's rtl_train.csv.
    #[arg(long, default_value = "loss")]
    column: String,
}

pub fn run_train(a: TrainArgs) -> Result<()> {
    // a folder being resumed is this process's first: another run may be writing it
    // (a missing folder is named by load_resume, not created by the lock)
    let resume_lock =
        a.resume.as_deref().filter(|d| d.is_dir()).map(|d| lock_run_folder(d, "--resume")).transpose()?;
    let resume = a.resume.as_deref().map(load_resume).transpose()?;
    // the file's own errors name the file; the flags' errors name the flags
    let what = if a.arith == ArithKind::Fixed { Use::FixedModel } else { Use::Float };
    let origin = a.resume.as_deref().map(checkpoint_path).or(a.config.clone());
    let base = match &resume {
        Some(ck) => ck.config.clone(),
        None => read_config(a.config.as_deref())?,
    };
    let flags = [
        a.epochs.map(Flag::Epochs),
        a.seed.map(Flag::Seed),
        a.schedule.map(Flag::Schedule),
        a.checkpoint_every.map(Flag::CheckpointEvery),
    ];
    let config = resolve(base, &origin_name(origin.as_deref()), &flags, what)?;
    if let Some(ck) = &resume {
        if ck.epochs_done > config.train.epochs {
            bail!(
                "the checkpoint has {} epochs done, more than --epochs {}",
                ck.epochs_done,
                config.train.epochs
            );
        }
        if ck.precision != a.arith.name() {
            bail!("the checkpoint was trained in {}; resume it with --arith {}", ck.precision, ck.precision);
        }
    }
    let out = a.out.clone().or(a.resume.clone()).unwrap_or_else(|| PathBuf::from("runs/train"));
    let _lock = match resume_lock {
        Some(lock) if a.resume.as_ref() == Some(&out) => lock,
        _ => {
            let lock = lock_run_folder(&out, "--out")?;
            claim_run_folder(&lock, &out, a.overwrite)?;
            lock
        }
    };
    if !(a.log_every.is_finite() && a.log_every >= 0.0) {
        bail!("--log-every {}: must be a number of seconds, at least 0", a.log_every);
    }
    let terminal = std::io::stderr().is_terminal();
    let opts = RunOptions {
        out: out.clone(),
        progress: (!a.quiet && terminal).then(|| {
            Box::new(Bar::new("epoch {pos}/{len} {wide_bar} {msg} [{elapsed_precise} eta {eta}]"))
                as Box<dyn Progress>
        }),
        log_every: (!a.quiet && !terminal).then(|| std::time::Duration::from_secs_f64(a.log_every)),
        stop: Some(stop_on_interrupt()?),
    };
    let images = Digits::embedded().images;
    eprintln!(
        "training {} epochs ({} done), arithmetic {}, output {}",
        config.train.epochs,
        resume.as_ref().map_or(0, |c| c.epochs_done),
        a.arith.name(),
        out.display()
    );
    let history = match train_in(a.arith, &config, &images, resume.as_ref(), &opts) {
        Err(e @ crate::error::Error::Interrupted { .. }) => {
            eprintln!("{e}");
            std::process::exit(130)
        }
        other => other?,
    };
    let last = history.last().map_or(f64::NAN, |r| r.loss);
    let extra = if a.arith == ArithKind::Fixed { ",saturation.csv" } else { "" };
    eprintln!(
        "done: final loss {last:.4}; wrote {}/{{config.yaml,loss.csv,loss.png,checkpoint.json{extra}}}",
        out.display()
    );
    Ok(())
}

pub fn run_plot_loss(a: PlotLossArgs) -> Result<()> {
    check_file_target(&a.png, "--png")?;
    let mut runs = Vec::new();
    for (i, csv) in a.csv.iter().enumerate() {
        let history = read_loss_column(csv, &a.column)?;
        let name = a.label.get(i).cloned().unwrap_or_else(|| csv.display().to_string());
        println!("{name}:");
        let means = window_means(&history, LOSS_WINDOW);
        for (first, mean) in &means {
            println!("  epochs {first:>5}-{:<5} mean loss {mean:.4}", first + LOSS_WINDOW - 1);
        }
        if let (Some(best), Some(last)) = (means.iter().min_by(|a, b| a.1.total_cmp(&b.1)), means.last()) {
            println!(
                "  best {LOSS_WINDOW}-epoch mean {:.4} (from epoch {}); last {:.4}",
                best.1, best.0, last.1
            );
        }
        runs.push((name, history));
    }
    atomic_write(&a.png, &loss_curve_png(&runs, &a.title))?;
    eprintln!("wrote {}", a.png.display());
    Ok(())
}
