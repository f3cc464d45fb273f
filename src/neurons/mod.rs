//! Neuron models. Each model is one file with Params (read from TOML, SI, validated), Derived
//! constants, and a chunk of struct-of-arrays state that implements [`NeuronChunk`].
//!
//! A population's neurons are split into chunks of [`CHUNK`] neurons. The chunk size never
//! depends on the thread count, and each chunk owns its random stream, so the spikes of a run
//! are the same for any number of threads.

use crate::config::units::ParamTable;
use crate::engine::rng::Rng;
use crate::error::Result;
use crate::Real;

pub mod adex;
pub mod burst_poisson;
pub mod columns;
pub mod lif;
pub mod poisson;
pub mod pyramidal;
pub mod spike_generator;

/// Neurons per chunk: the unit of parallel work and of random streams.
pub const CHUNK: usize = 1024;

/// Where a synapse or an injected current acts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Compartment {
    Soma,
    Dendrite,
}

impl Compartment {
    /// The name used in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            Compartment::Soma => "soma",
            Compartment::Dendrite => "dendrite",
        }
    }
}

/// Synaptic receptor: excitatory (AMPA, E = 0 mV) or inhibitory (GABA, E = −80 mV).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Receptor {
    Excitatory,
    Inhibitory,
}

/// One fixed-size chunk of a population's neurons: state columns, synaptic input columns and
/// the per-step update. Implemented once per model; dispatch happens once per chunk per phase.
pub trait NeuronChunk: Send + Sync {
    /// Number of neurons in this chunk (≤ [`CHUNK`]).
    fn len(&self) -> usize;

    /// Whether the chunk is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Neuron phase of one step: integrate the state by dt in the model's exact order, then push
    /// the chunk-local indices of the neurons that spiked, in ascending order.
    fn update(&mut self, rng: &mut Rng, spikes: &mut Vec<u32>);

    /// The conductance column (dimensionless, in units of the compartment's leak conductance)
    /// that projections onto (compartment, receptor) add to; `None` if the model has no such
    /// synapse (the default, for spike sources).
    fn conductance_mut(
        &mut self,
        compartment: Compartment,
        receptor: Receptor,
    ) -> Option<&mut [Real]> {
        let _ = (compartment, receptor);
        None
    }

    /// The membrane-potential column of `compartment` (V) and dt/C (V per A), so a current
    /// injector can add dt·I/C in the device phase (spec/neurons.md §6); `None` if absent (the
    /// default, for spike sources).
    fn injection_mut(&mut self, compartment: Compartment) -> Option<(&mut [Real], Real)> {
        let _ = compartment;
        None
    }

    /// Names of the recordable state variables, in the order of [`NeuronChunk::state`] (none by
    /// default).
    fn state_names(&self) -> &'static [&'static str] {
        &[]
    }

    /// The stored column of state variable `index` (SI units; see the model's doc); empty for
    /// a variable the model derives on demand (read those with [`NeuronChunk::sample`]).
    fn state(&self, index: usize) -> &[Real] {
        let _ = index;
        &[]
    }

    /// State variable `index` of chunk-local neuron `i`: what recorders read.
    fn sample(&self, index: usize, i: usize) -> Real {
        self.state(index)[i]
    }
}

/// A neuron model: how to read its parameters and build chunks of it.
pub trait NeuronModel: Send + Sync + std::fmt::Debug {
    /// Builds a chunk of `len` neurons with initial state drawn from `init_rng`.
    fn build_chunk(&self, len: usize, init_rng: &mut Rng) -> Box<dyn NeuronChunk>;

    /// Builds the chunk holding neurons `[first, first + len)`; models whose neurons differ by
    /// index (prescribed spike trains) override it.
    fn build_chunk_at(&self, first: usize, len: usize, init_rng: &mut Rng) -> Box<dyn NeuronChunk> {
        let _ = first;
        self.build_chunk(len, init_rng)
    }

    /// Names of the recordable state variables (the same for every chunk).
    fn state_names(&self) -> &'static [&'static str] {
        let mut rng = crate::engine::rng::stream(0, crate::engine::rng::Purpose::Init, &[]);
        self.build_chunk(1, &mut rng).state_names()
    }

    /// The compartments this model has.
    fn compartments(&self) -> &'static [Compartment];

    /// Whether the model is a spike source without membrane (Poisson); such populations take no synapses.
    fn is_source(&self) -> bool {
        false
    }

    /// Approximate bytes of state per neuron, for `burstccn info`.
    fn bytes_per_neuron(&self) -> usize;
}

/// A model kind: its name in configuration files and how to read its parameters.
pub struct ModelKind {
    /// The `model = "..."` name.
    pub name: &'static str,
    /// One-line description for `burstccn models`.
    pub description: &'static str,
    /// Reads the parameters from a table (preset merged with overrides), validates them, and
    /// precomputes the derived constants for time step `dt` (s).
    pub read: fn(&ParamTable, f64) -> Result<Box<dyn NeuronModel>>,
}

/// Every neuron model, listed once; configuration parsing and `burstccn models` read this list.
pub const MODELS: &[ModelKind] = &[
    poisson::KIND,
    pyramidal::KIND,
    burst_poisson::KIND,
    adex::KIND,
    lif::KIND,
    spike_generator::KIND,
];

/// Looks up a model kind by name.
pub fn model_kind(name: &str) -> Option<&'static ModelKind> {
    MODELS.iter().find(|m| m.name == name)
}

/// e^(−dt/τ) as used for exact exponential decay.
pub fn decay(dt: f64, tau: f64) -> Real {
    (-dt / tau).exp() as Real
}
