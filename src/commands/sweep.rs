//! `floweqprop sweep`: training at a list of fixed-point widths against float.

use super::resolve::{origin_name, read_config, resolve, Flag};
use super::terminal::{choice, stop_on_interrupt};
use crate::capability::Use;
use crate::config::{Config, OptimizerKind};
use crate::dataset::Digits;
use crate::io::check_folder_target;
use crate::width_sweep::{at_width, optimizer_name, sweep, table, with_optimizer, write_results};
use anyhow::{bail, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct SweepArgs {
    /// YAML config of the recipe and the formats the sweep does not vary (default: the paper core).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Widths of states, derivatives and weights to try, in bits.
    #[arg(long, value_delimiter = ',', default_value = "10,12,14,16,18,20")]
    widths: Vec<u32>,
    /// Optimizers to sweep: Adam as the config has it, and/or SGD with --sgd-lr and --momentum.
    #[arg(long, value_delimiter = ',', value_parser = choice::<OptimizerKind>(), default_value = "adam,sgd")]
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

pub fn run_sweep(a: SweepArgs) -> Result<()> {
    check_folder_target(&a.out, None)?;
    let origin = origin_name(a.config.as_deref());
    let mut config =
        resolve(read_config(a.config.as_deref())?, &origin, &[Some(Flag::Epochs(a.epochs))], Use::Float)?;
    config.train.checkpoint_every = a.epochs.clamp(1, 25);
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
        Err(crate::error::Error::Interrupted { epochs_done, epochs, out }) => {
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
