//! Helpers shared by the neuron models: a vectorisable f32 exponential and sigmoid, column
//! operations built for AVX2 where the CPU has it (also used by the plastic traces and the
//! current injectors), Gaussian initial conditions, and the parameter checks every model
//! repeats (durations in whole steps, initial membrane potential).

use crate::config::units::{require_non_negative, Dim, ParamTable};
use crate::engine::rng::Rng;
use crate::error::Result;
use crate::Real;
use rand::Rng as _;
use std::ops::{AddAssign, MulAssign};

/// ln 2 split in two for the range reduction (Cody–Waite): `LN2_HI` has 9 significant bits, so
/// n·`LN2_HI` is exact in f32 for every |n| ≤ 128 and the reduced argument loses no precision.
const LN2_HI: f32 = f32::from_bits(0x3F31_8000); // 355/512 = 0.693359375
const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5·2²³: adding it rounds a float in (−2²², 2²²) to the nearest integer, which is then
/// readable from the low mantissa bits; unlike `round`, this vectorises on every x86-64.
const SHIFTER: f32 = 12_582_912.0;

/// e^x in f32, written so that loops over slices vectorise (no branches, no calls).
///
/// x is clamped to [−87, 88], where e^x is a normal f32 (so e^x saturates at about 1.6e38 and
/// never overflows to infinity). Then x = n·ln2 + r with n = round(x/ln2) and |r| ≤ 0.35,
/// e^r is the degree-7 Taylor polynomial (truncation error < 6e-9 on that interval) and 2ⁿ
/// is built in the exponent bits. The relative error against the exact exponential is below
/// 2e-7 (≈ 1.7 ulp) over the clamp range; `tests::exp_matches_std` checks this on a sweep.
#[inline(always)]
pub fn exp(x: Real) -> Real {
    let x = x.clamp(-87.0, 88.0);
    let t = x * std::f32::consts::LOG2_E + SHIFTER;
    let n = t - SHIFTER;
    let n_int = t.to_bits() as i32 - SHIFTER.to_bits() as i32;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let q =
        1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0))));
    let p = 1.0 + (r + r * r * (0.5 + r * q));
    p * f32::from_bits(((n_int + 127) as u32) << 23)
}

/// The dendritic sigmoid f(V) = 1 / (1 + exp(−(V − centre)/width)), dimensionless.
///
/// `neg_inv_width` is −1/width (1/V). The operations follow Auryn's `AurynVector::sigmoid`
/// (difference, scale, exp, add one, invert) [AUR AurynVector.h].
#[inline(always)]
pub fn sigmoid(v: Real, centre: Real, neg_inv_width: Real) -> Real {
    1.0 / (exp((v - centre) * neg_inv_width) + 1.0)
}

/// Whether the CPU has 256-bit vectors (AVX2); the answer is cached by the standard library.
///
/// Each model compiles its update loops twice, once for the baseline and once with
/// `#[target_feature(enable = "avx2")]`, and picks one per call with this test, so the same
/// binary processes 8 neurons per instruction where it can. No fused multiply-add is enabled
/// and Rust never reassociates floating-point operations, so both paths give bit-identical results.
#[inline(always)]
pub fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Implements `update` of [`super::NeuronChunk`] for chunk type `$chunk` by calling its
/// `#[inline(always)]` method `$body(&mut self, rng, spikes)`,
/// compiled with AVX2 when the CPU has it (see [`has_avx2`]).
macro_rules! update_with_avx2 {
    ($chunk:ty, $body:ident) => {
        fn update(&mut self, rng: &mut Rng, spikes: &mut Vec<u32>) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                unsafe fn avx2(chunk: &mut $chunk, rng: &mut Rng, spikes: &mut Vec<u32>) {
                    chunk.$body(rng, spikes)
                }
                if super::columns::has_avx2() {
                    // SAFETY: the CPU supports AVX2, checked just above.
                    unsafe { avx2(self, rng, spikes) };
                    return;
                }
            }
            self.$body(rng, spikes)
        }
    };
}
pub(crate) use update_with_avx2;

/// Runs the `#[inline(always)]` column loop `body(xs, x)`, compiled with AVX2 when the CPU has it
/// (see [`has_avx2`]): element-wise, so both builds give the same bits.
#[inline(always)]
fn with_avx2<T: Copy, F: Fn(&mut [T], T)>(xs: &mut [T], x: T, body: F) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        unsafe fn avx2<T: Copy, F: Fn(&mut [T], T)>(xs: &mut [T], x: T, body: F) {
            body(xs, x)
        }
        if has_avx2() {
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe { avx2(xs, x, body) };
            return;
        }
    }
    body(xs, x)
}

