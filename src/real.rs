//! The floating-point number types the reference model runs on (`f32` for speed, `f64` for
//! verification), and the two kernels whose speed decides an epoch's time: the matrix product
//! and the activation `rho` with its derivative.
//!
//! Everything above this module is generic over [`Real`], so both precisions run the same code.

use num_traits::{Float, FromPrimitive};
use std::fmt::Debug;
use std::iter::Sum;
use std::ops::AddAssign;

/// A floating-point scalar of the reference model.
pub trait Real: Float + FromPrimitive + Debug + Default + Sum + AddAssign + Send + Sync + 'static {
    /// Name used in logs and checkpoints.
    const NAME: &'static str;

    /// `tanh`, in a form the compiler can vectorise where that matters (f32); exact in f64.
    fn tanh_kernel(x: Self) -> Self;

    /// Converts from f64 (rounding to nearest).
    fn of(x: f64) -> Self {
        Self::from_f64(x).expect("every f64 converts to a float type")
    }
}

impl Real for f64 {
    const NAME: &'static str = "f64";
    #[inline(always)]
    fn tanh_kernel(x: f64) -> f64 {
        x.tanh()
    }
}

impl Real for f32 {
    const NAME: &'static str = "f32";
    /// Rational minimax approximation of tanh on [-7.9, 7.9] (Eigen's `generic_fast_tanh_float`),
    /// within a few ulp of the true value; outside that range tanh is +-1 in f32. Written in plain
    /// arithmetic so that the activation loop vectorises (libm's `tanhf` does not).
    #[inline(always)]
    fn tanh_kernel(x: f32) -> f32 {
        const CLAMP: f32 = 7.905_311;
        const A1: f32 = 4.893_524_6e-3;
        const A3: f32 = 6.372_619_3e-4;
        const A5: f32 = 1.485_722_4e-5;
        const A7: f32 = 5.122_297e-8;
        const A9: f32 = -8.604_672e-11;
        const A11: f32 = 2.000_188e-13;
        const A13: f32 = -2.760_768_5e-16;
        const B0: f32 = 4.893_525e-3;
        const B2: f32 = 2.268_434_7e-3;
        const B4: f32 = 1.185_347_1e-4;
        const B6: f32 = 1.198_258_4e-6;
        let x = x.clamp(-CLAMP, CLAMP);
        let x2 = x * x;
        let mut p = x2 * A13 + A11;
        p = p * x2 + A9;
        p = p * x2 + A7;
        p = p * x2 + A5;
        p = p * x2 + A3;
        p = p * x2 + A1;
        p *= x;
        let mut q = x2 * B6 + B4;
        q = q * x2 + B2;
        q = q * x2 + B0;
        p / q
    }
}

/// Soft-clamped SiLU of SPEC, `rho(u) = 10 tanh(SiLU(u)/10)`, and its derivative, for one value.
///
/// The sigmoid is computed as `(1 + tanh(u/2))/2` so that one vectorisable kernel serves both.
#[inline(always)]
pub fn rho_and_derivative<T: Real>(u: T) -> (T, T) {
    let one = T::one();
    let half = T::of(0.5);
    let sigmoid = half * (one + T::tanh_kernel(u * half));
    let silu = u * sigmoid;
    let th = T::tanh_kernel(silu * T::of(0.1));
    let rho = T::of(10.0) * th;
    let dsilu = sigmoid * (one + u * (one - sigmoid));
    (rho, (one - th * th) * dsilu)
}

/// `rho` alone (used where the derivative is not needed).
pub fn rho<T: Real>(u: T) -> T {
    rho_and_derivative(u).0
}

/// [`rho_slice`] as a loop for [`widest_simd`].
struct RhoSlice<'a, T> {
    u: &'a [T],
    r: &'a mut [T],
    dr: &'a mut [T],
}

impl<T: Real> SimdKernel for RhoSlice<'_, T> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        for ((&u, r), dr) in self.u.iter().zip(self.r.iter_mut()).zip(self.dr.iter_mut()) {
            (*r, *dr) = rho_and_derivative(u);
        }
    }
}

/// Applies `rho` and `rho'` to a slice, with the widest vectors the CPU has. The arithmetic is
/// the same in every path (Rust does not contract into FMA), so results do not depend on the
/// machine.
pub fn rho_slice<T: Real>(u: &[T], r: &mut [T], dr: &mut [T]) {
    assert!(u.len() == r.len() && u.len() == dr.len());
    widest_simd(RhoSlice { u, r, dr })
}

/// A loop to compile for the widest vectors the CPU has: implement `run` with
/// `#[inline(always)]`, and [`widest_simd`] inlines it into functions built with AVX-512 or AVX2
/// enabled. (A closure would not do: the compiler does not inline it into such a function.)
pub trait SimdKernel {
    type Output;
    fn run(self) -> Self::Output;
}

