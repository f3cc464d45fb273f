//! Configuration: raw TOML → validated specification (SI units, names resolved) → built network.

pub mod experiment;
pub mod overrides;
pub mod presets;
pub mod units;

pub use experiment::{load, Experiment};
