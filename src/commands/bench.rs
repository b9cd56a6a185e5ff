//! `floweqprop bench`: the time of a paper-scale epoch and of its parts.

use super::resolve::load_config;
use super::terminal::choice;
use crate::arith::dispatch::{run_in, ArithKind, ArithTask};
use crate::arith::Arith;
use crate::bench::{bench_epoch, median, Timing, PHASES};
use crate::capability::Use;
use crate::choice::Choice;
use crate::config::Config;
use crate::dataset::Digits;
use crate::model::Dims;
use anyhow::{bail, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct BenchArgs {
    /// Number of timed epochs (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// YAML config (default: paper settings).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Arithmetic of the timed epochs.
    #[arg(long, value_parser = choice::<ArithKind>(), default_value = "f32", alias = "precision")]
    arith: ArithKind,
}

pub fn run_bench(a: BenchArgs) -> Result<()> {
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
