//! burstccn: a simulator of cortical spiking networks that learn with bursts.
//!
//! The principal types:
//! - [`engine::Network`] owns every part of a simulation and advances it one step at a time
//!   in the order of spec/neurons.md §1 (neurons, delivery, devices, traces, clock).
//! - [`engine::Population`] is a group of neurons of one model, stored as struct-of-arrays
//!   columns split into fixed-size chunks ([`neurons::CHUNK`]) that are updated in parallel.
//! - [`synapses::Projection`] connects two populations through a CSR table split by target
//!   chunk, with an axonal delay and optional short-term plasticity.
//! - [`recording`] streams spikes (SONATA HDF5), binned event/burst rates and state traces.
//! - [`config`] turns an experiment TOML file into a validated specification.
//!
//! Inside the simulator all values are SI (V, s, A, F, S); synaptic weights are
//! dimensionless, in units of the target compartment's leak conductance (spec/synapses.md §1.2).
//!
//! Also here: [`plasticity`] (burst-dependent learning rules), [`rate`] (the rate-based BurstCCN
//! trained on MNIST), [`analysis`] (readouts and figures) and [`plot`] (PNG charts).

// Doc comments cite sources in the spec's tag style, [P21 Fig 3] or [G22]: citations, not links.
#![allow(rustdoc::broken_intra_doc_links)]

pub mod analysis;
pub mod config;
pub mod engine;
pub mod error;
pub mod experiment;
pub mod inputs;
pub mod neurons;
pub mod plasticity;
pub mod plot;
pub mod rate;
pub mod recording;
pub mod synapses;

pub use error::{Error, Result};

/// The floating-point type of neuron state, conductances and weights (Auryn keeps f32 too).
pub type Real = f32;
