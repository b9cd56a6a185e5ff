//! The `floweqprop` command: parses flags, resolves them with the config file into one validated
//! settings value, and dispatches to the library.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use floweqprop::arith::dispatch::{run_in, ArithKind, ArithTask};
use floweqprop::arith::Arith;
use floweqprop::bench::{bench_epoch, median, Timing, PHASES};
use floweqprop::capability::{self, Use};
use floweqprop::checkpoint::Checkpoint;
use floweqprop::config::{Config, OptimizerKind, Schedule, VelocityMode};
use floweqprop::dataset::Digits;
use floweqprop::dataset::N_PIXELS;
use floweqprop::eval::{format_table, reference_rows, Evaluator};
use floweqprop::flow::gaussian_noise;
use floweqprop::generate::{euler_steps, generate_horizons, generation_chunk};
use floweqprop::hdl::TOP_FILE;
use floweqprop::io::{
    atomic_write, check_file_target, check_fits_memory, check_folder_target, replace_folder,
};
use floweqprop::model::Dims;
use floweqprop::plot::sample_grid_png;
use floweqprop::report::fpga::FpgaReport;
use floweqprop::report::{
    config_name, default_synth_dir, pnr_plan, sweep_configs, write_sweep_configs, AssumedClocks, CoreReport,
    Shape, SweepReport, Target, SWEEP_CONFIG_DIR, SYNTH_ROOT, UP5K,
};
use floweqprop::sweep::{at_width, optimizer_name, sweep, table, with_optimizer, write_results};
use floweqprop::train::{
    checkpoint_path, claim_run_folder, load_resume, lock_run_folder, loss_curve_png, read_loss_csv, train_in,
    window_means, RunOptions, LOSS_WINDOW,
};
use floweqprop::vectors::{emit, VectorOptions, MANIFEST};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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
    /// Draw a loss.csv as a PNG curve and print its 100-epoch means.
    PlotLoss(PlotLossArgs),
    /// Time one paper-scale training epoch and its parts (medians of several runs).
    Bench(BenchArgs),
    /// Measure sample quality against real digits, a Gaussian mixture and noise.
    Eval(EvalArgs),
    /// Train in fixed point at a list of widths and in float; final loss against width (table, PNG).
    Sweep(SweepArgs),
    /// Generate the Verilog of the config's systolic training core (and its testbench).
    Hdl(HdlArgs),
    /// Emit golden test vectors of the fixed-point model for the generated core ($readmemh files).
    Vectors(VectorsArgs),
    /// Resources (Yosys, nextpnr: from `make synth`, or the ECP5 flow of `make fpga` with
    /// --fpga-dir) and training throughput of the generated core.
    Report(ReportArgs),
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
    /// Start a new run in an --out folder that holds another run (its files are replaced).
    #[arg(long, conflicts_with = "resume")]
    overwrite: bool,
    /// Arithmetic: f32 (fast), f64 (verification) or fixed (the bit-accurate golden model of the
    /// config's `fixed:` formats).
    #[arg(long, value_enum, default_value = "f32", alias = "precision")]
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
    /// Write the samples as CSV (one sample a row, 64 values as generated: near [-1, 1], not clamped).
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
}

#[derive(Args)]
struct BenchArgs {
    /// Number of timed epochs (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// YAML config (default: paper settings).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Arithmetic of the timed epochs.
    #[arg(long, value_enum, default_value = "f32", alias = "precision")]
    arith: ArithKind,
}

#[derive(Args)]
struct VectorsArgs {
    /// YAML config of the core (formats, sizes, array shape, constants).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output folder (replaced as a whole, atomically).
    #[arg(long)]
    out: PathBuf,
    /// Consecutive SGD training steps (weights carried from step to step).
    #[arg(long, default_value_t = 4)]
    steps: usize,
    /// Samples per training step.
    #[arg(long, default_value_t = 2)]
    batch: usize,
    /// Samples of the generation run.
    #[arg(long, default_value_t = 2)]
    gen_samples: usize,
    /// Euler steps of the generation run.
    #[arg(long, default_value_t = 3)]
    gen_steps: usize,
}

