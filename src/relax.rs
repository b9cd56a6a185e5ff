//! Relaxation: synchronous gradient descent `s <- s - eps * grad F_beta(s)` on a batch of
//! samples, `F_beta(s) = E(s) + k/2 |x - x_t|^2 + beta (alpha k)^2 / 2 |x - xhat|^2` (SPEC).
//!
//! The four matrix-vector products of a step run as two matrix products over the batch, with the
//! weights packed side by side once per parameter update:
//! `[x | rho(h2)] * [W0^T ; W1] = W0 x + W1^T rho(h2)` (the drive of h1) and
//! `rho(h1) * [W0 | W1^T] = [W0^T rho(h1) | W1 rho(h1)]` (the drives of x and h2).

use crate::model::{Dims, Params};
use crate::real::{matmul, rho_slice, MatRef, Real};

/// Parameters arranged for the batched relaxation.
pub struct Packed<T> {
    pub dims: Dims,
    /// `[W0^T ; W1]`, `(n_x + n_h2) x n_h1`.
    wa: Vec<T>,
    /// `[W0 | W1^T]`, `n_h1 x (n_x + n_h2)`.
    wb: Vec<T>,
    b0: Vec<T>,
    b1: Vec<T>,
    bx: Vec<T>,
}

impl<T: Real> Packed<T> {
    pub fn new(p: &Params<T>) -> Packed<T> {
        let d = p.dims();
        let (nx, nh1, nh2) = (d.n_x, d.n_h1, d.n_h2);
        let mut wa = vec![T::zero(); (nx + nh2) * nh1];
        for i in 0..nh1 {
            for j in 0..nx {
                wa[j * nh1 + i] = p.w0[i * nx + j];
            }
        }
        wa[nx * nh1..].copy_from_slice(&p.w1);
        let mut wb = vec![T::zero(); nh1 * (nx + nh2)];
        for i in 0..nh1 {
            let row = &mut wb[i * (nx + nh2)..(i + 1) * (nx + nh2)];
            row[..nx].copy_from_slice(&p.w0[i * nx..(i + 1) * nx]);
            for j in 0..nh2 {
                row[nx + j] = p.w1[j * nh1 + i];
            }
        }
        Packed { dims: d, wa, wb, b0: p.b0.clone(), b1: p.b1.clone(), bx: p.bx.clone() }
    }
}

/// The states of a batch of `n` samples, row-major (`x` is `n x n_x`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct States<T> {
    pub n: usize,
    pub x: Vec<T>,
    pub h1: Vec<T>,
    pub h2: Vec<T>,
}

impl<T: Real> States<T> {
    /// `(x, 0, 0)`: the start of every free phase.
    pub fn from_visible(d: Dims, x: &[T]) -> States<T> {
        let n = x.len() / d.n_x;
        States { n, x: x.to_vec(), h1: vec![T::zero(); n * d.n_h1], h2: vec![T::zero(); n * d.n_h2] }
    }

    /// Layer sizes of these states.
    pub fn dims(&self) -> Dims {
        Dims { n_x: self.x.len() / self.n, n_h1: self.h1.len() / self.n, n_h2: self.h2.len() / self.n }
    }

    /// True when every value is finite.
    pub fn is_finite(&self) -> bool {
        [&self.x, &self.h1, &self.h2].iter().all(|v| v.iter().all(|a| a.is_finite()))
    }

    /// `rho` of each hidden layer.
    pub fn rho_hidden(&self) -> (Vec<T>, Vec<T>) {
        let r = |h: &[T]| {
            let (mut r, mut d) = (vec![T::zero(); h.len()], vec![T::zero(); h.len()]);
            rho_slice(h, &mut r, &mut d);
            r
        };
        (r(&self.h1), r(&self.h2))
    }
}

/// What holds the visible units during a phase.
pub enum Visible<T> {
    /// x is held fixed: the hidden units relax on E alone (generation).
    Fixed,
    /// x feels the spring towards `x_t` and the nudge towards `xhat`. Stored as the linear part
    /// of `grad_x F_beta = coeff * x - bx - W0^T rho(h1) - pull`, with `coeff = 1 + k + nudge`
    /// and `pull = k x_t + nudge xhat`, `nudge = beta (alpha k)^2` (signed).
    Spring { coeff: T, pull: Vec<T> },
}

