//! The network's parameters `theta = (W0, b0, W1, b1, bx)` (SPEC "Network and energy") and
//! their initialisation, and the states of a batch.

use crate::config::ModelConfig;
use crate::real::Real;
use rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};
use serde::{Deserialize, Serialize};

/// Layer sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    pub n_x: usize,
    pub n_h1: usize,
    pub n_h2: usize,
}

impl Dims {
    pub fn of(config: &ModelConfig) -> Dims {
        Dims { n_x: config.n_x, n_h1: config.n_h1, n_h2: config.n_h2 }
    }

    /// Total number of parameters (24,896 at paper sizes).
    pub fn n_params(&self) -> usize {
        self.n_h1 * self.n_x + self.n_h1 + self.n_h2 * self.n_h1 + self.n_h2 + self.n_x
    }

    /// The generated core's parameter order, as `(tensor, index)` pairs ([`Params::tensors`]
    /// order of the tensors): the fused matrix `M = [W0^T ; W1]` (`K = n_x + n_h2` rows, `N = n_h1`
    /// columns) row-major, then the K-side biases `[bx ; b1]`, then the N-side biases `b0`. It
    /// is the core's host index (`core.v`, `floweqprop vectors`) and the order in which its
    /// optimizer unit walks the parameters during UPDATE (`golden::optim`).
    pub fn core_walk(&self) -> Vec<(usize, usize)> {
        let (n_x, n_h1, n_h2) = (self.n_x, self.n_h1, self.n_h2);
        let (w0, b0, w1, b1, bx) = (0, 1, 2, 3, 4);
        let fused = (0..n_x + n_h2).flat_map(|k| {
            (0..n_h1).map(move |n| if k < n_x { (w0, n * n_x + k) } else { (w1, (k - n_x) * n_h1 + n) })
        });
        let biases =
            (0..n_x).map(|i| (bx, i)).chain((0..n_h2).map(|i| (b1, i))).chain((0..n_h1).map(|i| (b0, i)));
        fused.chain(biases).collect()
    }

    /// Multiply-accumulates of one relaxation step of one sample (the four matrix-vector
    /// products of SPEC: 49,152 at paper sizes).
    pub fn macs_per_step(&self) -> usize {
        2 * (self.n_x * self.n_h1 + self.n_h1 * self.n_h2)
    }
}

/// Parameters (or a gradient, or optimizer moments: anything shaped like them).
/// Matrices are row-major: `w0[i*n_x + j]` connects x_j to h1_i, `w1[i*n_h1 + j]` h1_j to h2_i.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params<T> {
    pub w0: Vec<T>,
    pub b0: Vec<T>,
    pub w1: Vec<T>,
    pub b1: Vec<T>,
    pub bx: Vec<T>,
}

impl<T: Copy + Default> Params<T> {
    /// All zeros (`T::default()`).
    pub fn zeros(d: Dims) -> Params<T> {
        Params {
            w0: vec![T::default(); d.n_h1 * d.n_x],
            b0: vec![T::default(); d.n_h1],
            w1: vec![T::default(); d.n_h2 * d.n_h1],
            b1: vec![T::default(); d.n_h2],
            bx: vec![T::default(); d.n_x],
        }
    }

    /// The layer sizes these parameters have.
    pub fn dims(&self) -> Dims {
        Dims { n_x: self.bx.len(), n_h1: self.b0.len(), n_h2: self.b1.len() }
    }

    /// The five tensors in a fixed order, with their names.
    pub fn tensors(&self) -> [(&'static str, &[T]); 5] {
        [("W0", &self.w0), ("b0", &self.b0), ("W1", &self.w1), ("b1", &self.b1), ("bx", &self.bx)]
    }

    /// The five tensors, mutable, in the order of [`Params::tensors`].
    pub fn tensors_mut(&mut self) -> [&mut [T]; 5] {
        [&mut self.w0, &mut self.b0, &mut self.w1, &mut self.b1, &mut self.bx]
    }

    /// Every value, tensor after tensor.
    pub fn values(&self) -> impl Iterator<Item = T> + '_ {
        self.tensors().into_iter().flat_map(|(_, t)| t.iter().copied())
    }

