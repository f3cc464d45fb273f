//! Inputs: current injectors and private Poisson drives.

pub mod current;
pub mod poisson_drive;