impl<T: Real> Visible<T> {
    /// The spring at `x_t` with nudge strength `beta` (0 for the free phase) towards
    /// `xhat = x_t + u / (alpha k)`. `u` may be empty when `beta == 0`.
    pub fn spring(x_t: &[T], u: &[T], k: f64, alpha: f64, beta: f64) -> Visible<T> {
        let nudge = beta * (alpha * k).powi(2);
        let pull = if beta == 0.0 {
            x_t.iter().map(|&x| T::of(k) * x).collect()
        } else {
            let inv = T::of(1.0 / (alpha * k));
            x_t.iter().zip(u).map(|(&x, &u)| T::of(k) * x + T::of(nudge) * (x + u * inv)).collect()
        };
        Visible::Spring { coeff: T::of(1.0 + k + nudge), pull }
    }
}

/// Scratch buffers of one batch, reused across steps.
struct Workspace<T> {
    /// `[x | rho(h2)]`, `n x (n_x + n_h2)`.
    x_r2: Vec<T>,
    /// `W0 x + W1^T rho(h2)`, `n x n_h1`.
    drive_h1: Vec<T>,
    /// `[W0^T rho(h1) | W1 rho(h1)]`, `n x (n_x + n_h2)`.
    drive_x_h2: Vec<T>,
    r1: Vec<T>,
    d1: Vec<T>,
    r2: Vec<T>,
    d2: Vec<T>,
}

impl<T: Real> Workspace<T> {
    fn new(d: Dims, n: usize) -> Self {
        let z = |len: usize| vec![T::zero(); len];
        Workspace {
            x_r2: z(n * (d.n_x + d.n_h2)),
            drive_h1: z(n * d.n_h1),
            drive_x_h2: z(n * (d.n_x + d.n_h2)),
            r1: z(n * d.n_h1),
            d1: z(n * d.n_h1),
            r2: z(n * d.n_h2),
            d2: z(n * d.n_h2),
        }
    }

    /// Activations of the current state and the three drives.
    fn products(&mut self, p: &Packed<T>, s: &States<T>) {
        let Dims { n_x: nx, n_h1: nh1, n_h2: nh2 } = p.dims;
        rho_slice(&s.h1, &mut self.r1, &mut self.d1);
        rho_slice(&s.h2, &mut self.r2, &mut self.d2);
        let w = nx + nh2;
        for i in 0..s.n {
            let row = &mut self.x_r2[i * w..(i + 1) * w];
            row[..nx].copy_from_slice(&s.x[i * nx..(i + 1) * nx]);
            row[nx..].copy_from_slice(&self.r2[i * nh2..(i + 1) * nh2]);
        }
        let (n, wa, wb) = (s.n, &p.wa, &p.wb);
        matmul(&mut self.drive_h1, MatRef::row_major(&self.x_r2, n, w), MatRef::row_major(wa, w, nh1), false);
        matmul(
            &mut self.drive_x_h2,
            MatRef::row_major(&self.r1, n, nh1),
            MatRef::row_major(wb, nh1, w),
            false,
        );
    }
}

