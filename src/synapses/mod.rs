//! Synapses: projections (CSR tables split by target chunk), connectivity rules,
//! initial weights, short-term plasticity and idealised event/burst transmission.

pub mod connectivity;
pub mod detector;
pub mod powers;
pub mod projection;
pub mod stp;
pub mod weights;

pub use projection::{Projection, Transmission};
pub use weights::Weight;
