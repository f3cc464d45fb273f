//! Recorders: spikes (SONATA HDF5), binned rates, state traces, run summary.

pub mod h5;
pub mod rates;
pub mod recorder;
pub mod sonata;
pub mod summary;

pub use recorder::Recorder;