/// Runs `steps` synchronous steps of size `eps` on every sample of `s`.
pub fn relax<T: Real>(p: &Packed<T>, s: &mut States<T>, visible: &Visible<T>, eps: f64, steps: usize) {
    let Dims { n_x: nx, n_h1: nh1, n_h2: nh2 } = p.dims;
    let eps = T::of(eps);
    let mut ws = Workspace::new(p.dims, s.n);
    let w = nx + nh2;
    for _ in 0..steps {
        ws.products(p, s);
        for i in 0..s.n {
            let drive = &ws.drive_x_h2[i * w..(i + 1) * w];
            if let Visible::Spring { coeff, pull } = visible {
                let x = &mut s.x[i * nx..(i + 1) * nx];
                let pull = &pull[i * nx..(i + 1) * nx];
                for j in 0..nx {
                    let g = *coeff * x[j] - p.bx[j] - drive[j] - pull[j];
                    x[j] = x[j] - eps * g;
                }
            }
            let (h1, r) = (&mut s.h1[i * nh1..(i + 1) * nh1], i * nh1..(i + 1) * nh1);
            let (d1, a1) = (&ws.d1[r.clone()], &ws.drive_h1[r]);
            for j in 0..nh1 {
                let g = h1[j] - d1[j] * (a1[j] + p.b0[j]);
                h1[j] = h1[j] - eps * g;
            }
            let (h2, d2) = (&mut s.h2[i * nh2..(i + 1) * nh2], &ws.d2[i * nh2..(i + 1) * nh2]);
            for j in 0..nh2 {
                let g = h2[j] - d2[j] * (drive[nx + j] + p.b1[j]);
                h2[j] = h2[j] - eps * g;
            }
        }
    }
}

/// `dE/dx = x - bx - W0^T rho(h1)` for every sample of `s`.
pub fn energy_grad_x<T: Real>(p: &Packed<T>, s: &States<T>) -> Vec<T> {
    let nx = p.dims.n_x;
    let w = nx + p.dims.n_h2;
    let mut ws = Workspace::new(p.dims, s.n);
    ws.products(p, s);
    let mut g = vec![T::zero(); s.n * nx];
    for i in 0..s.n {
        for j in 0..nx {
            g[i * nx + j] = s.x[i * nx + j] - p.bx[j] - ws.drive_x_h2[i * w + j];
        }
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::energy::state_gradient;
    use rand::{Rng, SeedableRng};

    /// One batched step equals `s - eps * grad F` computed per sample from the definition.
    #[test]
    fn one_step_matches_the_energy_gradient_with_spring_and_nudge() {
        let d = Dims { n_x: 7, n_h1: 5, n_h2: 6 };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut p = Params::<f64>::init(d, 1.0, &mut rng);
        p.bx.iter_mut().for_each(|b| *b = rng.random_range(-0.5..0.5));
        let n = 3;
        let mut v = |len: usize| (0..len).map(|_| rng.random_range(-2.0..2.0)).collect::<Vec<f64>>();
        let s0 = States { n, x: v(n * 7), h1: v(n * 5), h2: v(n * 6) };
        let (x_t, u) = (v(n * 7), v(n * 7));
        let (k, alpha, beta, eps) = (1.5, 2.0, -0.3, 0.05);
        let mut s = s0.clone();
        relax(&Packed::new(&p), &mut s, &Visible::spring(&x_t, &u, k, alpha, beta), eps, 1);
        let nudge = beta * (alpha * k) * (alpha * k);
        for i in 0..n {
            let (x, h1, h2) = (&s0.x[i * 7..][..7], &s0.h1[i * 5..][..5], &s0.h2[i * 6..][..6]);
            let [gx, gh1, gh2] = state_gradient(&p, x, h1, h2);
            for j in 0..7 {
                let xt = x_t[i * 7 + j];
                let xhat = xt + u[i * 7 + j] / (alpha * k);
                let g = gx[j] + k * (x[j] - xt) + nudge * (x[j] - xhat);
                assert!((s.x[i * 7 + j] - (x[j] - eps * g)).abs() < 1e-12);
            }
            for j in 0..5 {
                assert!((s.h1[i * 5 + j] - (h1[j] - eps * gh1[j])).abs() < 1e-12);
            }
            for j in 0..6 {
                assert!((s.h2[i * 6 + j] - (h2[j] - eps * gh2[j])).abs() < 1e-12);
            }
            let gx_batched = energy_grad_x(&Packed::new(&p), &s0);
            for j in 0..7 {
                assert!((gx_batched[i * 7 + j] - gx[j]).abs() < 1e-12);
            }
        }
        // Fixed visible units do not move.
        let mut s = s0.clone();
        relax(&Packed::new(&p), &mut s, &Visible::Fixed, eps, 4);
        assert_eq!(s.x, s0.x);
        assert_ne!(s.h1, s0.h1);
    }
}