/// Runs `kernel` compiled for AVX-512 (with 64-bit integer multiply and variable shifts) where
/// the CPU has it, else AVX2, else the baseline. Integer kernels give the same bits on every
/// path.
#[inline(always)]
pub fn widest_simd<K: SimdKernel>(kernel: K) -> K::Output {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma,bmi2")]
        unsafe fn avx512<K: SimdKernel>(kernel: K) -> K::Output {
            kernel.run()
        }
        #[target_feature(enable = "avx2,fma,bmi2")]
        unsafe fn avx2<K: SimdKernel>(kernel: K) -> K::Output {
            kernel.run()
        }
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f") && has!("avx512vl") && has!("avx512dq") && has!("avx512bw") && has!("bmi2") {
            // SAFETY: the features the function was compiled for are present on this CPU.
            return unsafe { avx512(kernel) };
        }
        if has!("avx2") && has!("fma") && has!("bmi2") {
            // SAFETY: as above.
            return unsafe { avx2(kernel) };
        }
    }
    kernel.run()
}

/// A read-only strided view of a matrix: element (i, j) is `data[i*row_stride + j*col_stride]`.
#[derive(Clone, Copy)]
pub struct MatRef<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a, T> MatRef<'a, T> {
    /// A row-major `rows x cols` matrix stored contiguously.
    pub fn row_major(data: &'a [T], rows: usize, cols: usize) -> Self {
        assert_eq!(data.len(), rows * cols, "matrix data length");
        MatRef { data, rows, cols, row_stride: cols, col_stride: 1 }
    }

    /// The transpose, without copying.
    pub fn t(self) -> Self {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }
}

/// `dst = a * b` (or `dst += a * b` when `accumulate`), `dst` row-major `a.rows x b.cols`.
///
/// Single-threaded on purpose: the model parallelises over chunks of samples instead, which keeps
/// each thread's working set in its own cache.
pub fn matmul<T: Real>(dst: &mut [T], a: MatRef<T>, b: MatRef<T>, accumulate: bool) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(k, b.rows, "inner dimensions");
    assert_eq!(dst.len(), m * n, "destination size");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst.fill(T::zero());
        }
        return;
    }
    // Bounds of the strided views: the last element each can touch.
    assert!((m - 1) * a.row_stride + (k - 1) * a.col_stride < a.data.len());
    assert!((k - 1) * b.row_stride + (n - 1) * b.col_stride < b.data.len());
    // SAFETY: all three views were bounds-checked above and `dst` does not alias `a` or `b`
    // (it is a unique borrow).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            T::one(),
            T::one(),
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_tanh_f32_is_close_to_exact() {
        let mut worst = 0.0f64;
        for i in -20000..=20000 {
            let x = i as f32 * 1e-3;
            let err = (f32::tanh_kernel(x) as f64 - (x as f64).tanh()).abs();
            worst = worst.max(err);
        }
        assert!(worst < 5e-7, "worst abs error {worst}");
        assert_eq!(f32::tanh_kernel(100.0), 1.0);
        assert_eq!(f32::tanh_kernel(-100.0), -1.0);
    }

    #[test]
    fn rho_matches_definition_and_derivative_matches_finite_difference() {
        for i in -400..=400 {
            let u = i as f64 * 0.05;
            let silu = u / (1.0 + (-u).exp());
            let exact = 10.0 * (silu / 10.0).tanh();
            let (r, d) = rho_and_derivative(u);
            assert!((r - exact).abs() < 1e-12, "rho({u})");
            let h = 1e-6;
            let fd = (rho(u + h) - rho(u - h)) / (2.0 * h);
            assert!((d - fd).abs() < 1e-7, "rho'({u}): {d} vs {fd}");
            let (r32, d32) = rho_and_derivative(u as f32);
            assert!((r32 as f64 - exact).abs() < 1e-5 * (1.0 + exact.abs()), "f32 rho({u})");
            assert!((d32 as f64 - d).abs() < 1e-5, "f32 rho'({u})");
        }
    }

    #[test]
    fn rho_slice_equals_scalar_path() {
        let u: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) * 0.037).collect();
        let (mut r, mut d) = (vec![0.0; 1000], vec![0.0; 1000]);
        rho_slice(&u, &mut r, &mut d);
        for i in 0..1000 {
            assert_eq!((r[i], d[i]), rho_and_derivative(u[i]));
        }
    }

    #[test]
    fn matmul_matches_naive_with_transposes() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
        let bt: Vec<f64> = (0..n * k).map(|i| (i as f64 * 0.91).cos()).collect();
        let mut dst = vec![1.0; m * n];
        let b = MatRef::row_major(&bt, n, k).t();
        matmul(&mut dst, MatRef::row_major(&a, m, k), b, true);
        for i in 0..m {
            for j in 0..n {
                let want: f64 = 1.0 + (0..k).map(|l| a[i * k + l] * bt[j * k + l]).sum::<f64>();
                assert!((dst[i * n + j] - want).abs() < 1e-12);
            }
        }
    }
}
