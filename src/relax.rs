//! Relaxation: synchronous gradient descent `s <- s - eps * grad F_beta(s)` on a batch of
//! samples, `F_beta(s) = E(s) + k/2 |x - x_t|^2 + beta (alpha k)^2 / 2 |x - xhat|^2` (SPEC), in any
//! [`Arith`].
//!
//! The four matrix-vector products of a step run as two matrix products over the batch, with the
//! weights packed side by side once per parameter update:
//! `[x | rho(h2)] * [W0^T ; W1] = W0 x + W1^T rho(h2)` (the drive of h1) and
//! `rho(h1) * [W0 | W1^T] = [W0^T rho(h1) | W1 rho(h1)]` (the drives of x and h2).

use crate::arith::Arith;
use crate::config::RelaxConfig;
use crate::model::{Dims, Params, States};
use crate::saturation::Saturations;

/// Parameters arranged for the batched relaxation.
pub struct Packed<A: Arith> {
    pub dims: Dims,
    /// `[W0^T ; W1]`, `(n_x + n_h2) x n_h1`.
    wa: A::Matrix,
    /// `[W0 | W1^T]`, `n_h1 x (n_x + n_h2)`.
    wb: A::Matrix,
    b0: Vec<A::Num>,
    b1: Vec<A::Num>,
    bx: Vec<A::Num>,
}

impl<A: Arith> Packed<A> {
    pub fn new(a: &A, p: &Params<A::Num>) -> Packed<A> {
        let d = p.dims();
        let (nx, nh1, nh2) = (d.n_x, d.n_h1, d.n_h2);
        let mut wa = vec![A::Num::default(); (nx + nh2) * nh1];
        for i in 0..nh1 {
            for j in 0..nx {
                wa[j * nh1 + i] = p.w0[i * nx + j];
            }
        }
        wa[nx * nh1..].copy_from_slice(&p.w1);
        let mut wb = vec![A::Num::default(); nh1 * (nx + nh2)];
        for i in 0..nh1 {
            let row = &mut wb[i * (nx + nh2)..(i + 1) * (nx + nh2)];
            row[..nx].copy_from_slice(&p.w0[i * nx..(i + 1) * nx]);
            for j in 0..nh2 {
                row[nx + j] = p.w1[j * nh1 + i];
            }
        }
        Packed {
            dims: d,
            wa: a.matrix(&wa, nx + nh2, nh1),
            wb: a.matrix(&wb, nh1, nx + nh2),
            b0: p.b0.clone(),
            b1: p.b1.clone(),
            bx: p.bx.clone(),
        }
    }
}

/// What holds the visible units during a phase.
pub enum Visible<A: Arith> {
    /// x is held fixed: the hidden units relax on E alone (generation).
    Fixed,
    /// x feels the spring towards `x_t` and the nudge towards `xhat = x_t + u / (alpha k)`:
    /// `grad_x F = x - bx - W0^T rho(h1) + k (x - x_t) + nudge (x - xhat)`,
    /// `nudge = beta (alpha k)^2` (signed). `coeff` and `pull` are the arithmetic's constant
    /// parts of it ([`Arith::spring`]).
    Spring { coeff: A::Const, x_t: Vec<A::Num>, pull: Vec<A::Num> },
}

impl<A: Arith> Visible<A> {
    /// The spring at `x_t` with nudge strength `beta` (0 for the free phase) towards
    /// `xhat = x_t + u / (alpha k)`. `u` may be empty when `beta == 0`.
    pub fn spring(
        a: &A,
        x_t: &[A::Num],
        u: &[A::Num],
        r: &RelaxConfig,
        beta: f64,
        sat: &mut Saturations,
    ) -> Visible<A> {
        let (coeff, pull) = a.spring(x_t, u, r.k, r.nudge_with(beta), 1.0 / (r.alpha * r.k), sat);
        Visible::Spring { coeff, x_t: x_t.to_vec(), pull }
    }
}

/// Scratch buffers of one batch, reused across steps.
pub struct Workspace<A: Arith> {
    /// `[x | rho(h2)]`, `n x (n_x + n_h2)`.
    x_r2: Vec<A::Num>,
    /// `W0 x + W1^T rho(h2)`, `n x n_h1`.
    drive_h1: Vec<A::Acc>,
    /// `[W0^T rho(h1) | W1 rho(h1)]`, `n x (n_x + n_h2)`.
    drive_x_h2: Vec<A::Acc>,
    r1: Vec<A::Num>,
    d1: Vec<A::Num>,
    r2: Vec<A::Num>,
    d2: Vec<A::Num>,
}

impl<A: Arith> Workspace<A> {
    fn new(d: Dims, n: usize) -> Self {
        let z = |len: usize| vec![A::Num::default(); len];
        let acc = |len: usize| vec![A::Acc::default(); len];
        Workspace {
            x_r2: z(n * (d.n_x + d.n_h2)),
            drive_h1: acc(n * d.n_h1),
            drive_x_h2: acc(n * (d.n_x + d.n_h2)),
            r1: z(n * d.n_h1),
            d1: z(n * d.n_h1),
            r2: z(n * d.n_h2),
            d2: z(n * d.n_h2),
        }
    }