#[derive(Args)]
struct SweepArgs {
    /// YAML config of the recipe and the formats the sweep does not vary (default: the paper core).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Widths of states, derivatives and weights to try, in bits.
    #[arg(long, value_delimiter = ',', default_value = "10,12,14,16,18,20")]
    widths: Vec<u32>,
    /// Optimizers to sweep: Adam as the config has it, and/or SGD with --sgd-lr and --momentum.
    #[arg(long, value_delimiter = ',', value_enum, default_value = "adam,sgd")]
    optimizers: Vec<OptimizerKind>,
    /// Epochs of every run.
    #[arg(long, default_value_t = 100)]
    epochs: usize,
    /// Learning rate of the SGD runs (0.2 with momentum 0.9 beat Adam in 60 float epochs).
    #[arg(long, default_value_t = 0.2)]
    sgd_lr: f64,
    /// Momentum of the SGD runs.
    #[arg(long, default_value_t = 0.9)]
    momentum: f64,
    /// Output folder: a folder per run (finished runs are reused), sweep.md, sweep.csv, sweep.png.
    #[arg(long, default_value = "runs/sweep")]
    out: PathBuf,
}

#[derive(Args)]
struct HdlArgs {
    /// YAML config of the core: network sizes, `fixed:` formats, `hardware:` array (default: the paper core).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output folder; it is replaced as a whole, and only once every file has rendered.
    #[arg(long)]
    out: PathBuf,
    /// Also write tb_params.svh, the testbench's view of these golden vectors' manifest.json
    /// (checked against the config), for `make cosim`.
    #[arg(long)]
    vectors: Option<PathBuf>,
}

#[derive(Args)]
struct ReportArgs {
    /// YAML config of the core; `make synth CONFIG=<its file stem>` writes what the report reads
    /// (with --fpga-dir: `make fpga CONFIG=<stem>`; optional there, it adds the throughput).
    #[arg(long, required_unless_present = "fpga_dir")]
    config: Option<PathBuf>,
    /// Folder that `make synth` wrote [default: runs/synth/<config file stem>; with --sweep: the
    /// folder holding one such folder per shape, default runs/synth].
    #[arg(long)]
    synth_dir: Option<PathBuf>,
    /// Targets to report (each needs its <target>_stat.json).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "generic,xc7,ice40")]
    targets: Vec<Target>,
    /// Clock for targets without a place-and-route Fmax, MHz: `100` (every target) or
    /// `xc7=100` (one); labelled "assumed" [default: generic=100, xc7=100, ice40=25].
    #[arg(long, value_delimiter = ',')]
    assumed_mhz: Vec<String>,
    /// Also write <name>.md and <name>.json (with --sweep: sweep.md, sweep.json and two PNGs) here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// PE-array sweep: these shapes (ROWSxCOLS) of the config's network; their results are read
    /// from runs/synth/<stem>_<RxC> (the config's own shape: from runs/synth/<stem>).
    #[arg(long, value_delimiter = ',')]
    sweep: Vec<Shape>,
    /// With --sweep: only write the config copies (<stem>_<RxC>.yaml, all but the config's own
    /// shape) into this folder and print a "name path" line for each.
    #[arg(long, requires = "sweep")]
    write_configs: Option<PathBuf>,
    /// Only decide whether nextpnr-ice40 runs: write runs/synth/X/ice40_pnr_skipped.txt with the
    /// reason when the iCE40 netlist cannot fit the UP5K, or remove it when it may.
    #[arg(long, conflicts_with_all = ["sweep", "out"])]
    pnr_plan: bool,
    /// The ECP5 flow's results instead: the folder `make fpga` (synth/fpga.sh) wrote, e.g.
    /// runs/fpga/tiny. Prints LUT4 / FF / EBR / MULT18 / I/O used of available, the Fmax of
    /// every clock against its constraint, the memories that became block RAM, the flow's wall
    /// time and peak memory and, with --config, samples/s at the measured Fmax; --out writes
    /// report.md, report.json and nextpnr_report.json (make fpga-report: docs/results/fpga/<config>/).
    #[arg(long, conflicts_with_all = ["sweep", "pnr_plan", "synth_dir", "assumed_mhz"])]
    fpga_dir: Option<PathBuf>,
}

