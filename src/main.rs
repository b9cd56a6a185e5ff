//! The `floweqprop` command: parses flags, resolves them with the config file into one validated
//! settings value, and dispatches to the library.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use floweqprop::bench::{bench_epoch, median};
use floweqprop::checkpoint::Checkpoint;
use floweqprop::config::{Config, Schedule, VelocityMode};
use floweqprop::dataset::Digits;
use floweqprop::flow::gaussian_noise;
use floweqprop::generate::{euler_steps, generate};
use floweqprop::gradep::CHUNK;
use floweqprop::io::atomic_write;
use floweqprop::plot::sample_grid_png;
use floweqprop::real::Real;
use floweqprop::train::{checkpoint_path, loss_curve_png, read_loss_csv, train, RunOptions};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(
    name = "floweqprop",
    version,
    about = "FlowEqProp: flow matching trained by Gradient Equilibrium Propagation"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train on the embedded digits (paper settings unless overridden).
    Train(TrainArgs),
    /// Generate samples from a checkpoint (Euler integration of the learned velocity).
    Sample(SampleArgs),
    /// Draw a loss.csv as a PNG curve.
    PlotLoss(PlotLossArgs),
    /// Time one paper-scale training epoch and its parts (medians of several runs).
    Bench(BenchArgs),
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Precision {
    F32,
    F64,
}

#[derive(Args)]
struct TrainArgs {
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
    #[arg(long, value_enum)]
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
    /// Arithmetic: f32 (fast) or f64 (verification).
    #[arg(long, value_enum, default_value = "f32")]
    precision: Precision,
    /// No progress bar (a line per checkpoint instead).
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
struct SampleArgs {
    /// Checkpoint to sample from.
    #[arg(long, default_value = "docs/results/paper/checkpoint.json")]
    checkpoint: PathBuf,
    /// Number of samples.
    #[arg(long, default_value_t = 64)]
    n: usize,
    /// End time of the integration [default: the checkpoint config's, 1.0]; > 1 is extended generation.
    #[arg(long)]
    t1: Option<f64>,
    /// Euler step [default: the checkpoint config's, 0.01].
    #[arg(long)]
    dt: Option<f64>,
    /// How the velocity is read out [default: the checkpoint config's, energy].
    #[arg(long, value_enum)]
    mode: Option<VelocityMode>,
    /// Seed of the starting noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write the samples as CSV (one sample a row, 64 values in [-1, 1]).
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Write the samples as a PNG grid.
    #[arg(long)]
    png: Option<PathBuf>,
    /// Images per row of the PNG grid.
    #[arg(long, default_value_t = 8)]
    cols: usize,
}

#[derive(Args)]
struct PlotLossArgs {
    /// loss.csv of a training run.
    #[arg(long)]
    csv: PathBuf,
    /// Output PNG.
    #[arg(long)]
    png: PathBuf,
    /// Plot title.
    #[arg(long, default_value = "FlowEqProp training loss")]
    title: String,
}

#[derive(Args)]
struct BenchArgs {
    /// Number of timed epochs (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// YAML config (default: paper settings).
    #[arg(long)]
    config: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "f32")]
    precision: Precision,
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Train(a) => run_train(a),
        Command::Sample(a) => run_sample(a),
        Command::PlotLoss(a) => {
            let history = read_loss_csv(&a.csv)?;
            atomic_write(&a.png, &loss_curve_png(&history, &a.title))?;
            eprintln!("wrote {}", a.png.display());
            Ok(())
        }
        Command::Bench(a) => run_bench(a),
    }
}

fn load_config(path: Option<&Path>) -> Result<Config> {
    Ok(match path {
        Some(p) => Config::from_yaml_file(p)?,
        None => Config::default(),
    })
}

