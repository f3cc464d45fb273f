//! Spike generator: neurons that fire at prescribed times (Brian2's `SpikeGeneratorGroup`,
//! NEST's `spike_generator`), for protocols with exact spike trains and for tests.
//!
//! | parameter | unit | default | meaning |
//! |---|---|---|---|
//! | `times` | ms (list) | required | spike times, each rounded to the step that contains it |
//! | `neurons` | index (list) | required | the neuron of each time, same length |
//!
//! A neuron fires at most once per step; two times of one neuron in the same step are an
//! error. Receives nothing (a spike source).

use super::{Compartment, ModelKind, NeuronChunk, NeuronModel};
use crate::config::units::{Dim, ParamTable};
use crate::engine::rng::Rng;
use crate::error::Result;

/// Registry entry.
pub const KIND: ModelKind = ModelKind {
    name: "spike_generator",
    description: "neurons firing at prescribed times",
    read,
};

/// The prescribed spikes as (step, neuron), sorted.
#[derive(Clone, Debug)]
pub struct SpikeGenerator {
    spikes: Vec<(u64, u32)>,
}

fn read(t: &ParamTable, dt: f64) -> Result<Box<dyn NeuronModel>> {
    let list = |key: &str| {
        t.get(key)
            .and_then(|v| v.as_array())
            .ok_or_else(|| t.error(key, "is missing; expected a list"))
    };
    let times = list("times")?
        .iter()
        .map(|v| t.value_quantity("times", v, Dim::Time))
        .collect::<Result<Vec<f64>>>()?;
    let neurons = list("neurons")?
        .iter()
        .map(|v| match v.as_integer() {
            Some(i) if i >= 0 && i <= u32::MAX as i64 => Ok(i as u32),
            _ => Err(t.error("neurons", format!("{v} is not a neuron index"))),
        })
        .collect::<Result<Vec<u32>>>()?;
    if times.len() != neurons.len() {
        return Err(t.error("neurons", "needs one neuron per entry of `times`"));
    }
    let mut spikes = Vec::with_capacity(times.len());
    for &time in &times {
        if time < 0.0 {
            return Err(t.error("times", format!("{time} s is before the start of the run")));
        }
    }
    for (&time, &i) in times.iter().zip(&neurons) {
        spikes.push(((time / dt).round() as u64, i));
    }
    spikes.sort_unstable();
    if let Some(w) = spikes.windows(2).find(|w| w[0] == w[1]) {
        return Err(t.error(
            "times",
            format!(
                "neuron {} fires twice in step {}; at most one spike per step",
                w[0].1, w[0].0
            ),
        ));
    }
    Ok(Box::new(SpikeGenerator { spikes }))
}

impl NeuronModel for SpikeGenerator {
    fn build_chunk(&self, len: usize, init_rng: &mut Rng) -> Box<dyn NeuronChunk> {
        self.build_chunk_at(0, len, init_rng)
    }

    fn build_chunk_at(
        &self,
        first: usize,
        len: usize,
        _init_rng: &mut Rng,
    ) -> Box<dyn NeuronChunk> {
        let range = first as u32..(first + len) as u32;
        Box::new(GeneratorChunk {
            len,
            spikes: self
                .spikes
                .iter()
                .filter(|s| range.contains(&s.1))
                .map(|&(step, i)| (step, i - range.start))
                .collect(),
            next: 0,
            step: 0,
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

/// The spikes of one chunk, as (step, chunk-local neuron), and the position in them.
pub struct GeneratorChunk {
    len: usize,
    spikes: Vec<(u64, u32)>,
    next: usize,
    step: u64,
}

impl NeuronChunk for GeneratorChunk {
    fn len(&self) -> usize {
        self.len
    }

    fn update(&mut self, _rng: &mut Rng, spikes: &mut Vec<u32>) {
        // Sorted by (step, neuron), so this step's spikes come out in ascending id order.
        while let Some(&(step, i)) = self.spikes.get(self.next) {
            if step > self.step {
                break;
            }
            spikes.push(i);
            self.next += 1;
        }
        self.step += 1;
    }
}