#[derive(Args)]
struct EvalArgs {
    /// Samples to evaluate: CSV, one sample a row, 64 finite values (clamped to the pixel range
    /// [-1, 1] for the scores, as generated samples are).
    #[arg(long, conflicts_with = "checkpoint", required_unless_present = "checkpoint")]
    samples: Option<PathBuf>,
    /// Generate the samples from this checkpoint instead.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Samples to generate (and size of the reference rows; with --samples, the file's rows).
    #[arg(long, default_value_t = 500, conflicts_with = "samples")]
    n: usize,
    /// End time of generation [default: the checkpoint config's].
    #[arg(long, conflicts_with_all = ["sweep_t1", "samples"])]
    t1: Option<f64>,
    /// Extended-generation study: evaluate each of these end times, from the same noise.
    #[arg(long, value_delimiter = ',', conflicts_with = "samples")]
    sweep_t1: Vec<f64>,
    /// Velocity read-out for generation [default: the checkpoint config's].
    #[arg(long, value_enum, conflicts_with = "samples")]
    mode: Option<VelocityMode>,
    /// Seed of the generation noise and of the reference rows.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// PNG of the samples: generated (with --sweep-t1, a row per end time) or read (--samples).
    #[arg(long)]
    png: Option<PathBuf>,
    /// Samples per row of the PNG.
    #[arg(long, default_value_t = 12)]
    cols: usize,
    /// Also write the table to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Train(a) => run_train(a),
        Command::Sample(a) => run_sample(a),
        Command::PlotLoss(a) => run_plot_loss(a),
        Command::Bench(a) => run_bench(a),
        Command::Eval(a) => run_eval(a),
        Command::Sweep(a) => run_sweep(a),
        Command::Hdl(a) => run_hdl(a),
        Command::Vectors(a) => run_vectors(a),
        Command::Report(a) => run_report(a),
    }
}

/// The config at `path` (the paper defaults without one), checked for `what` before any work.
fn load_config(path: Option<&Path>, what: Use) -> Result<Config> {
    let config = read_config(path)?;
    check_config(&config, what, path)?;
    Ok(config)
}

/// The config at `path`, or the paper defaults; parsed and validated as a file, not yet checked
/// for a use.
fn read_config(path: Option<&Path>) -> Result<Config> {
    Ok(match path {
        Some(p) => Config::from_yaml_file(p)?,
        None => Config::default(),
    })
}

/// [`capability::check`], the error naming the config's file (`origin`; none: the defaults).
fn check_config(config: &Config, what: Use, path: Option<&Path>) -> Result<()> {
    Ok(capability::check(config, what).map_err(|e| e.within(&origin_name(path)))?)
}

/// How errors name a config: its file, or the embedded defaults.
fn origin_name(path: Option<&Path>) -> String {
    path.map_or("(the paper defaults)".to_string(), |p| p.display().to_string())
}

fn run_train(a: TrainArgs) -> Result<()> {
    // a folder being resumed is this process's first: another run may be writing it
    // (a missing folder is named by load_resume, not created by the lock)
    let resume_lock =
        a.resume.as_deref().filter(|d| d.is_dir()).map(|d| lock_run_folder(d, "--resume")).transpose()?;
    let resume = a.resume.as_deref().map(load_resume).transpose()?;
    // the file's own errors name the file; the flags' errors name the flags
    let what = if a.arith == ArithKind::Fixed { Use::FixedModel } else { Use::Float };
    let origin = a.resume.as_deref().map(checkpoint_path).or(a.config.clone());
    let mut config = match &resume {
        Some(ck) => ck.config.clone(),
        None => read_config(a.config.as_deref())?,
    };
    check_config(&config, what, origin.as_deref())?;
    let mut flags = Vec::new();
    if let Some(e) = a.epochs {
        config.train.epochs = e;
        flags.push(format!("--epochs {e}"));
    }
    if let Some(s) = a.seed {
        config.train.seed = s;
        flags.push(format!("--seed {s}"));
    }
    if let Some(s) = a.schedule {
        config.optim.schedule = s;
        flags.push(format!("--schedule {s:?}").to_lowercase());
    }
    if let Some(c) = a.checkpoint_every {
        config.train.checkpoint_every = c;
        flags.push(format!("--checkpoint-every {c}"));
    }
    if !flags.is_empty() {
        capability::check(&config, what)
            .map_err(|e| e.within(&format!("{} with {}", origin_name(origin.as_deref()), flags.join(" "))))?;
    }
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
        progress: !a.quiet && terminal,
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
        Err(e @ floweqprop::error::Error::Interrupted { .. }) => {
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

/// A flag set by the first Ctrl-C (SIGINT) or SIGTERM, so training stops at the end of its
/// epoch with a checkpoint; a second one exits at once (status 130).
fn stop_on_interrupt() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            eprintln!("\ninterrupted again: quitting now; the last checkpoint written stays");
            std::process::exit(130);
        }
        eprintln!("\ninterrupted: stopping at the end of this epoch with a checkpoint (again to quit now)");
    })
    .context("installing the Ctrl-C handler")?;
    Ok(stop)
}

