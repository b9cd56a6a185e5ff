//! `floweqprop sample` and `floweqprop eval`: samples generated from a checkpoint (CSV, PNG),
//! and their quality against real digits and simple baselines.

use super::resolve::{check_outputs, resolve, Flag};
use super::terminal::{choice, Bar};
use crate::capability::Use;
use crate::checkpoint::Checkpoint;
use crate::config::VelocityMode;
use crate::dataset::Digits;
use crate::dataset::N_PIXELS;
use crate::eval::{format_table, reference_rows, Evaluator};
use crate::flow::gaussian_noise;
use crate::generate::generate_from_checkpoint;
use crate::io::{atomic_write, check_fits_memory};
use crate::plot::sample_grid_png;
use anyhow::{bail, Context, Result};
use clap::Args;
use rand::SeedableRng;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct SampleArgs {
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
    #[arg(long, value_parser = choice::<VelocityMode>())]
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
pub struct EvalArgs {
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
    #[arg(long, value_parser = choice::<VelocityMode>(), conflicts_with = "samples")]
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

/// Refuses `--n` samples whose noise and results (`copies` arrays of `n` images of f64) cannot
/// fit in the memory this machine has available (Linux's MemAvailable; elsewhere not checked),
/// before any work.
pub fn check_samples_fit(n: usize, copies: usize) -> Result<()> {
    Ok(check_fits_memory("--n", n, (n as f64) * (N_PIXELS * 8 * copies) as f64)?)
}

pub fn run_sample(a: SampleArgs) -> Result<()> {
    check_samples_fit(a.n, 2)?;
    check_outputs(&[("--csv", a.csv.as_deref()), ("--png", a.png.as_deref())], a.cols)?;
    let ck = Checkpoint::load(&a.checkpoint)?;
    let flags = [a.t1.map(Flag::T1), a.dt.map(Flag::Dt), a.mode.map(Flag::Mode)];
    let config = resolve(ck.config.clone(), &a.checkpoint.display().to_string(), &flags, Use::Float)?;
    let g = &config.generate;
    if a.n == 0 {
        bail!("--n must be at least 1");
    }
    if a.csv.is_none() && a.png.is_none() {
        bail!("nothing to write: give --png FILE and/or --csv FILE");
    }
    let nx = config.model.n_x;
    let noise = gaussian_noise(&mut rand_chacha::ChaCha8Rng::seed_from_u64(a.seed), a.n, nx);
    let samples = generate_from_checkpoint(&ck, &config, &[g.t1], &noise, Some(&euler_bar()))?.remove(0);
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

/// Reads a samples CSV: one sample a row, `width` finite values.
pub fn read_samples_csv(path: &Path, width: usize) -> Result<Vec<f64>> {
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

pub fn run_eval(a: EvalArgs) -> Result<()> {
    if a.checkpoint.is_some() {
        check_samples_fit(a.n, 1 + a.sweep_t1.len().max(1))?;
    }
    check_outputs(&[("--png", a.png.as_deref()), ("--out", a.out.as_deref())], a.cols)?;
    // the inputs before the classifier's training, so a wrong path costs nothing
    let samples = a.samples.as_deref().map(|p| read_samples_csv(p, N_PIXELS)).transpose()?;
    let ck = a.checkpoint.as_deref().map(Checkpoint::load).transpose()?;
    // the generation settings too: one resolved config, every --sweep-t1 horizon checked
    let generation = match (&ck, &a.checkpoint) {
        (Some(ck), Some(path)) => {
            let origin = path.display().to_string();
            let flags = [a.mode.map(Flag::Mode), a.t1.map(Flag::T1)];
            let config = resolve(ck.config.clone(), &origin, &flags, Use::Float)?;
            for &t1 in &a.sweep_t1 {
                resolve(config.clone(), &origin, &[Some(Flag::SweepT1(t1))], Use::Float)?;
            }
            let t1s = if a.sweep_t1.is_empty() { vec![config.generate.t1] } else { a.sweep_t1.clone() };
            Some((config, t1s))
        }
        _ => None,
    };
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
    if let (Some(ck), Some((config, t1s))) = (ck, generation) {
        let noise = gaussian_noise(&mut rand_chacha::ChaCha8Rng::seed_from_u64(a.seed), n, N_PIXELS);
        let per_t1 = generate_from_checkpoint(&ck, &config, &t1s, &noise, Some(&euler_bar()))?;
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

/// The progress bar of generation: Euler steps of every chunk of samples, gone when done.
fn euler_bar() -> Bar {
    Bar::transient("euler steps {wide_bar} {pos}/{len} [{eta}]")
}
