//! Recorders: spikes (SONATA HDF5), binned rates, state traces, run summary.

pub mod h5;
pub mod sonata;
