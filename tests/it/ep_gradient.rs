//! The EP gradient against an exact gradient of the loss: central finite differences in f64 of
//! `L(theta) = 1/2 sum_pixels (v - u)^2` (batch mean) through the unrolled free phase.

use floweqprop::arith::float::Float;
use floweqprop::config::RelaxConfig;
use floweqprop::gradep::{ep_gradient, three_phases, velocity};
use floweqprop::model::{Dims, Params, States};
use floweqprop::relax::{relax, Packed, Visible};
use floweqprop::saturation::Saturations;
use rand::{Rng, SeedableRng};

struct Case {
    p: Params<f64>,
    x_t: Vec<f64>,
    u: Vec<f64>,
}

fn case() -> Case {
    let d = Dims { n_x: 8, n_h1: 6, n_h2: 5 };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let mut p = Params::<f64>::init(d, 1.0, &mut rng);
    p.bx.iter_mut().for_each(|b| *b = rng.random_range(-0.3..0.3));
    let n = 4;
    let x0: Vec<f64> = (0..n * 8).map(|_| rng.random_range(-1.5..1.5)).collect();
    let x1: Vec<f64> = (0..n * 8).map(|_| rng.random_range(-1.0..1.0)).collect();
    let t: Vec<f64> = (0..n).map(|_| rng.random()).collect();
    let x_t = (0..n * 8).map(|i| (1.0 - t[i / 8]) * x0[i] + t[i / 8] * x1[i]).collect();
    let u = (0..n * 8).map(|i| x1[i] - x0[i]).collect();
    Case { p, x_t, u }
}

/// The loss whose gradient EP estimates: batch mean of `1/2 sum_pixels (v - u)^2`.
fn half_sq_loss(p: &Params<f64>, c: &RelaxConfig, x_t: &[f64], u: &[f64]) -> f64 {
    let (a, sat) = (Float::<f64>::new(), &mut Saturations::default());
    let packed = Packed::new(&a, p);
    let mut s = States::from_visible(packed.dims, x_t);
    relax(&a, &packed, &mut s, &Visible::spring(&a, x_t, u, c, 0.0, sat), c.eps, c.steps, sat);
    let v = velocity(&a, c, &s, x_t);
    0.5 * v.iter().zip(u).map(|(v, u)| (v - u).powi(2)).sum::<f64>() / s.n as f64
}

fn exact_gradient(cs: &Case, c: &RelaxConfig) -> Vec<f64> {
    let h = 1e-6;
    let mut g = Vec::new();
    for t in 0..5 {
        for i in 0..cs.p.tensors()[t].1.len() {
            let (mut up, mut down) = (cs.p.clone(), cs.p.clone());
            up.tensors_mut()[t][i] += h;
            down.tensors_mut()[t][i] -= h;
            g.push(
                (half_sq_loss(&up, c, &cs.x_t, &cs.u) - half_sq_loss(&down, c, &cs.x_t, &cs.u)) / (2.0 * h),
            );
        }
    }
    g
}

fn ep(cs: &Case, c: &RelaxConfig) -> Vec<f64> {
    let (a, sat) = (Float::<f64>::new(), &mut Saturations::default());
    ep_gradient(&a, c, &three_phases(&a, &Packed::new(&a, &cs.p), c, &cs.x_t, &cs.u, sat)).values().collect()
}

fn norm(a: &[f64]) -> f64 {
    a.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum::<f64>() / (norm(a) * norm(b))
}

fn relative_error(a: &[f64], b: &[f64]) -> f64 {
    let diff: Vec<f64> = a.iter().zip(b).map(|(a, b)| a - b).collect();
    norm(&diff) / norm(b)
}

#[test]
fn ep_gradient_matches_exact_gradient_at_paper_beta() {
    let cs = case();
    let c = RelaxConfig::default();
    let (g_ep, g_exact) = (ep(&cs, &c), exact_gradient(&cs, &c));
    let cos = cosine(&g_ep, &g_exact);
    let ratio = norm(&g_ep) / norm(&g_exact);
    assert!(cos >= 0.9999, "cosine similarity {cos}");
    assert!((ratio - 1.0).abs() <= 0.01, "magnitude ratio {ratio}");
}

/// Symmetric EP has an O(beta^2) bias: doubling beta multiplies the error by about 4 (a little
/// more as higher orders join in). Smaller eps (with more steps) keeps the larger nudges inside
/// the stability bound.
#[test]
fn ep_error_grows_as_beta_squared() {
    let cs = case();
    let base = RelaxConfig { eps: 0.05, steps: 600, ..RelaxConfig::default() };
    let g_exact = exact_gradient(&cs, &base);
    let errors: Vec<f64> = [1.25e-3, 2.5e-3, 5e-3, 1e-2]
        .iter()
        .map(|&beta| {
            let c = RelaxConfig { beta, ..base.clone() };
            assert!(c.eps * c.visible_coefficient() < 2.0);
            relative_error(&ep(&cs, &c), &g_exact)
        })
        .collect();
    for w in errors.windows(2) {
        let growth = w[1] / w[0];
        assert!((3.5..6.5).contains(&growth), "error growth per doubling of beta {growth}: {errors:?}");
    }
    assert!(errors[0] < 0.01 && errors[3] > 0.1, "a large beta visibly biases the estimate: {errors:?}");
}
