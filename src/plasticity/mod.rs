//! Long-term plasticity of spiking synapses: the burst-dependent rule of Payeur et al. 2021 with
//! a moving-average baseline (Burstprop) or a constant one (BurstCCN, Greedy et al. 2022), and
//! the single-synapse protocols that draw its reference curves.

pub mod burst_rule;
pub mod protocols;

pub use burst_rule::{
    Baseline, BurstRule, PlasticChunk, PlasticProjection, PostTraces, PreTraces, RuleSums, Transmit,
};
