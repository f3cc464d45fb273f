//! Private Poisson background: one excitatory and one inhibitory Poisson source per neuron and
//! compartment, as in [P21] Fig 3 and the XOR (spec/synapses.md §6), generated in place.
//!
//! A private source reaches only its own neuron through a one-to-one connection with weight w,
//! so its only effect is a conductance jump w at Poisson times. The drive adds those jumps
//! directly in the delivery phase instead of routing 500-Hz spike trains through spike rings
//! and one-to-one tables. The 0.8-ms axonal delay of the explicit form only shifts a
//! stationary Poisson train that is independent of the network, so the statistics are the
//! same. (An explicit `poisson` population with a `one_to_one` projection is still available.)

use crate::engine::rng::Rng;
use crate::neurons::{Compartment, Receptor};
use crate::Real;
use rand::Rng as _;
use rand_distr::Exp1;

/// The largest gap drawn, in trials: 2⁶², "never" at any rate and duration (at 10⁶ trials per
/// step, 4.6·10¹² steps, 4.6·10⁸ s at dt = 0.1 ms).
const MAX_GAP: f64 = (1u64 << 62) as f64;

/// Gaps between successes of Bernoulli(p) trials: ⌊E/λ⌋ with E ~ Exp(1) (ziggurat, no
/// logarithm) and λ = −ln(1 − p), which is exactly Geometric(p). Used to skip from one spike to
/// the next over the trials "neuron i at step n", so the cost is proportional to spikes.
#[derive(Clone, Copy, Debug)]
pub struct GeometricGaps {
    p: f64,
    inv_lambda: f64,
}

impl GeometricGaps {
    /// Gaps for success probability `p` ∈ [0, 1].
    pub fn new(p: f64) -> Self {
        let ln_q = (1.0 - p).ln();
        GeometricGaps {
            p,
            // 1 − p rounds to 1 for p below 2⁻⁵³: the gaps are then endless (1/λ = ∞, capped
            // at `MAX_GAP`), not the −∞ of −1/ln 1, which would make them all 0.
            inv_lambda: if ln_q < 0.0 {
                -1.0 / ln_q
            } else {
                f64::INFINITY
            },
        }
    }

    /// The success probability.
    pub fn p(&self) -> f64 {
        self.p
    }

    /// Number of failures before the next success.
    #[inline]
    pub fn gap(&self, rng: &mut Rng) -> usize {
        if self.p >= 1.0 {
            return 0;
        }
        let e: f64 = rng.sample(Exp1);
        // E/λ ≥ 0, so truncation is the floor. `max` then `min` (not `clamp`, which keeps NaN)
        // map NaN (0·∞) to 0 and cap at `MAX_GAP`.
        #[allow(clippy::manual_clamp)]
        let gap = (e * self.inv_lambda).max(0.0).min(MAX_GAP);
        // SAFETY: `gap` is in [0, 2⁶²], where the truncated value fits an i64. This is the hit
        // loop of every private drive, and a checked conversion costs it six more
        // instructions per hit (of about forty).
        unsafe { gap.to_int_unchecked::<i64>() as usize }
    }

    /// Walks the successes among `len` trials of one step, starting at position `*next`
    /// (`None` before the first step), and leaves `*next` at the position in the next step.
    #[inline]
    pub fn step(
        &self,
        len: usize,
        next: &mut Option<usize>,
        rng: &mut Rng,
        mut hit: impl FnMut(usize),
    ) {
        if self.p <= 0.0 || len == 0 {
            return;
        }
        // Draw from a local copy of the stream: `hit` writes through a pointer the compiler
        // cannot tell apart from `rng`, so it would store and reload the generator state around
        // every hit, which chains each draw to the previous hit's write. The same numbers are
        // drawn in the same order.
        let mut local = rng.clone();
        let mut i = match *next {
            Some(i) => i,
            None => self.gap(&mut local),
        };
        while i < len {
            hit(i);
            i += 1 + self.gap(&mut local);
        }
        *rng = local;
        *next = Some(i - len);
    }
}

/// A private Poisson drive of one population.
#[derive(Clone, Debug)]
pub struct PoissonDrive {
    pub population: usize,
    pub compartment: Compartment,
    pub receptor: Receptor,
    /// Rate of each neuron's private source, Hz.
    pub rate: f64,
    /// Conductance jump per source spike, in units of the compartment's leak conductance.
    pub weight: f64,
}

/// The drive of one chunk: its random stream and position.
#[derive(Debug)]
pub struct DriveState {
    pub compartment: Compartment,
    pub receptor: Receptor,
    weight: Real,
    gaps: GeometricGaps,
    next: Option<usize>,
    rng: Rng,
}

impl DriveState {
    /// The state for one chunk with time step `dt` (s) and its own stream `rng`.
    pub fn new(drive: &PoissonDrive, dt: f64, rng: Rng) -> Self {
        DriveState {
            compartment: drive.compartment,
            receptor: drive.receptor,
            weight: drive.weight as Real,
            gaps: GeometricGaps::new((drive.rate * dt).min(1.0)),
            next: None,
            rng,
        }
    }

    /// Adds this step's source spikes to the conductance column `g` of the chunk.
    #[inline]
    pub fn deliver(&mut self, g: &mut [Real]) {
        let w = self.weight;
        self.gaps
            .step(g.len(), &mut self.next, &mut self.rng, |i| g[i] += w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{stream, Purpose};

    #[test]
    fn drive_adds_weight_at_the_poisson_rate() {
        let drive = PoissonDrive {
            population: 0,
            compartment: Compartment::Soma,
            receptor: Receptor::Excitatory,
            rate: 500.0,
            weight: 0.5,
        };
        let mut state = DriveState::new(&drive, 1e-4, stream(1, Purpose::Dynamics, &[9]));
        let mut g = vec![0.0 as Real; 1000];
        for _ in 0..10_000 {
            state.deliver(&mut g);
        }
        // 1 s at 500 Hz for 1000 neurons, 0.5 per spike: mean 250 per neuron, SD ≈ 11.
        let mean = g.iter().map(|&x| x as f64).sum::<f64>() / 1000.0;
        assert!((mean - 250.0).abs() < 2.0, "mean {mean}");
        let var = g.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / 999.0;
        // Poisson counts: variance of 0.5·count is 0.25·500 = 125.
        assert!((var - 125.0).abs() < 20.0, "variance {var}");
    }
}
