//! Synapses and projections.
