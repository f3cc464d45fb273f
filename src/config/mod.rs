//! Configuration: raw TOML → validated specification (SI units, names resolved) → built network.

pub mod units;
