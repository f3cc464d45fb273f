//! Integer powers of one decay factor, for the traces and states that are advanced lazily over
//! the steps since their last update (burst detectors, short-term plasticity).

/// The powers b^k of one base b, computed as `f64::powi` computes them, without its call and its
/// unpredictable branch per bit of k.
///
/// `powi` (compiler-builtins' `__powidf2`) forms the repeated squares b^(2^j) and multiplies,
/// starting from 1 and in ascending order of the set bits j of k, those of the set bits. Here
/// the squares are formed once, in the same way, and only the set bits are visited, so every
/// product and rounding is the same and results stay bit-identical (`tests::matches_powi`).
#[derive(Clone, Debug)]
pub struct Powers {
    /// b^(2^j) for j = 0..32, each the square of the one before.
    squares: [f64; 32],
}

impl Powers {
    /// The powers of `base`.
    pub fn new(base: f64) -> Self {
        let mut squares = [base; 32];
        for j in 1..squares.len() {
            squares[j] = squares[j - 1] * squares[j - 1];
        }
        Powers { squares }
    }

    /// b^k with k = min(`steps`, i32::MAX), the largest exponent `powi` takes.
    #[inline]
    pub fn pow(&self, steps: u64) -> f64 {
        let mut k = steps.min(i32::MAX as u64) as u32;
        let mut p = 1.0;
        while k != 0 {
            p *= self.squares[k.trailing_zeros() as usize];
            k &= k - 1;
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_powi() {
        for base in [(-1e-4f64 / 0.016).exp(), 1.0 - 1e-4 / 0.02, 0.5, 1.0, 0.0] {
            let powers = Powers::new(base);
            let exponents = (0..20_000u64).chain((0..31).map(|j| 1 << j)).chain([
                (1 << 31) - 1,
                1 << 31,
                u64::MAX,
            ]);
            for k in exponents {
                let expected = base.powi(k.min(i32::MAX as u64) as i32);
                assert_eq!(powers.pow(k).to_bits(), expected.to_bits(), "{base}^{k}");
            }
        }
    }
}
