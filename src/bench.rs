//! `floweqprop bench`: the time of one paper-scale training epoch and of its parts, as medians
//! over several runs (the machine may be shared; the median resists outliers).

use crate::arith::Arith;
use crate::assignment::{solve, sq_euclidean_cost};
use crate::config::Config;
use crate::flow::{epoch_rng, flow_batch, gaussian_noise, init_rng};
use crate::gradep::gradep_step;
use crate::model::{Dims, Params};
use crate::saturation::Saturations;
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

/// Times `runs` whole epochs at `config`'s sizes on `images` in the arithmetic `a`, and their
/// parts.
pub fn bench_epoch<A: Arith>(a: &A, config: &Config, images: &[f64], runs: usize) -> Vec<Timing> {
    let d = Dims::of(&config.model);
    let n = images.len() / d.n_x;
    let init = Params::<f64>::init(d, config.model.init_gain, &mut init_rng(0));
    let mut params = init.map(|v| a.param(v));
    let mut opt = a.optimizer(d, config);
    let mut parts: Vec<Timing> =
        ["cost matrix", "assignment", "batch (noise, pairing, x_t)", PHASES, "update", "whole epoch"]
            .into_iter()
            .map(|name| Timing { name, runs: Vec::new() })
            .collect();
    for run in 0..runs {
        let noise = gaussian_noise(&mut epoch_rng(1, run), n, d.n_x);
        let (cost, t_cost) = time(|| sq_euclidean_cost(&noise, images, n, d.n_x));
        let (_, t_solve) = time(|| solve(&cost, n).expect("finite costs"));
        let t_epoch = Instant::now();
        let ((x_t, u), t_batch) = time(|| {
            let b = flow_batch::<f64, _>(&mut epoch_rng(0, run), images, d.n_x);
            let q = |v: &[f64]| v.iter().map(|&v| a.state(v)).collect::<Vec<_>>();
            (q(&b.x_t), q(&b.u))
        });
        let (step, t_phases) = time(|| gradep_step(a, &params, &config.relax, &x_t, &u).expect("finite"));
        let (_, t_update) = time(|| {
            let mut sat = Saturations::default();
            a.update(&mut opt, config, config.optim.lr, &mut params, &step.sum, step.n, &mut sat)
                .expect("valid config")
        });
        let whole = t_epoch.elapsed().as_secs_f64();
        for (part, t) in parts.iter_mut().zip([t_cost, t_solve, t_batch, t_phases, t_update, whole]) {
            part.runs.push(t);
        }
    }
    parts
}
