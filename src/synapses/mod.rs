//! Synapses: projections (CSR tables split by target chunk), connectivity rules,
//! short-term plasticity and idealised event/burst transmission.

pub mod connectivity;
pub mod detector;
pub mod powers;
pub mod projection;
pub mod stp;

pub use projection::{Projection, Transmission};
