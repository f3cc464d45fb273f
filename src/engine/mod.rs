//! The simulation engine: network, spike rings, random streams.

pub mod network;
pub mod rng;
pub mod runner;
pub mod spike_ring;

pub use network::{Network, NetworkSpec, Population, PopulationSpec};
