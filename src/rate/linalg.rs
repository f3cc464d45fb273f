//! Safe wrappers around the `gemm` crate for the row-major f32 matrices of the rate model.
//!
//! Every matrix product of a training step goes through [`matmul`]; element-wise work stays in
//! plain loops because it is O(B·n), negligible next to the O(B·n·m) products.

use crate::Real;

/// A read-only view of a row-major matrix, optionally transposed (by swapping strides, no copy).
#[derive(Clone, Copy)]
pub struct View<'a> {
    data: &'a [Real],
    rows: usize,
    cols: usize,
    row_stride: isize,
    col_stride: isize,
}

impl<'a> View<'a> {
    /// A `rows × cols` row-major matrix stored in `data`.
    pub fn new(data: &'a [Real], rows: usize, cols: usize) -> Self {
        assert_eq!(
            data.len(),
            rows * cols,
            "matrix storage does not match its shape"
        );
        View {
            data,
            rows,
            cols,
            row_stride: cols as isize,
            col_stride: 1,
        }
    }

    /// The transpose, sharing storage.
    pub fn t(self) -> Self {
        View {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }
}

/// How many threads a product may use: 1 means sequential.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Threads(pub usize);

impl Threads {
    fn parallelism(self) -> gemm::Parallelism {
        if self.0 <= 1 {
            gemm::Parallelism::None
        } else {
            gemm::Parallelism::Rayon(self.0)
        }
    }
}

/// `dst ← keep·dst + scale·(a·b)` for a row-major `dst` of shape `a.rows × b.cols`.
/// With `keep == 0` the old contents of `dst` are ignored (they may be anything, even NaN).
pub fn matmul(dst: &mut [Real], a: View, b: View, keep: Real, scale: Real, threads: Threads) {
    assert_eq!(a.cols, b.rows, "inner dimensions differ");
    let (m, n, k) = (a.rows, b.cols, a.cols);
    assert_eq!(
        dst.len(),
        m * n,
        "destination does not match the product's shape"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        dst.iter_mut().for_each(|d| *d *= keep);
        return;
    }
    // SAFETY: the views were built from slices whose lengths match rows×cols with the strides
    // set in `View::new`/`View::t`, so every offset gemm forms lies inside them; `dst` is an
    // exclusive borrow of exactly m×n elements, row-major, and does not alias `a` or `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            keep != 0.0,
            a.data.as_ptr(),
            a.col_stride,
            a.row_stride,
            b.data.as_ptr(),
            b.col_stride,
            b.row_stride,
            keep,
            scale,
            false,
            false,
            false,
            threads.parallelism(),
        );
    }
}

/// Logistic function σ(x) = 1 / (1 + e^(−x)).
#[inline]
pub fn sigmoid(x: Real) -> Real {
    1.0 / (1.0 + (-x).exp())
}

/// Angle in degrees between two vectors given as lists of pieces (concatenated), in f64.
/// A zero or NaN cosine (e.g. an all-zero update) counts as 90°, as in [BCN `networks_burstccn.py`].
pub fn angle_deg(a: &[&[Real]], b: &[&[Real]]) -> f64 {
    let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
    for (pa, pb) in a.iter().zip(b) {
        for (&x, &y) in pa.iter().zip(pb.iter()) {
            let (x, y) = (x as f64, y as f64);
            dot += x * y;
            na += x * x;
            nb += y * y;
        }
    }
    let cos = dot / (na.sqrt() * nb.sqrt());
    if cos.is_nan() {
        90.0
    } else {
        cos.clamp(-1.0, 1.0).acos().to_degrees()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matmul_matches_definition_with_transposes() {
        let a: Vec<Real> = (0..6).map(|i| i as Real).collect(); // 2×3
        let b: Vec<Real> = (0..12).map(|i| (i as Real) * 0.5).collect(); // 3×4
        let mut c = vec![1.0; 8];
        matmul(
            &mut c,
            View::new(&a, 2, 3),
            View::new(&b, 3, 4),
            1.0,
            2.0,
            Threads(1),
        );
        for i in 0..2 {
            for j in 0..4 {
                let s: Real = (0..3).map(|k| a[i * 3 + k] * b[k * 4 + j]).sum();
                assert!((c[i * 4 + j] - (1.0 + 2.0 * s)).abs() < 1e-5);
            }
        }
        // aᵀ·a is 3×3 and symmetric.
        let mut g = vec![0.0; 9];
        let av = View::new(&a, 2, 3);
        matmul(&mut g, av.t(), av, 0.0, 1.0, Threads(2));
        assert_eq!(g[1], g[3]);
        assert_eq!(g[0], 0.0 * 0.0 + 3.0 * 3.0);
    }

    #[test]
    fn angles() {
        assert!((angle_deg(&[&[1.0, 0.0]], &[&[0.0, 2.0]]) - 90.0).abs() < 1e-9);
        assert!(angle_deg(&[&[1.0, 1.0]], &[&[2.0, 2.0]]).abs() < 1e-3);
        assert_eq!(angle_deg(&[&[0.0, 0.0]], &[&[1.0, 2.0]]), 90.0);
    }
}