/// Generates from `noise` to each end time of `t1s` (one integration), with a progress bar, in
/// the checkpoint's arithmetic (f32 for float checkpoints: generation does not need f64).
fn generate_with_progress(
    ck: &Checkpoint,
    config: &Config,
    t1s: &[f64],
    noise: &[f64],
) -> Result<Vec<Vec<f64>>> {
    let n = noise.len() / config.model.n_x;
    let last = t1s.iter().copied().fold(0.0, f64::max);
    let steps = n.div_ceil(generation_chunk(n)) * euler_steps(config.generate.dt, last);
    let bar = ProgressBar::new(steps as u64);
    bar.set_style(ProgressStyle::with_template("euler steps {wide_bar} {pos}/{len} [{eta}]").expect("valid"));
    struct Generate<'a> {
        ck: &'a Checkpoint,
        config: &'a Config,
        t1s: &'a [f64],
        noise: &'a [f64],
        bar: &'a ProgressBar,
    }
    impl ArithTask for Generate<'_> {
        type Output = Vec<Vec<f64>>;
        fn run<A: Arith>(self, a: &A) -> Vec<Vec<f64>> {
            let (c, tick) = (self.config, || self.bar.inc(1));
            generate_horizons(a, &self.ck.params(a), &c.relax, &c.generate, self.t1s, self.noise, &tick)
        }
    }
    let kind = match ArithKind::of_name(&ck.precision) {
        Some(ArithKind::Fixed) => ArithKind::Fixed,
        _ => ArithKind::F32,
    };
    let samples = run_in(kind, config, Generate { ck, config, t1s, noise, bar: &bar })?;
    bar.finish_and_clear();
    Ok(samples)
}

/// Refuses `--n` samples whose noise and results (`copies` arrays of `n` images of f64) cannot
/// fit in the memory this machine has available (Linux's MemAvailable; elsewhere not checked),
/// before any work.
fn check_samples_fit(n: usize, copies: usize) -> Result<()> {
    Ok(check_fits_memory("--n", n, (n as f64) * (N_PIXELS * 8 * copies) as f64)?)
}

fn run_sample(a: SampleArgs) -> Result<()> {
    check_samples_fit(a.n, 2)?;
    check_outputs(&[("--csv", a.csv.as_deref()), ("--png", a.png.as_deref())], a.cols)?;
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
    let samples = generate_with_progress(&ck, &config, &[g.t1], &noise)?.remove(0);
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
    let config = load_config(a.config.as_deref(), Use::Float)?;
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
        a.arith.name()
    );
    struct Bench<'a> {
        config: &'a Config,
        images: &'a [f64],
        runs: usize,
    }
    impl ArithTask for Bench<'_> {
        type Output = Vec<Timing>;
        fn run<A: Arith>(self, a: &A) -> Vec<Timing> {
            bench_epoch(a, self.config, self.images, self.runs)
        }
    }
    let parts = run_in(a.arith, &config, Bench { config: &config, images: &images, runs: a.runs })?;
    println!("{:<30} {:>10} {:>10} {:>10}   ({} runs)", "part", "median s", "min s", "max s", a.runs);
    let mut phases_median = f64::NAN;
    for p in parts {
        let (lo, hi) = p.runs.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &t| (lo.min(t), hi.max(t)));
        let med = median(p.runs.clone());
        println!("{:<30} {:>10.4} {:>10.4} {:>10.4}", p.name, med, lo, hi);
        if p.name == PHASES {
            phases_median = med;
        }
    }
    let d = Dims::of(&config.model);
    let samples = images.len() / config.model.n_x;
    let flops = 2.0 * (d.macs_per_step() * 3 * r.steps * samples) as f64;
    println!(
        "{:.3e} flops in the matrix-vector products of an epoch: {:.0} GFLOP/s in the three phases",
        flops,
        flops / phases_median / 1e9
    );
    Ok(())
}

