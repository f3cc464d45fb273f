//! Recorders: spikes (SONATA HDF5), binned rates, state traces, run summary.