fn run_train(a: TrainArgs) -> Result<()> {
    let resume = match &a.resume {
        Some(dir) => Some(Checkpoint::load(&checkpoint_path(dir))?),
        None => None,
    };
    let mut config = match &resume {
        Some(ck) => ck.config.clone(),
        None => load_config(a.config.as_deref())?,
    };
    if let Some(e) = a.epochs {
        config.train.epochs = e;
    }
    if let Some(s) = a.seed {
        config.train.seed = s;
    }
    if let Some(s) = a.schedule {
        config.optim.schedule = s;
    }
    if let Some(c) = a.checkpoint_every {
        config.train.checkpoint_every = c;
    }
    config.validate().context("command-line overrides")?;
    if let Some(ck) = &resume {
        if ck.epochs_done > config.train.epochs {
            bail!(
                "the checkpoint has {} epochs done, more than --epochs {}",
                ck.epochs_done,
                config.train.epochs
            );
        }
        let want = match a.precision {
            Precision::F32 => f32::NAME,
            Precision::F64 => f64::NAME,
        };
        if ck.precision != want {
            bail!(
                "the checkpoint was trained in {}; resume it with --precision {}",
                ck.precision,
                ck.precision
            );
        }
    }
    let out = a.out.or(a.resume.clone()).unwrap_or_else(|| PathBuf::from("runs/train"));
    let opts = RunOptions { out: out.clone(), progress: !a.quiet && std::io::stderr().is_terminal() };
    let images = Digits::embedded().images;
    eprintln!(
        "training {} epochs ({} done) in {}, precision {}, output {}",
        config.train.epochs,
        resume.as_ref().map_or(0, |c| c.epochs_done),
        "GradEP",
        match a.precision {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        },
        out.display()
    );
    let history = match a.precision {
        Precision::F32 => train::<f32>(&config, &images, resume.as_ref(), &opts)?.history,
        Precision::F64 => train::<f64>(&config, &images, resume.as_ref(), &opts)?.history,
    };
    let last = history.last().map_or(f64::NAN, |r| r.loss);
    eprintln!(
        "done: final loss {last:.4}; wrote {}/{{config.yaml,loss.csv,loss.png,checkpoint.json}}",
        out.display()
    );
    Ok(())
}

fn run_sample(a: SampleArgs) -> Result<()> {
    let ck = Checkpoint::load(&a.checkpoint)?;
    let mut g = ck.config.generate.clone();
    g.t1 = a.t1.unwrap_or(g.t1);
    g.dt = a.dt.unwrap_or(g.dt);
    g.mode = a.mode.unwrap_or(g.mode);
    let mut config = ck.config.clone();
    config.generate = g.clone();
    config.validate().context("sampling flags")?;
    if a.n == 0 {
        bail!("--n must be at least 1");
    }
    if a.csv.is_none() && a.png.is_none() {
        bail!("nothing to write: give --png FILE and/or --csv FILE");
    }
    let nx = config.model.n_x;
    let noise = gaussian_noise(&mut rand_chacha::ChaCha8Rng::seed_from_u64(a.seed), a.n, nx);
    let chunks = a.n.div_ceil(CHUNK);
    let bar = ProgressBar::new((chunks * euler_steps(&g)) as u64);
    bar.set_style(ProgressStyle::with_template("euler steps {wide_bar} {pos}/{len} [{eta}]").expect("valid"));
    let tick = || bar.inc(1);
    let samples: Vec<f32> = generate(&ck.params::<f32>(), &config.relax, &g, &noise, &tick);
    bar.finish_and_clear();
    if let Some(path) = &a.csv {
        let text: String = samples
            .chunks(nx)
            .map(|row| row.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(",") + "\n")
            .collect();
        atomic_write(path, text.as_bytes())?;
        eprintln!("wrote {} samples to {}", a.n, path.display());
    }
    if let Some(path) = &a.png {
        if nx != 64 {
            bail!("--png draws 8x8 images; this model has n_x = {nx}");
        }
        atomic_write(path, &sample_grid_png(&samples, a.cols, 8, &[]))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn run_bench(a: BenchArgs) -> Result<()> {
    let config = load_config(a.config.as_deref())?;
    if a.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let images = Digits::embedded().images;
    let r = &config.relax;
    println!(
        "one training epoch: {} samples, {}-{}-{} network, T = {} steps x 3 phases, {} threads, {}",
        images.len() / config.model.n_x,
        config.model.n_x,
        config.model.n_h1,
        config.model.n_h2,
        r.steps,
        rayon::current_num_threads(),
        match a.precision {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        }
    );
    let parts = match a.precision {
        Precision::F32 => bench_epoch::<f32>(&config, &images, a.runs),
        Precision::F64 => bench_epoch::<f64>(&config, &images, a.runs),
    };
    println!("{:<30} {:>10} {:>10} {:>10}   ({} runs)", "part", "median s", "min s", "max s", a.runs);
    for p in parts {
        let (lo, hi) = p.runs.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &t| (lo.min(t), hi.max(t)));
        println!("{:<30} {:>10.4} {:>10.4} {:>10.4}", p.name, median(p.runs.clone()), lo, hi);
    }
    Ok(())
}
