//! `floweqprop bench`: the time of one paper-scale training epoch and of its parts, as medians
//! over several runs (the machine may be shared; the median resists outliers).

use crate::assignment::{solve, sq_euclidean_cost};
use crate::config::Config;
use crate::flow::{epoch_rng, flow_batch, gaussian_noise, init_rng};
use crate::gradep::gradep_step;
use crate::model::{Dims, Params};
use crate::optim::{clip_global_norm, Adam};
use crate::real::Real;
use std::time::Instant;

/// Median of a list of seconds.
pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        xs[n / 2]
    } else {
        0.5 * (xs[n / 2 - 1] + xs[n / 2])
    }
}

/// Name of the part that runs the relaxation (the three phases and the EP gradient).
pub const PHASES: &str = "three phases + EP gradient";

/// One timed part: name and the seconds of each run.
pub struct Timing {
    pub name: &'static str,
    pub runs: Vec<f64>,
}

fn time<R>(f: impl FnOnce() -> R) -> (R, f64) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed().as_secs_f64())
}

/// Times `runs` whole epochs at `config`'s sizes on `images`, and their parts.
pub fn bench_epoch<T: Real>(config: &Config, images: &[f64], runs: usize) -> Vec<Timing> {
    let d = Dims::of(&config.model);
    let n = images.len() / d.n_x;
    let mut params = Params::<T>::init(d, config.model.init_gain, &mut init_rng(0));
    let mut adam = Adam::new(d);
    let mut parts: Vec<Timing> =
        ["cost matrix", "assignment", "batch (noise, pairing, x_t)", PHASES, "clip + Adam", "whole epoch"]
            .into_iter()
            .map(|name| Timing { name, runs: Vec::new() })
            .collect();
    for run in 0..runs {
        let noise = gaussian_noise(&mut epoch_rng(1, run), n, d.n_x);
        let (cost, t_cost) = time(|| sq_euclidean_cost(&noise, images, n, d.n_x));
        let (_, t_solve) = time(|| solve(&cost, n).expect("finite costs"));
        let t_epoch = Instant::now();
        let (batch, t_batch) = time(|| flow_batch::<T, _>(&mut epoch_rng(0, run), images, d.n_x));
        let (step, t_phases) =
            time(|| gradep_step(&params, &config.relax, &batch.x_t, &batch.u).expect("finite"));
        let (_, t_update) = time(|| {
            let mut g = step.grad;
            clip_global_norm(&mut g, config.optim.clip_norm);
            adam.step(&config.optim, config.optim.lr, &mut params, &g);
        });
        let whole = t_epoch.elapsed().as_secs_f64();
        for (part, t) in parts.iter_mut().zip([t_cost, t_solve, t_batch, t_phases, t_update, whole]) {
            part.runs.push(t);
        }
    }
    parts
}
