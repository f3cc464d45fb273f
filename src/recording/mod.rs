//! Recorders: spikes (SONATA HDF5), binned rates, state traces, per-synapse weights (SONATA
//! edges), run summary.

pub mod edges;
pub mod h5;
pub mod rates;
pub mod recorder;
pub mod sonata;
pub mod summary;

pub use recorder::Recorder;
