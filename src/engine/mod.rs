//! The simulation engine: network, spike rings, random streams.

pub mod rng;
