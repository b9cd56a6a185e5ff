//! The flow-matching sample of an epoch (SPEC): one noise vector per image, paired with the
//! images by an exact optimal-transport assignment over the full batch, a time `t ~ U[0,1]` per
//! pair, the point `x_t = (1-t) x0 + t x1` and the target velocity `u = x1 - x0`.

use crate::assignment::{solve, sq_euclidean_cost};
use crate::real::Real;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// The random stream of one epoch. Derived from `(seed, epoch)` alone, so a resumed run draws
/// exactly what the uninterrupted run drew. Stream 0 is the parameter init's.
pub fn epoch_rng(seed: u64, epoch: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch as u64 + 1);
    rng
}

/// The parameter init's random stream.
pub fn init_rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// `n * dim` standard-normal values.
pub fn gaussian_noise<R: Rng>(rng: &mut R, n: usize, dim: usize) -> Vec<f64> {
    (0..n * dim).map(|_| rng.sample(StandardNormal)).collect()
}

/// For each noise row, the image it is paired with: the permutation minimising the total
/// squared distance.
pub fn ot_pairing(noise: &[f64], images: &[f64], dim: usize) -> Vec<usize> {
    let n = noise.len() / dim;
    let cost = sq_euclidean_cost(noise, images, n, dim);
    solve(&cost, n).expect("a finite square cost matrix always has an assignment")
}

/// A batch of flow-matching targets, row-major.
#[derive(Debug, Clone)]
pub struct FlowBatch<T> {
    pub x_t: Vec<T>,
    pub u: Vec<T>,
}

/// Draws the epoch's batch from `images` (`n * dim`, in [-1, 1]): noise, pairing, times.
pub fn flow_batch<T: Real, R: Rng>(rng: &mut R, images: &[f64], dim: usize) -> FlowBatch<T> {
    let n = images.len() / dim;
    let noise = gaussian_noise(rng, n, dim);
    let pairing = ot_pairing(&noise, images, dim);
    let mut x_t = Vec::with_capacity(n * dim);
    let mut u = Vec::with_capacity(n * dim);
    for (i, &j) in pairing.iter().enumerate() {
        let t: f64 = rng.random();
        let (x0, x1) = (&noise[i * dim..(i + 1) * dim], &images[j * dim..(j + 1) * dim]);
        for (&a, &b) in x0.iter().zip(x1) {
            x_t.push(T::of((1.0 - t) * a + t * b));
            u.push(T::of(b - a));
        }
    }
    FlowBatch { x_t, u }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_is_an_interpolation_with_a_permutation_pairing() {
        let images: Vec<f64> = (0..40 * 4).map(|i| ((i * 37 % 11) as f64 / 5.0) - 1.0).collect();
        let b: FlowBatch<f64> = flow_batch(&mut epoch_rng(3, 0), &images, 4);
        assert_eq!(b.x_t.len(), 160);
        // x1 = x_t + (1-t) u and x0 = x_t - t u: recover t from one pixel, check the rest.
        let mut used = [false; 40];
        for i in 0..40 {
            let row = |v: &[f64]| v[i * 4..(i + 1) * 4].to_vec();
            let (xt, u) = (row(&b.x_t), row(&b.u));
            let j = (0..40)
                .find(|&j| {
                    let x1 = &images[j * 4..(j + 1) * 4];
                    let x0: Vec<f64> = x1.iter().zip(&u).map(|(a, b)| a - b).collect();
                    let t = (xt[0] - x0[0]) / u[0];
                    (0.0..=1.0).contains(&t)
                        && (0..4).all(|k| (x0[k] + t * u[k] - xt[k]).abs() < 1e-9)
                        && !used[j]
                })
                .expect("every row is an interpolation towards an unused image");
            used[j] = true;
        }
    }

    #[test]
    fn epoch_streams_are_reproducible_and_distinct() {
        let a = gaussian_noise(&mut epoch_rng(5, 7), 3, 2);
        assert_eq!(a, gaussian_noise(&mut epoch_rng(5, 7), 3, 2));
        assert_ne!(a, gaussian_noise(&mut epoch_rng(5, 8), 3, 2));
        assert_ne!(a, gaussian_noise(&mut epoch_rng(6, 7), 3, 2));
    }
}
