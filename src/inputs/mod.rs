//! Current and stimulus inputs.

pub mod current;
