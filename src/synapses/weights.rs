//! Initial synaptic weights: one value for the whole projection, or one draw per synapse from a
//! distribution (NEST's `nest.random.uniform/normal/lognormal` parameters, Brian2's
//! `S.w = '...rand()...'`), so that neurons with the same inputs start different.
//!
//! Each target chunk draws its weights from its own stream (seed, projection name, chunk) in
//! table order, so weights depend neither on the thread count nor on the other projections.

use super::connectivity::ChunkCsr;
use crate::engine::rng::{name_id, stream, Purpose, Rng};
use crate::Real;
use rand_distr::{Distribution, LogNormal, Normal, Uniform};
use std::fmt;

/// The initial weight of a projection's synapses, in units of the target compartment's leak
/// conductance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Weight {
    /// Every synapse has this weight.
    Fixed(f64),
    /// Uniform on [min, max].
    Uniform { min: f64, max: f64 },
    /// Normal with this mean and standard deviation; negative draws become 0 (Brian2's
    /// `clip(..., 0, inf)` idiom), so a synapse never changes sign.
    Normal { mean: f64, sd: f64 },
    /// Lognormal with this mean and standard deviation of the weight itself (not of its
    /// logarithm, as NEST's `lognormal(mean, std)` takes them).
    LogNormal { mean: f64, sd: f64 },
}

impl Weight {
    /// The weight of every synapse, if they are all equal.
    pub fn fixed(self) -> Option<f64> {
        match self {
            Weight::Fixed(w) => Some(w),
            _ => None,
        }
    }

    /// The weights of one target chunk's `table`, in table order, drawn from the stream of
    /// (`seed`, projection `name`, `chunk`).
    pub fn chunk(self, seed: u64, name: &str, chunk: usize, table: &ChunkCsr) -> Vec<Real> {
        let n = table.len();
        let mut rng = stream(seed, Purpose::Weights, &[name_id(name), chunk as u64]);
        let mut draw = |d: &dyn Fn(&mut Rng) -> f64| (0..n).map(|_| d(&mut rng) as Real).collect();
        // The parameters were validated when the experiment was read (crate::config).
        match self {
            Weight::Fixed(w) => vec![w as Real; n],
            Weight::Uniform { min, max } => {
                let d = Uniform::new_inclusive(min, max).expect("min ≤ max");
                draw(&|r| d.sample(r))
            }
            Weight::Normal { mean, sd } => {
                let d = Normal::new(mean, sd).expect("sd ≥ 0");
                draw(&|r| d.sample(r).max(0.0))
            }
            Weight::LogNormal { mean, sd } => {
                let s2 = (1.0 + (sd / mean).powi(2)).ln();
                let d = LogNormal::new(mean.ln() - 0.5 * s2, s2.sqrt()).expect("mean > 0");
                draw(&|r| d.sample(r))
            }
        }
    }
}

impl fmt::Display for Weight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Weight::Fixed(w) => write!(f, "{w}"),
            Weight::Uniform { min, max } => write!(f, "uniform({min}, {max})"),
            Weight::Normal { mean, sd } => write!(f, "normal({mean}, sd {sd}, ≥ 0)"),
            Weight::LogNormal { mean, sd } => write!(f, "lognormal({mean}, sd {sd})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synapses::connectivity::{draw_chunk, Rule};

    fn table(n_pre: usize, len: usize) -> ChunkCsr {
        let mut rng = stream(7, Purpose::Connectivity, &[0]);
        draw_chunk(Rule::AllToAll, n_pre, 0, len, false, &mut rng)
    }

    fn moments(w: &[Real]) -> (f64, f64) {
        let n = w.len() as f64;
        let m = w.iter().map(|&x| x as f64).sum::<f64>() / n;
        let v = w.iter().map(|&x| (x as f64 - m).powi(2)).sum::<f64>() / (n - 1.0);
        (m, v.sqrt())
    }

    #[test]
    fn draws_have_the_asked_moments_and_bounds() {
        let t = table(100, 200);
        let u = Weight::Uniform { min: 0.1, max: 0.5 }.chunk(1, "p", 0, &t);
        assert!(u.iter().all(|&w| (0.1..=0.5).contains(&w)));
        let (m, s) = moments(&u);
        assert!((m - 0.3).abs() < 0.005, "uniform mean {m}");
        assert!((s - 0.4 / 12f64.sqrt()).abs() < 0.003, "uniform sd {s}");
        let l = Weight::LogNormal { mean: 0.2, sd: 0.1 }.chunk(1, "p", 0, &t);
        assert!(l.iter().all(|&w| w > 0.0));
        let (m, s) = moments(&l);
        assert!(
            (m - 0.2).abs() < 0.004 && (s - 0.1).abs() < 0.006,
            "{m} {s}"
        );
        // Half of a zero-mean normal is clipped to 0; the rest is the positive half.
        let z = Weight::Normal { mean: 0.0, sd: 1.0 }.chunk(1, "p", 0, &t);
        let zeros = z.iter().filter(|&&w| w == 0.0).count() as f64 / z.len() as f64;
        assert!((zeros - 0.5).abs() < 0.02, "clipped fraction {zeros}");
        assert!(z.iter().all(|&w| w >= 0.0));
        let (m, s) = moments(&Weight::Normal { mean: 1.0, sd: 0.1 }.chunk(1, "p", 0, &t));
        assert!(
            (m - 1.0).abs() < 0.003 && (s - 0.1).abs() < 0.003,
            "{m} {s}"
        );
    }

    #[test]
    fn streams_follow_seed_name_and_chunk() {
        let t = table(20, 50);
        let w = Weight::Uniform { min: 0.0, max: 1.0 };
        let a = w.chunk(1, "a", 0, &t);
        assert_eq!(a, w.chunk(1, "a", 0, &t));
        for other in [
            w.chunk(2, "a", 0, &t),
            w.chunk(1, "b", 0, &t),
            w.chunk(1, "a", 1, &t),
        ] {
            assert_ne!(a, other);
        }
        assert_eq!(
            Weight::Fixed(0.25).chunk(1, "a", 0, &t),
            vec![0.25; t.len()]
        );
    }
}
