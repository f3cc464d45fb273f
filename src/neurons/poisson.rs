//! Poisson spike sources (spec/synapses.md §6).
//!
//! N independent Poisson trains at rate r with at most one spike per neuron per step: each
//! neuron spikes in a step with probability p = r·dt. The chunk is treated as one sequence of
//! len × steps Bernoulli(p) trials and the gap to the next spike is drawn from the geometric
//! distribution, as Auryn's `PoissonGroup` does, so the cost is proportional to the number of
//! spikes, not to neurons × steps ([`GeometricGaps`]).
//!
//! | parameter | unit | default | meaning |
//! |---|---|---|---|
//! | `rate` | Hz | required | firing rate of every source |

use super::{Compartment, ModelKind, NeuronChunk, NeuronModel};
use crate::config::units::{require_non_negative, Dim, ParamTable};
use crate::engine::rng::Rng;
use crate::error::Result;
use crate::inputs::poisson_drive::GeometricGaps;

/// Registry entry.
pub const KIND: ModelKind = ModelKind {
    name: "poisson",
    description: "independent Poisson spike sources at a fixed rate",
    read,
};

/// Validated parameters.
#[derive(Clone, Debug)]
pub struct Poisson {
    /// Firing rate, Hz.
    pub rate: f64,
    /// Spike probability per step, r·dt (clamped to 1).
    p: f64,
}

fn read(t: &ParamTable, dt: f64) -> Result<Box<dyn NeuronModel>> {
    let rate = t.quantity("rate", Dim::Frequency, None)?;
    require_non_negative(t, "rate", rate, false)?;
    if rate * dt > 1.0 {
        return Err(t.error(
            "rate",
            format!(
                "{rate} Hz exceeds one spike per step (1/dt = {} Hz)",
                1.0 / dt
            ),
        ));
    }
    Ok(Box::new(Poisson { rate, p: rate * dt }))
}

impl NeuronModel for Poisson {
    fn build_chunk(&self, len: usize, _init_rng: &mut Rng) -> Box<dyn NeuronChunk> {
        Box::new(PoissonChunk {
            len,
            gaps: GeometricGaps::new(self.p),
            next: None,
        })
    }
    fn compartments(&self) -> &'static [Compartment] {
        &[]
    }
    fn is_source(&self) -> bool {
        true
    }
    fn bytes_per_neuron(&self) -> usize {
        0
    }
}

/// A chunk of Poisson sources: only the position of the next spike in the trial sequence.
pub struct PoissonChunk {
    len: usize,
    gaps: GeometricGaps,
    /// Index of the next spiking neuron in the current step's trials; `None` before the first draw.
    next: Option<usize>,
}

impl NeuronChunk for PoissonChunk {
    fn len(&self) -> usize {
        self.len
    }

    fn update(&mut self, rng: &mut Rng, spikes: &mut Vec<u32>) {
        self.gaps
            .step(self.len, &mut self.next, rng, |i| spikes.push(i as u32));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{stream, Purpose};

    #[test]
    fn rate_and_one_spike_per_step() {
        let model = Poisson {
            rate: 500.0,
            p: 0.05,
        };
        let mut rng = stream(7, Purpose::Dynamics, &[0]);
        let mut chunk = model.build_chunk(1000, &mut rng);
        let mut spikes = Vec::new();
        let mut total = 0usize;
        let steps = 10_000; // 1 s at dt = 0.1 ms
        for _ in 0..steps {
            spikes.clear();
            chunk.update(&mut rng, &mut spikes);
            assert!(spikes.windows(2).all(|w| w[0] < w[1]));
            total += spikes.len();
        }
        let rate = total as f64 / 1000.0;
        // 500 Hz × 1000 neurons × 1 s: SD of the count is about √500000 ≈ 700, i.e. 0.7 Hz.
        assert!((rate - 500.0).abs() < 5.0, "rate {rate}");
    }
}