/// Refuses, before any work, an output file flag naming a folder, and a PNG grid of 0 columns.
fn check_outputs(files: &[(&str, Option<&Path>)], cols: usize) -> Result<()> {
    for (flag, path) in files {
        path.map(|p| check_file_target(p, flag)).transpose()?;
    }
    if cols == 0 {
        bail!("--cols 0: the PNG grid needs at least 1 column");
    }
    Ok(())
}

/// Reads a samples CSV: one sample a row, `width` finite values.
fn read_samples_csv(path: &Path, width: usize) -> Result<Vec<f64>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut values = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != width {
            bail!("{}: line {}: expected {width} values, got {}", path.display(), i + 1, fields.len());
        }
        for (col, field) in fields.iter().enumerate() {
            let at = || format!("{}: line {}, column {}: {field:?}", path.display(), i + 1, col + 1);
            let v: f64 = field.parse().with_context(|| format!("{}: not a number", at()))?;
            if !v.is_finite() {
                bail!("{}: not a finite number", at());
            }
            values.push(v);
        }
    }
    Ok(values)
}

fn run_eval(a: EvalArgs) -> Result<()> {
    if a.checkpoint.is_some() {
        check_samples_fit(a.n, 1 + a.sweep_t1.len().max(1))?;
    }
    check_outputs(&[("--png", a.png.as_deref()), ("--out", a.out.as_deref())], a.cols)?;
    // the inputs before the classifier's training, so a wrong path costs nothing
    let samples = a.samples.as_deref().map(|p| read_samples_csv(p, N_PIXELS)).transpose()?;
    let ck = a.checkpoint.as_deref().map(Checkpoint::load).transpose()?;
    let evaluator = Evaluator::new(&Digits::embedded());
    println!(
        "classifier: held-out accuracy {:.4} (trained on the even-indexed half)",
        evaluator.held_out_accuracy()
    );
    let mut rows = Vec::new();
    let mut n = a.n;
    // the PNG: the first row of each sample set (a row per end time with --sweep-t1)
    let (mut grid, mut labels) = (Vec::new(), Vec::new());
    if let (Some(path), Some(samples)) = (&a.samples, samples) {
        n = samples.len() / N_PIXELS;
        rows.push((path.display().to_string(), evaluator.evaluate(&samples)?));
        grid.extend_from_slice(&samples[..a.cols.min(n) * N_PIXELS]);
    }
    if let Some(ck) = ck {
        let mut config = ck.config.clone();
        config.generate.mode = a.mode.unwrap_or(config.generate.mode);
        config.generate.t1 = a.t1.unwrap_or(config.generate.t1);
        let t1s = if a.sweep_t1.is_empty() { vec![config.generate.t1] } else { a.sweep_t1.clone() };
        for &t1 in &t1s {
            config.generate.t1 = t1;
            config.validate().context("--t1 / --sweep-t1")?;
        }
        let noise = gaussian_noise(&mut rand_chacha::ChaCha8Rng::seed_from_u64(a.seed), n, N_PIXELS);
        let per_t1 = generate_with_progress(&ck, &config, &t1s, &noise)?;
        for (t1, samples) in t1s.iter().zip(&per_t1) {
            rows.push((format!("t1={t1}"), evaluator.evaluate(samples)?));
            grid.extend_from_slice(&samples[..a.cols.min(n) * N_PIXELS]);
            labels.push(format!("t1={t1}"));
        }
    }
    if let Some(png) = &a.png {
        atomic_write(png, &sample_grid_png(&grid, a.cols.min(n), 8, &labels))?;
        eprintln!("wrote {}", png.display());
    }
    if n < 2 {
        bail!("need at least 2 samples to evaluate, got {n}");
    }
    rows.extend(reference_rows(&evaluator, n, a.seed));
    let table = format_table(&rows);
    println!("{table}");
    println!(
        "frechet: distance between Gaussian fits of the classifier's 32 hidden features (vs the held-out half);\n\
         entropy: of the predicted-class histogram, nats (ln 10 = 2.303 is uniform); top-p: mean top-class\n\
         probability; nn-dist: mean distance to the nearest training image (0 = memorised)."
    );
    if let Some(out) = &a.out {
        atomic_write(out, table.as_bytes())?;
    }
    Ok(())
}