    /// The same shape with every value mapped by `f`.
    pub fn map<U>(&self, f: impl Fn(T) -> U) -> Params<U> {
        let m = |v: &[T]| v.iter().map(|&x| f(x)).collect();
        Params { w0: m(&self.w0), b0: m(&self.b0), w1: m(&self.w1), b1: m(&self.b1), bx: m(&self.bx) }
    }

    /// Checks the tensor lengths against `d`.
    pub fn has_dims(&self, d: Dims) -> bool {
        let lens = |p: &Params<T>| p.tensors().map(|(_, t)| t.len());
        lens(self) == lens(&Params::zeros(d))
    }
}

impl<T: Real> Params<T> {
    /// SPEC init: weights Xavier normal with `gain` (std = gain*sqrt(2/(fan_in+fan_out))),
    /// biases b0, b1 ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), bx = 0.
    pub fn init<R: Rng>(d: Dims, gain: f64, rng: &mut R) -> Params<T> {
        let mut p = Params::zeros(d);
        let mut normal = |fan_in: usize, fan_out: usize, out: &mut [T]| {
            let std = gain * (2.0 / (fan_in + fan_out) as f64).sqrt();
            let dist = Normal::new(0.0, std).expect("std is finite and positive");
            out.iter_mut().for_each(|w| *w = T::of(dist.sample(rng)));
        };
        normal(d.n_x, d.n_h1, &mut p.w0);
        normal(d.n_h1, d.n_h2, &mut p.w1);
        let mut uniform = |fan_in: usize, out: &mut [T]| {
            let a = 1.0 / (fan_in as f64).sqrt();
            let dist = Uniform::new(-a, a).expect("a > 0");
            out.iter_mut().for_each(|b| *b = T::of(dist.sample(rng)));
        };
        uniform(d.n_x, &mut p.b0);
        uniform(d.n_h1, &mut p.b1);
        p
    }

    /// Converts to another precision.
    pub fn cast<U: Real>(&self) -> Params<U> {
        self.map(|x| U::of(x.to_f64().unwrap_or(f64::NAN)))
    }
}

/// The states of a batch of `n` samples, row-major (`x` is `n x n_x`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct States<N> {
    pub n: usize,
    pub x: Vec<N>,
    pub h1: Vec<N>,
    pub h2: Vec<N>,
}

impl<N: Copy + Default> States<N> {
    /// `(x, 0, 0)`: the start of every free phase.
    pub fn from_visible(d: Dims, x: &[N]) -> States<N> {
        let n = x.len() / d.n_x;
        States { n, x: x.to_vec(), h1: vec![N::default(); n * d.n_h1], h2: vec![N::default(); n * d.n_h2] }
    }

    /// Layer sizes of these states.
    pub fn dims(&self) -> Dims {
        Dims { n_x: self.x.len() / self.n, n_h1: self.h1.len() / self.n, n_h2: self.h2.len() / self.n }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn paper_sizes_have_the_paper_parameter_count() {
        let d = Dims::of(&ModelConfig::default());
        assert_eq!(d.n_params(), 24_896);
        assert_eq!(d.macs_per_step(), 49_152);
        let p = Params::<f32>::zeros(d);
        assert_eq!(p.values().count(), 24_896);
    }

    #[test]
    fn init_has_the_spec_statistics() {
        let d = Dims { n_x: 64, n_h1: 128, n_h2: 128 };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let p = Params::<f64>::init(d, 0.5, &mut rng);
        let std = |v: &[f64]| (v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64).sqrt();
        let want0 = 0.5 * (2.0 / 192.0f64).sqrt();
        assert!((std(&p.w0) / want0 - 1.0).abs() < 0.03, "{}", std(&p.w0));
        let want1 = 0.5 * (2.0 / 256.0f64).sqrt();
        assert!((std(&p.w1) / want1 - 1.0).abs() < 0.03);
        assert!(p.b0.iter().all(|b| b.abs() <= 1.0 / 8.0) && std(&p.b0) > 0.03);
        assert!(p.b1.iter().all(|b| b.abs() <= 1.0 / 128f64.sqrt()));
        assert!(p.bx.iter().all(|&b| b == 0.0));
        assert!(p.has_dims(d) && !p.has_dims(Dims { n_x: 63, ..d }));
    }
}