    /// Activations of the current state and the three drives (without biases).
    fn products(&mut self, a: &A, p: &Packed<A>, s: &States<A::Num>) {
        let Dims { n_x: nx, n_h1: _, n_h2: nh2 } = p.dims;
        a.activation(&s.h1, &mut self.r1, &mut self.d1);
        a.activation(&s.h2, &mut self.r2, &mut self.d2);
        let w = nx + nh2;
        for i in 0..s.n {
            let row = &mut self.x_r2[i * w..(i + 1) * w];
            row[..nx].copy_from_slice(&s.x[i * nx..(i + 1) * nx]);
            row[nx..].copy_from_slice(&self.r2[i * nh2..(i + 1) * nh2]);
        }
        a.product(&mut self.drive_h1, &self.x_r2, &p.wa);
        a.product(&mut self.drive_x_h2, &self.r1, &p.wb);
    }
}

/// Runs `steps` synchronous steps of size `eps` on every sample of `s`; overflows of the
/// fixed-point datapath are counted in `sat`.
pub fn relax<A: Arith>(
    a: &A,
    p: &Packed<A>,
    s: &mut States<A::Num>,
    visible: &Visible<A>,
    eps: f64,
    steps: usize,
    sat: &mut Saturations,
) {
    let Dims { n_x: nx, n_h1: nh1, n_h2: nh2 } = p.dims;
    let eps_c = a.constant(eps);
    let mut ws = Workspace::new(p.dims, s.n);
    let w = nx + nh2;
    for _ in 0..steps {
        ws.products(a, p, s);
        for i in 0..s.n {
            let drive = &ws.drive_x_h2[i * w..(i + 1) * w];
            if let Visible::Spring { coeff, x_t, pull } = visible {
                let (x, r) = (&mut s.x[i * nx..(i + 1) * nx], i * nx..(i + 1) * nx);
                a.visible_step(eps_c, *coeff, x, &drive[..nx], &p.bx, &x_t[r.clone()], &pull[r], sat);
            }
            let r = i * nh1..(i + 1) * nh1;
            a.hidden_step(eps_c, &mut s.h1[r.clone()], &ws.d1[r.clone()], &ws.drive_h1[r], &p.b0, sat);
            let r = i * nh2..(i + 1) * nh2;
            a.hidden_step(eps_c, &mut s.h2[r.clone()], &ws.d2[r], &drive[nx..], &p.b1, sat);
        }
    }
}

/// One Euler step of energy-mode generation on every sample, after the hidden units have relaxed
/// with x fixed: `x <- x + dt v`, `v = -alpha dE/dx = -alpha (x - bx - W0^T rho(h1))`. It is the
/// visible step with step `dt alpha` and no spring (k = nudge = 0).
pub fn energy_euler_step<A: Arith>(
    a: &A,
    p: &Packed<A>,
    s: &mut States<A::Num>,
    dt_alpha: f64,
    sat: &mut Saturations,
) {
    let nx = p.dims.n_x;
    let w = nx + p.dims.n_h2;
    let mut ws = Workspace::new(p.dims, s.n);
    ws.products(a, p, s);
    let step = a.constant(dt_alpha);
    for i in 0..s.n {
        let x = &mut s.x[i * nx..(i + 1) * nx];
        let (coeff, pull) = a.spring(x, &[], 0.0, 0.0, 0.0, sat);
        let target = x.to_vec();
        a.visible_step(step, coeff, x, &ws.drive_x_h2[i * w..i * w + nx], &p.bx, &target, &pull, sat);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arith::float::Float;
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
        let (a, sat) = (Float::<f64>::new(), &mut Saturations::default());
        let packed = Packed::new(&a, &p);
        let mut s = s0.clone();
        let r = RelaxConfig { k, alpha, ..Default::default() };
        relax(&a, &packed, &mut s, &Visible::spring(&a, &x_t, &u, &r, beta, sat), eps, 1, sat);
        let nudge = beta * (alpha * k) * (alpha * k);
        let mut euler = s0.clone();
        energy_euler_step(&a, &packed, &mut euler, 0.3, sat);
        for i in 0..n {
            let (x, h1, h2) = (&s0.x[i * 7..][..7], &s0.h1[i * 5..][..5], &s0.h2[i * 6..][..6]);
            let [gx, gh1, gh2] = state_gradient(&p, x, h1, h2);
            for j in 0..7 {
                let xt = x_t[i * 7 + j];
                let xhat = xt + u[i * 7 + j] / (alpha * k);
                let g = gx[j] + k * (x[j] - xt) + nudge * (x[j] - xhat);
                assert!((s.x[i * 7 + j] - (x[j] - eps * g)).abs() < 1e-12);
                assert!((euler.x[i * 7 + j] - (x[j] - 0.3 * gx[j])).abs() < 1e-12);
            }
            for j in 0..5 {
                assert!((s.h1[i * 5 + j] - (h1[j] - eps * gh1[j])).abs() < 1e-12);
            }
            for j in 0..6 {
                assert!((s.h2[i * 6 + j] - (h2[j] - eps * gh2[j])).abs() < 1e-12);
            }
        }
        assert_eq!((euler.h1, euler.h2), (s0.h1.clone(), s0.h2.clone()));
        // Fixed visible units do not move.
        let mut s = s0.clone();
        relax(&a, &packed, &mut s, &Visible::Fixed, eps, 4, sat);
        assert_eq!(s.x, s0.x);
        assert_ne!(s.h1, s0.h1);
        assert_eq!(sat.total(), 0);
    }
}
