//! A projection: the synapses from one population onto one (compartment, receptor) of another,
//! stored as one CSR table per target chunk (spec/synapses.md §1–5; STYLE.md §4).
//!
//! Splitting the table by target chunk lets one task own one target chunk during delivery and
//! add projections in a fixed order and spikes in id order, so conductances are summed in the
//! same order for any thread count.

use super::connectivity::{draw_chunk, ChunkCsr, Rule};
use super::weights::Weight;
use crate::engine::rng::{name_id, stream, Purpose};
use crate::neurons::{Compartment, Receptor, CHUNK};
use crate::plasticity::{BurstRule, PlasticProjection};
use crate::Real;
use rayon::prelude::*;

/// What a projection transmits (spec/synapses.md §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transmission {
    /// Every spike, after the axonal delay.
    All,
    /// Only events (first spikes), immediately: idealised depressing synapse / PV relay.
    EventsOnly,
    /// Once per burst, at its second spike, immediately: idealised facilitating synapse / SST relay.
    BurstsOnly,
}

impl Transmission {
    /// Whether this transmission filters by the presynaptic burst detector.
    pub fn filtered(self) -> bool {
        self != Transmission::All
    }
}

/// Everything needed to build a projection.
#[derive(Clone, Debug)]
pub struct ProjectionSpec {
    pub name: String,
    pub pre: usize,
    pub post: usize,
    pub compartment: Compartment,
    pub receptor: Receptor,
    pub rule: Rule,
    /// Initial weight, in units of the target compartment's leak conductance.
    pub weight: Weight,
    /// Axonal delay in steps (0 = immediate delivery).
    pub delay: usize,
    /// Index of the shared short-term-plasticity state, if any (set by the network builder).
    pub stp: Option<usize>,
    pub transmission: Transmission,
    /// Lag of the presynaptic burst detector in steps (filtered transmission and plasticity).
    pub detector_lag: usize,
    /// Burst-dependent plasticity, if any: with `EventsOnly` (immediate) or `All` (delayed, STP
    /// allowed) transmission (see crate::plasticity::burst_rule).
    pub plasticity: Option<BurstRule>,
}

impl ProjectionSpec {
    /// Whether the projection reads a presynaptic burst detector (lag `detector_lag`): filtered
    /// transmission, or plasticity, whose trace Ẽ counts presynaptic events.
    pub fn reads_pre_detector(&self) -> bool {
        self.transmission.filtered() || self.plasticity.is_some()
    }
}

/// A built projection.
#[derive(Debug)]
pub struct Projection {
    pub spec: ProjectionSpec,
    /// One table per target chunk.
    pub tables: Vec<ChunkCsr>,
    /// Per-synapse weights per target chunk, or `None` while all weights equal `fixed`.
    /// Plastic weights live in the target chunks instead (see [`PlasticProjection`]).
    pub weights: Option<Vec<Vec<Real>>>,
    /// The weight of every synapse while `weights` is `None`.
    fixed: Real,
    /// The projection-wide state of a plastic projection.
    pub plastic: Option<PlasticProjection>,
}

impl Projection {
    /// Draws the connectivity and the initial weights: each target chunk from its own streams
    /// (seed, name, chunk).
    pub fn build(spec: ProjectionSpec, n_pre: usize, n_post: usize, seed: u64) -> Self {
        let n_chunks = n_post.div_ceil(CHUNK);
        let same = spec.pre == spec.post;
        let id = name_id(&spec.name);
        let tables = (0..n_chunks)
            .into_par_iter()
            .map(|c| {
                let len = CHUNK.min(n_post - c * CHUNK);
                let mut rng = stream(seed, Purpose::Connectivity, &[id, c as u64]);
                draw_chunk(spec.rule, n_pre, c, len, same, &mut rng)
            })
            .collect::<Vec<_>>();
        // Drawn weights, and a plastic projection's (which the network builder moves into the
        // target chunks), are stored per synapse.
        let per_synapse = spec.weight.fixed().is_none() || spec.plasticity.is_some();
        let weights = per_synapse.then(|| {
            tables
                .par_iter()
                .enumerate()
                .map(|(c, t)| spec.weight.chunk(seed, &spec.name, c, t))
                .collect()
        });
        Projection {
            fixed: spec.weight.fixed().unwrap_or(0.0) as Real,
            spec,
            tables,
            weights,
            plastic: None,
        }
    }

    /// Number of synapses.
    pub fn synapses(&self) -> u64 {
        self.tables.iter().map(|t| t.len() as u64).sum()
    }

    /// Adds the conductance increments of `spikes` (presynaptic ids, ascending) onto target chunk
    /// `chunk`'s column `g`: w·ε per synapse, with ε the STP efficacy of each spike (1 without STP).
    #[inline]
    pub fn deliver(
        &self,
        chunk: usize,
        spikes: &[u32],
        efficacies: Option<&[Real]>,
        g: &mut [Real],
    ) {
        let table = &self.tables[chunk];
        assert_eq!(
            g.len(),
            table.targets(),
            "conductance column of the wrong chunk"
        );
        let w = self.fixed;
        // SAFETY (all `get_unchecked_mut` below): every column of a table is below
        // `table.targets()` (the ChunkCsr invariant), which equals `g.len()` (asserted above).
        // The check is hoisted out of the innermost loop, the hottest of the simulator.
        let add =
            |g: &mut [Real], j: u16, x: Real| unsafe { *g.get_unchecked_mut(j as usize) += x };
        match (&self.weights, efficacies) {
            (None, None) => {
                for &s in spikes {
                    for &j in table.targets_of(s as usize) {
                        add(g, j, w);
                    }
                }
            }
            (None, Some(eff)) => {
                for (&s, &e) in spikes.iter().zip(eff) {
                    let we = w * e;
                    for &j in table.targets_of(s as usize) {
                        add(g, j, we);
                    }
                }
            }
            (Some(weights), eff) => deliver_weighted(table, spikes, eff, &weights[chunk], g),
        }
    }
}

/// Adds W_k·ε per synapse k of `spikes` (presynaptic ids) onto the target chunk's column `g`, with
/// per-synapse `weights` aligned with `table` and ε the STP efficacy of each spike (1 without
/// STP). Used by projections with individual weights, plastic ones included.
#[inline]
pub fn deliver_weighted(
    table: &ChunkCsr,
    spikes: &[u32],
    efficacies: Option<&[Real]>,
    weights: &[Real],
    g: &mut [Real],
) {
    assert_eq!(
        g.len(),
        table.targets(),
        "conductance column of the wrong chunk"
    );
    for (k, &s) in spikes.iter().enumerate() {
        let e = efficacies.map_or(1.0, |e| e[k]);
        let row = table.row(s as usize);
        for (&j, &wj) in table.targets_of(s as usize).iter().zip(&weights[row]) {
            // SAFETY: every column of a table is below `table.targets()` (the ChunkCsr
            // invariant), which equals `g.len()` (asserted above).
            unsafe { *g.get_unchecked_mut(j as usize) += wj * e };
        }
    }
}