/// x ← x·`factor` for every element of `xs`: one step of an exponential decay.
pub fn scale<T: Copy + MulAssign>(xs: &mut [T], factor: T) {
    #[inline(always)]
    fn body<T: Copy + MulAssign>(xs: &mut [T], factor: T) {
        xs.iter_mut().for_each(|x| *x *= factor);
    }
    with_avx2(xs, factor, body)
}

/// x ← x + `dx` for every element of `xs`.
pub fn shift<T: Copy + AddAssign>(xs: &mut [T], dx: T) {
    #[inline(always)]
    fn body<T: Copy + AddAssign>(xs: &mut [T], dx: T) {
        xs.iter_mut().for_each(|x| *x += dx);
    }
    with_avx2(xs, dx, body)
}

/// A standard normal deviate (Box–Muller; one of the pair is used, which keeps the stream
/// position independent of parity).
pub fn standard_normal(rng: &mut Rng) -> f64 {
    // 1 − U lies in (0, 1], so the logarithm is finite.
    let u1 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// How the membrane potential of a new neuron is set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum VInit {
    /// At the resting potential.
    Rest,
    /// Drawn i.i.d. from N(rest, sd²); sd in V.
    Random { sd: f64 },
}

impl VInit {
    /// Reads `v_init` ("rest" | "random") and `v_init_sd` (V, default 5 mV, ≥ 0).
    /// [AUR NaudGroup.cpp `random_mem`; SBP `initialize_pyr_neurons`]
    pub fn read(t: &ParamTable, default: &str) -> Result<VInit> {
        let mode = t.choice("v_init", &["rest", "random"], Some(default))?;
        let sd = t.quantity("v_init_sd", Dim::Voltage, Some(5e-3))?;
        require_non_negative(t, "v_init_sd", sd, false)?;
        Ok(if mode == "rest" {
            VInit::Rest
        } else {
            VInit::Random { sd }
        })
    }

    /// A column of `len` initial potentials around `rest` (V).
    pub fn column(self, len: usize, rest: f64, rng: &mut Rng) -> Vec<Real> {
        match self {
            VInit::Rest => vec![rest as Real; len],
            VInit::Random { sd } => (0..len)
                .map(|_| (rest + sd * standard_normal(rng)) as Real)
                .collect(),
        }
    }
}

/// Checks that `value` (SI) is > 0, naming `key` otherwise.
pub fn positive(t: &ParamTable, key: &str, value: f64) -> Result<()> {
    require_non_negative(t, key, value, true)
}

/// Checks that the duration `value` (s) is ≥ 0 and a whole number of time steps `dt`, naming
/// `key` otherwise; returns the number of steps.
pub fn whole_steps(t: &ParamTable, key: &str, value: f64, dt: f64) -> Result<u32> {
    require_non_negative(t, key, value, false)?;
    let steps = value / dt;
    let whole = steps.round();
    if (steps - whole).abs() > 1e-6 * whole.max(1.0) || whole > u32::MAX as f64 {
        return Err(t.error(
            key,
            format!(
                "{} ms is not a whole number of time steps (dt = {} ms)",
                value * 1e3,
                dt * 1e3
            ),
        ));
    }
    Ok(whole as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{stream, Purpose};

    #[test]
    fn exp_matches_std() {
        // Sweep the whole clamp range finely, plus the sigmoid's working range very finely.
        let mut worst: f64 = 0.0;
        let mut check = |x: f32| {
            let exact = (x as f64).exp();
            let rel = ((exp(x) as f64 - exact) / exact).abs();
            worst = worst.max(rel);
        };
        for i in 0..=2_000_000 {
            check(-87.0 + 175.0 * i as f32 / 2_000_000.0);
        }
        for i in 0..=1_000_000 {
            check(-20.0 + 30.0 * i as f32 / 1_000_000.0);
        }
        assert!(worst < 2e-7, "max relative error {worst:e}");
    }

    #[test]
    fn exp_saturates_and_sigmoid_is_bounded() {
        assert!(exp(1000.0).is_finite() && exp(-1000.0) > 0.0);
        assert_eq!(exp(0.0), 1.0);
        let f = |v: f32| sigmoid(v, -0.038, -1.0 / 0.006);
        assert!((f(-0.038) - 0.5).abs() < 1e-7);
        assert!(f(-1.0) >= 0.0 && f(-1.0) < 1e-30 && f(1.0) == 1.0);
    }

    #[test]
    fn normal_deviates_have_unit_variance() {
        let mut rng = stream(3, Purpose::Init, &[0]);
        let xs: Vec<f64> = (0..100_000).map(|_| standard_normal(&mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!(
            mean.abs() < 0.01 && (var - 1.0).abs() < 0.02,
            "{mean} {var}"
        );
    }
}