fn run_vectors(a: VectorsArgs) -> Result<()> {
    check_folder_target(&a.out, Some(MANIFEST))?;
    let config = load_config(a.config.as_deref(), Use::Core)?;
    let o = VectorOptions {
        steps: a.steps,
        batch: a.batch,
        gen_samples: a.gen_samples,
        gen_steps: a.gen_steps,
        ..Default::default()
    };
    let files = emit(&config, &o)?;
    replace_folder(&a.out, &files, MANIFEST)?;
    eprintln!(
        "wrote {} files to {}: {} SGD steps of {} samples, {} Euler steps of {} samples",
        files.len(),
        a.out.display(),
        o.steps,
        o.batch,
        o.gen_steps,
        o.gen_samples
    );
    Ok(())
}

fn run_sweep(a: SweepArgs) -> Result<()> {
    check_folder_target(&a.out, None)?;
    let mut config = load_config(a.config.as_deref(), Use::Float)?;
    config.train.epochs = a.epochs;
    config.train.checkpoint_every = a.epochs.clamp(1, 25);
    let origin = origin_name(a.config.as_deref());
    capability::check(&config, Use::Float)
        .map_err(|e| e.within(&format!("{origin} with --epochs {}", a.epochs)))?;
    if a.widths.is_empty() || a.optimizers.is_empty() {
        bail!("give at least one --widths value and one --optimizers value");
    }
    let recipes: Vec<(OptimizerKind, Config)> =
        a.optimizers.iter().map(|&k| (k, with_optimizer(&config, k, a.sgd_lr, a.momentum))).collect();
    for (_, c) in &recipes {
        // the constants do not depend on the width: their errors name the file alone
        c.fixed.check_constants(&c.relax, &c.optim, &c.generate).map_err(|e| e.within(&origin))?;
        for &w in &a.widths {
            at_width(c, w).map_err(|e| e.within(&format!("{origin} at --widths {w}")))?;
        }
    }
    let total = recipes.len() * (a.widths.len() + 1);
    eprintln!("sweep: {total} runs of {} epochs into {}", a.epochs, a.out.display());
    let images = Digits::embedded().images;
    let mut done = 0;
    let stop = stop_on_interrupt()?;
    let swept = sweep(&images, &recipes, &a.widths, &a.out, Some(&stop), &mut |r| {
        done += 1;
        let what = r.width.map_or("float".to_string(), |w| format!("fixed {w:>2} bits"));
        eprintln!(
            "[{done}/{total}] {} {what}: final loss {:.4}, {} saturations",
            optimizer_name(r.optimizer),
            r.final_loss,
            r.saturations
        );
    });
    let runs = match swept {
        Err(floweqprop::error::Error::Interrupted { epochs_done, epochs, out }) => {
            eprintln!(
                "interrupted after epoch {epochs_done} of {epochs} of {}, checkpoint written: the same sweep \
                 command continues it (finished points are kept)",
                out.display()
            );
            std::process::exit(130)
        }
        other => other?,
    };
    write_results(&runs, a.epochs, &a.out)?;
    println!("{}", table(&runs, a.epochs));
    eprintln!("wrote {}/{{sweep.md,sweep.csv,sweep.png}}", a.out.display());
    Ok(())
}

fn run_hdl(a: HdlArgs) -> Result<()> {
    check_folder_target(&a.out, Some(TOP_FILE))?;
    let config = load_config(a.config.as_deref(), Use::Core)?;
    let mut files = floweqprop::hdl::render(&config)?;
    if let Some(dir) = &a.vectors {
        files.push(("tb_params.svh".to_string(), floweqprop::hdl::manifest::tb_params(&config, dir)?));
    }
    replace_folder(&a.out, &files, TOP_FILE)?;
    let c = floweqprop::hdl::CoreParams::new(&config)?;
    eprintln!(
        "wrote {} files to {}: {}x{} PEs of {}x{} weights, {} lane(s); {} cycles a training sample, {:.4}x the ideal {}",
        files.len(),
        a.out.display(),
        c.rows,
        c.cols,
        c.kt,
        c.nt,
        c.lanes,
        c.sample_cycles(),
        c.sample_cycles() / c.ideal_sample_cycles(),
        c.ideal_sample_cycles()
    );
    Ok(())
}

