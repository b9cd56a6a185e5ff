//! The Hopfield-like energy of SPEC and its gradients, for one sample, written exactly as the
//! formulas read. This is the definition; [`crate::relax`] computes the same gradients batched and
//! fused for speed, and is tested against this module.
//!
//! `E(s) = 1/2|x|^2 + 1/2|h1|^2 + 1/2|h2|^2 - bx.x - rho(h1).(W0 x + b0) - rho(h2).(W1 rho(h1) + b1)`

use crate::model::Params;
use crate::real::{rho, rho_and_derivative, Real};

/// `y = W v` for a row-major `W` with `v.len()` columns.
fn matvec<T: Real>(w: &[T], v: &[T]) -> Vec<T> {
    w.chunks(v.len()).map(|row| row.iter().zip(v).map(|(&a, &b)| a * b).sum()).collect()
}

/// `y = W^T v` for a row-major `W` with `v.len()` rows.
fn matvec_t<T: Real>(w: &[T], v: &[T]) -> Vec<T> {
    let cols = w.len() / v.len();
    let mut y = vec![T::zero(); cols];
    for (row, &vi) in w.chunks(cols).zip(v) {
        y.iter_mut().zip(row).for_each(|(y, &a)| *y += a * vi);
    }
    y
}

fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    a.iter().zip(b).map(|(&a, &b)| a * b).sum()
}

/// `E(s)` for one sample.
pub fn energy<T: Real>(p: &Params<T>, x: &[T], h1: &[T], h2: &[T]) -> T {
    let half = T::of(0.5);
    let r1: Vec<T> = h1.iter().map(|&h| rho(h)).collect();
    let r2: Vec<T> = h2.iter().map(|&h| rho(h)).collect();
    let drive1: Vec<T> = matvec(&p.w0, x).iter().zip(&p.b0).map(|(&a, &b)| a + b).collect();
    let drive2: Vec<T> = matvec(&p.w1, &r1).iter().zip(&p.b1).map(|(&a, &b)| a + b).collect();
    half * (dot(x, x) + dot(h1, h1) + dot(h2, h2)) - dot(&p.bx, x) - dot(&r1, &drive1) - dot(&r2, &drive2)
}

/// `(dE/dx, dE/dh1, dE/dh2)` for one sample.
pub fn state_gradient<T: Real>(p: &Params<T>, x: &[T], h1: &[T], h2: &[T]) -> [Vec<T>; 3] {
    let (r1, d1): (Vec<T>, Vec<T>) = h1.iter().map(|&h| rho_and_derivative(h)).unzip();
    let (r2, d2): (Vec<T>, Vec<T>) = h2.iter().map(|&h| rho_and_derivative(h)).unzip();
    let w0t_r1 = matvec_t(&p.w0, &r1);
    let gx = (0..x.len()).map(|j| x[j] - p.bx[j] - w0t_r1[j]).collect();
    let w0x = matvec(&p.w0, x);
    let w1t_r2 = matvec_t(&p.w1, &r2);
    let gh1 = (0..h1.len()).map(|i| h1[i] - d1[i] * (w0x[i] + p.b0[i] + w1t_r2[i])).collect();
    let w1r1 = matvec(&p.w1, &r1);
    let gh2 = (0..h2.len()).map(|i| h2[i] - d2[i] * (w1r1[i] + p.b1[i])).collect();
    [gx, gh1, gh2]
}

/// `dE/dtheta` for one sample: `dE/dW0 = -rho(h1) x^T`, `dE/db0 = -rho(h1)`,
/// `dE/dW1 = -rho(h2) rho(h1)^T`, `dE/db1 = -rho(h2)`, `dE/dbx = -x`.
pub fn param_gradient<T: Real>(x: &[T], h1: &[T], h2: &[T]) -> Params<T> {
    let r1: Vec<T> = h1.iter().map(|&h| -rho(h)).collect();
    let r2: Vec<T> = h2.iter().map(|&h| -rho(h)).collect();
    let outer = |a: &[T], b: &[T]| a.iter().flat_map(|&ai| b.iter().map(move |&bj| ai * bj)).collect();
    Params {
        w0: outer(&r1, x),
        w1: outer(&r2, &h1.iter().map(|&h| rho(h)).collect::<Vec<_>>()),
        b0: r1,
        b1: r2,
        bx: x.iter().map(|&v| -v).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Dims;
    use rand::{Rng, SeedableRng};

    fn setup() -> (Params<f64>, [Vec<f64>; 3]) {
        let d = Dims { n_x: 6, n_h1: 5, n_h2: 4 };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut p = Params::<f64>::init(d, 1.5, &mut rng);
        p.bx.iter_mut().for_each(|b| *b = rng.random_range(-0.5..0.5));
        let mut v = |n: usize| (0..n).map(|_| rng.random_range(-3.0..3.0)).collect::<Vec<f64>>();
        let s = [v(6), v(5), v(4)];
        (p, s)
    }

    #[test]
    fn state_gradient_matches_central_differences() {
        let (p, s) = setup();
        let g = state_gradient(&p, &s[0], &s[1], &s[2]);
        let h = 1e-6;
        for part in 0..3 {
            for i in 0..s[part].len() {
                let (mut up, mut down) = (s.clone(), s.clone());
                up[part][i] += h;
                down[part][i] -= h;
                let fd = (energy(&p, &up[0], &up[1], &up[2]) - energy(&p, &down[0], &down[1], &down[2]))
                    / (2.0 * h);
                assert!((g[part][i] - fd).abs() < 1e-7, "part {part} unit {i}: {} vs {fd}", g[part][i]);
            }
        }
    }

    #[test]
    fn param_gradient_matches_central_differences() {
        let (p, s) = setup();
        let g = param_gradient(&s[0], &s[1], &s[2]);
        let h = 1e-6;
        for t in 0..5 {
            for i in 0..p.tensors()[t].1.len() {
                let (mut up, mut down) = (p.clone(), p.clone());
                up.tensors_mut()[t][i] += h;
                down.tensors_mut()[t][i] -= h;
                let fd = (energy(&up, &s[0], &s[1], &s[2]) - energy(&down, &s[0], &s[1], &s[2])) / (2.0 * h);
                let got = g.tensors()[t].1[i];
                assert!((got - fd).abs() < 1e-7, "{} [{i}]: {got} vs {fd}", g.tensors()[t].0);
            }
        }
    }
}