fn run_report(a: ReportArgs) -> Result<()> {
    if let Some(out) = &a.out {
        check_folder_target(out, None)?;
    }
    if let Some(dir) = &a.fpga_dir {
        let config = a.config.as_deref().map(|p| Config::from_yaml_file(p).map(|c| (p, c))).transpose()?;
        let report = FpgaReport::load(dir, config.as_ref().map(|(p, c)| (*p, c)))?;
        println!("{}", report.markdown());
        if let Some(out) = &a.out {
            report.write(out)?;
            eprintln!("wrote {}/{{report.md,report.json,nextpnr_report.json}}", out.display());
        }
        return Ok(());
    }
    let config_path = a.config.context("--config is required without --fpga-dir")?;
    let config = load_config(Some(&config_path), Use::Core)?;
    let assumed = AssumedClocks::default().with_settings(&a.assumed_mhz)?;
    if a.pnr_plan {
        let dir = a.synth_dir.unwrap_or_else(|| default_synth_dir(&config_path));
        let why = pnr_plan(&config_path, &config, &dir, &UP5K)?;
        if why.is_empty() {
            println!("fits the iCE40 {} ({}): place and route", UP5K.name.to_uppercase(), UP5K.package);
        } else {
            println!("nextpnr-ice40 not run: {}", why.join(", "));
        }
        return Ok(());
    }
    if a.sweep.is_empty() {
        // without a synthesis yet, the cycle model alone (each target says how to synthesize it)
        let dir = a.synth_dir.unwrap_or_else(|| default_synth_dir(&config_path));
        let report = CoreReport::load_or_model(&config_path, &config, &dir, &a.targets, &assumed)?;
        println!("{}", report.markdown());
        if let Some(out) = &a.out {
            report.write(out)?;
            eprintln!("wrote {}/{{{name}.md,{name}.json}}", out.display(), name = report.name);
        }
        return Ok(());
    }
    // the config's own array is read from its own `make synth`; the other shapes from copies
    let base = config_name(&config_path);
    let own = Shape { rows: config.hardware.rows, cols: config.hardware.cols };
    let others: Vec<Shape> = a.sweep.iter().copied().filter(|&s| s != own).collect();
    let copies = sweep_configs(&base, &config, &others)?;
    let config_dir = PathBuf::from(SWEEP_CONFIG_DIR);
    if let Some(dir) = &a.write_configs {
        // one "name path" line per copy: what make synth-sweep synthesizes
        for ((name, _), p) in copies.iter().zip(write_sweep_configs(dir, &copies)?) {
            println!("{name} {}", p.display());
        }
        return Ok(());
    }
    let root = a.synth_dir.unwrap_or_else(|| PathBuf::from(SYNTH_ROOT));
    let mut points = Vec::new();
    for shape in &a.sweep {
        let report = if *shape == own {
            CoreReport::load(&config_path, &config, &root.join(&base), &a.targets, &assumed)?
        } else {
            let (name, c) =
                copies.iter().find(|(n, _)| *n == format!("{base}_{shape}")).expect("a copy per shape");
            let path = config_dir.join(format!("{name}.yaml"));
            CoreReport::load_or_model(&path, c, &root.join(name), &a.targets, &assumed)?
        };
        points.push((*shape, report));
    }
    let sweep = SweepReport::new(&base, &config, points, assumed.get(Target::Xc7))?;
    println!("{}", sweep.markdown());
    if let Some(out) = &a.out {
        sweep.write(&config, out)?;
        eprintln!("wrote {}/{{sweep.md,sweep.json,sweep_resources.png,sweep_throughput.png}}", out.display());
    }
    Ok(())
}

fn run_plot_loss(a: PlotLossArgs) -> Result<()> {
    check_file_target(&a.png, "--png")?;
    let mut runs = Vec::new();
    for (i, csv) in a.csv.iter().enumerate() {
        let history = read_loss_csv(csv)?;
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
