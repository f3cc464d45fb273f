//! Burst-dependent synaptic plasticity, in the exact form of the reference code
//! (spec/plasticity.md §3; [SBP src/AdaptiveEBCPConnection.cpp, src/EBCPConnection.cpp]) with
//! the constant-baseline variant of BurstCCN (§4; [G22 §2.2–2.3]).
//!
//! Paper form: dW_ij/dt = η·[B_i(t) − P̄_i(t)·E_i(t)]·Ẽ_j(t): a postsynaptic burst potentiates,
//! an event depresses by the baseline P̄, and only presynaptic *events* enter the presynaptic
//! trace Ẽ_j (τ_pre, +1 per event, unnormalised, so η absorbs τ_pre).
//!
//! State: per postsynaptic neuron the traces Ē_i and B̄_i (τ_avg, read as rates trace/τ_avg, Hz);
//! per presynaptic neuron Ẽ_j; per synapse W_ij. Presynaptic events are those of the
//! presynaptic 16-ms online detector with its lag (`detector_lag_steps`, 8 by default;
//! spec/plasticity.md §1.2, spec/synapses.md §4), classified at the emission step.
//!
//! Transmission (`transmission` in the experiment file):
//! - `"events_only"`, the reference's form (spec/plasticity.md §3 "Transmission"): only
//!   presynaptic events are transmitted, immediately, as W_ij onto the target conductance; the
//!   connection is an event-only filter and a plastic synapse in one.
//! - `"all"`, an extension for biologically explicit circuits (not in the reference): every
//!   presynaptic spike is transmitted after the projection's axonal delay (0.8 ms by default,
//!   spec/synapses.md §2) as W_ij·ε, with ε = u·x the spike's efficacy from the shared STP state
//!   if `stp` is set (spec/synapses.md §3; computed once per presynaptic population and
//!   parameter set at emission, and read from the network's StpGroup like any STP projection),
//!   else 1. So a depressing plastic synapse passes events mostly but not only. The rule does
//!   not change: Ẽ_j still counts presynaptic *events* only, from the same lagged detector, and
//!   Ẽ_j += 1 and the homeostatic LTP happen at the event's **emission** step n, as with
//!   `events_only`, so the rule is the same whatever the transmission. The spike reaches the
//!   target at n + delay with the weight W_ij current at that step (which already includes the
//!   changes made since emission). Updating at emission rather than at delivery keeps the code
//!   simple: the detector's event lists hold the current step only.
//!
//! Connection phase of step n, in this order:
//! 1. presynaptic side: `events_only`: each presynaptic event j: for each target i, transmit
//!    W_ij; if plastic and R_i < e_min, W_ij += η(e_min − R_i) (homeostatic LTP); clip to
//!    [0, w_max]. `all`: transmit W_ij·ε for every spike emitted at n − delay, then the same
//!    homeostatic LTP for each presynaptic event j of step n. Then (both) Ẽ_j += 1.
//!    R_i is a slow rate estimate of *all* spikes of i (τ_hom = 30 s, starting at 0.1 Hz), not
//!    Ē_i as spec/plasticity.md §3 says, because that is what the reference runs:
//!    `EBCPConnection::propagate_forward` calls `on_pre`, which is not virtual, so
//!    `BCPConnection::on_pre` (rate from `tr_hom = dst->get_post_trace(30.0)`, set to 30·0.1 at
//!    construction) is used and `AdaptiveEBCPConnection::on_pre` (rate from Ē) never runs
//!    [SBP src/BCPConnection.h:61, src/BCPConnection.cpp `init`, `on_pre`;
//!    src/EBCPConnection.cpp `propagate_forward`]. Checked on the built reference: the
//!    Adaptive version contributes exactly nothing over an XOR epoch.
//! 2. each postsynaptic spike of i, with h = −(Ē_i − e_max)/Ē_i if Ē_i > e_max else 0:
//!    - event: P̄ = B̄_i/Ē_i if below 1, else 1 (also when Ē_i = 0) — or the constant p_b;
//!      if plastic, W_ij += η(−P̄ + h)·Ẽ_j for every presynaptic partner j, clip; Ē_i counts
//!      the event only in the trace phase (the reference increments after the depression);
//!    - burst (second spike): if plastic, W_ij += η(1 + h)·Ẽ_j, clip; B̄_i counts it in the
//!      trace phase.
//!
//! Trace phase: Ē, B̄ and R count this step's postsynaptic events, bursts and spikes and decay
//! by e^(−dt/τ) ([`PostTraces`], one set per target chunk and time constants, shared by the
//! projections onto the same neurons); Ẽ decays ([`PreTraces`], one set per presynaptic
//! population, detector lag and τ_pre, shared likewise). The `plastic` flag gates weight changes only,
//! not the traces, so the moving averages settle while plasticity is off (the XOR's prediction
//! phase). Step 1 does not read Ẽ, so Ẽ_j is incremented before the parallel delivery; a
//! presynaptic event and a postsynaptic spike of the same step therefore interact, as in the
//! reference.
//!
//! | parameter | unit | meaning |
//! |---|---|---|
//! | `eta` | 1 | learning rate η |
//! | `tau_pre` | s | presynaptic event trace |
//! | `tau_avg` | s | moving averages Ē, B̄ (and P̄ = B̄/Ē for Burstprop) |
//! | `p_b` | 1 | constant baseline (BurstCCN) instead of P̄ |
//! | `e_min`, `e_max` | Hz | homeostatic bounds (0 and ∞ switch them off) |
//! | `tau_hom`, `hom_rate_init` | s, Hz | time constant and initial value of R (30 s, 0.1 Hz) |
//! | `w_max` | 1 | upper weight bound (lower bound 0) |

use crate::neurons::columns::scale;
use crate::synapses::connectivity::ChunkCsr;
use crate::synapses::projection::deliver_weighted;
use crate::Real;

/// What a plastic projection transmits in the connection phase.
#[derive(Clone, Copy, Debug)]
pub enum Transmit<'a> {
    /// `transmission = "events_only"`: this step's presynaptic events, immediately, as W_ij.
    Events,
    /// `transmission = "all"`: the presynaptic spikes arriving now (emitted `delay` steps
    /// earlier, ascending ids), as W_ij·ε with ε their STP efficacies (1 without STP).
    Spikes {
        spikes: &'a [u32],
        efficacies: Option<&'a [Real]>,
    },
}

/// The depression baseline.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Baseline {
    /// P̄ = B̄/Ē, the ratio of moving averages (Burstprop) [P21].
    MovingAverage,
    /// A constant p_b (BurstCCN) [G22].
    Constant(f64),
}

/// Parameters of the burst-dependent rule (SI units).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BurstRule {
    pub eta: f64,
    pub tau_pre: f64,
    pub tau_avg: f64,
    pub baseline: Baseline,
    pub e_min: f64,
    pub e_max: f64,
    pub w_max: f64,
    /// Time constant (s) and initial value (Hz) of the rate R compared with e_min.
    pub tau_hom: f64,
    pub hom_rate_init: f64,
}

/// The synapses of one plastic projection onto one target chunk, by postsynaptic neuron: for
/// local target i, `syn[col_ptr[i]..col_ptr[i + 1]]` are (presynaptic id, synapse index).
#[derive(Clone, Debug, Default)]
struct Columns {
    col_ptr: Vec<u32>,
    syn: Vec<(u32, u32)>,
}

impl Columns {
    fn build(table: &ChunkCsr, n_pre: usize) -> Self {
        let mut entries = Vec::with_capacity(table.len());
        for j in 0..n_pre {
            for (k, &i) in table.row(j).zip(table.targets_of(j)) {
                entries.push((i, j as u32, k as u32));
            }
        }
        entries.sort_unstable();
        let mut col_ptr = vec![0u32; table.targets() + 1];
        for &(i, _, _) in &entries {
            col_ptr[i as usize + 1] += 1;
        }
        for i in 0..table.targets() {
            col_ptr[i + 1] += col_ptr[i];
        }
        Columns {
            col_ptr,
            syn: entries.into_iter().map(|(_, j, k)| (j, k)).collect(),
        }
    }

    #[inline]
    fn col(&self, i: usize) -> &[(u32, u32)] {
        &self.syn[self.col_ptr[i] as usize..self.col_ptr[i + 1] as usize]
    }
}

/// The projection-wide part of a plastic projection: rule and column index.
#[derive(Clone, Debug)]
pub struct PlasticProjection {
    pub rule: BurstRule,
    /// Whether weights change (traces always run).
    pub plastic: bool,
    /// Index of this projection's weights in each target chunk's `plastic` list.
    pub slot: usize,
    /// Index of its postsynaptic traces in each target chunk's `post_traces` list.
    pub traces: usize,
    /// Index of its presynaptic traces in the network's list of [`PreTraces`].
    pub pre_traces: usize,
    columns: Vec<Columns>,
}

/// Presynaptic event traces Ẽ_j of one presynaptic population, shared by every plastic
/// projection from it with the same detector lag and τ_pre, which count the same events: the
/// two projections from each XOR input population read one set.
#[derive(Clone, Debug)]
pub struct PreTraces {
    /// Ẽ_j, unnormalised.
    pub trace: Vec<Real>,
    /// Presynaptic population, lag of its detector (steps) and τ_pre (s).
    pub pre: usize,
    pub lag: usize,
    tau_pre: f64,
    /// e^(−dt/τ_pre).
    decay: Real,
}

impl PreTraces {
    /// Traces for the `n` neurons of presynaptic population `pre`, whose events come from its
    /// detector with `lag`, with τ_pre of `rule` and time step `dt` (s).
    pub fn new(pre: usize, lag: usize, rule: &BurstRule, n: usize, dt: f64) -> Self {
        PreTraces {
            trace: vec![0.0; n],
            pre,
            lag,
            tau_pre: rule.tau_pre,
            decay: (-dt / rule.tau_pre).exp() as Real,
        }
    }

    /// Whether a projection from `pre`, reading its detector with `lag`, with `rule` reads
    /// these traces.
    pub fn serves(&self, pre: usize, lag: usize, rule: &BurstRule) -> bool {
        (self.pre, self.lag, self.tau_pre) == (pre, lag, rule.tau_pre)
    }

    /// Ẽ_j += 1 for the presynaptic events of this step (before delivery; step 1 does not read Ẽ).
    pub fn count(&mut self, events: &[u32]) {
        for &j in events {
            self.trace[j as usize] += 1.0;
        }
    }

    /// Trace phase: Ẽ decays.
    pub fn decay(&mut self) {
        scale(&mut self.trace, self.decay);
    }
}

/// The per-target-chunk weights of one plastic projection, owned by the chunk's task.
#[derive(Clone, Debug)]
pub struct PlasticChunk {
    /// W per synapse, aligned with the chunk's CSR table.
    pub weights: Vec<Real>,
    /// Running sums, while plastic, of Σ_j Ẽ_j over the partners of each postsynaptic burst
    /// and of each postsynaptic event (see [`RuleSums`]).
    pub sums: RuleSums,
}

/// What the rule's burst term has seen: A = Σ over postsynaptic bursts, and C = Σ over
/// postsynaptic events, of the presynaptic traces Σ_j Ẽ_j of the neuron's partners. Without
/// homeostasis and clipping the weights change by η(A − p_b·C) in total, so A/C is the constant
/// baseline at which they would not drift: the postsynaptic BP weighted by the presynaptic
/// activity at each event, which differs from the population's BP when events and bursts
/// come at different presynaptic activity (docs/xor_cortical.md, session 11). Bursts of a
/// neuron whose weights sit at w_max count in A but potentiate nothing, so once many weights
/// are at a bound A/C no longer predicts the drift.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RuleSums {
    /// A, from bursts.
    pub bursts: f64,
    /// C, from events.
    pub events: f64,
}

impl RuleSums {
    /// A/C: the drift-free constant baseline (NaN without events). For what was gathered
    /// between two readings, take it of their difference.
    pub fn baseline(self) -> f64 {
        if self.events > 0.0 {
            self.bursts / self.events
        } else {
            f64::NAN
        }
    }
}

impl std::ops::Add for RuleSums {
    type Output = RuleSums;
    fn add(self, o: RuleSums) -> RuleSums {
        RuleSums {
            bursts: self.bursts + o.bursts,
            events: self.events + o.events,
        }
    }
}

impl std::ops::Sub for RuleSums {
    type Output = RuleSums;
    fn sub(self, o: RuleSums) -> RuleSums {
        RuleSums {
            bursts: self.bursts - o.bursts,
            events: self.events - o.events,
        }
    }
}

/// Postsynaptic traces of one target chunk, shared by every plastic projection onto it with the
/// same τ_avg, τ_hom and initial R (as Auryn keeps one post trace per neuron group and time
/// constant): the two projections onto each XOR hidden population read one set.
#[derive(Clone, Debug)]
pub struct PostTraces {
    /// Ē_i and B̄_i as trace values (counts); rates are value/τ_avg.
    pub e_trace: Vec<Real>,
    pub b_trace: Vec<Real>,
    /// R_i·τ_hom: all postsynaptic spikes, τ_hom (f64: its per-step decay is ~3e-6).
    pub r_trace: Vec<f64>,
    /// τ_avg, τ_hom (s) and the initial R (Hz): projections share traces when these agree.
    key: [f64; 3],
    decay_avg: Real,
    decay_hom: f64,
}

impl PostTraces {
    /// Traces for `n` target neurons with the time constants of `rule`, time step `dt` (s).
    pub fn new(rule: &BurstRule, n: usize, dt: f64) -> Self {
        PostTraces {
            e_trace: vec![0.0; n],
            b_trace: vec![0.0; n],
            r_trace: vec![rule.hom_rate_init * rule.tau_hom; n],
            key: Self::key(rule),
            decay_avg: (-dt / rule.tau_avg).exp() as Real,
            decay_hom: (-dt / rule.tau_hom).exp(),
        }
    }

    fn key(rule: &BurstRule) -> [f64; 3] {
        [rule.tau_avg, rule.tau_hom, rule.hom_rate_init]
    }

    /// Whether a projection with `rule` reads these traces.
    pub fn serves(&self, rule: &BurstRule) -> bool {
        self.key == Self::key(rule)
    }

    /// Trace phase: Ē_i += 1 per event, B̄_i += 1 per burst (population ids of the chunk whose
    /// first neuron is `base`) and R_i += 1 per spike (chunk-local indices) of this step, then
    /// all decay. The increments come after the connection phase, which reads Ē and B̄ before
    /// them, as the reference does (module doc, step 2).
    pub fn count(&mut self, base: u32, events: &[u32], bursts: &[u32], spikes: &[u32]) {
        for &i in events {
            self.e_trace[(i - base) as usize] += 1.0;
        }
        for &i in bursts {
            self.b_trace[(i - base) as usize] += 1.0;
        }
        for &i in spikes {
            self.r_trace[i as usize] += 1.0;
        }
        scale(&mut self.e_trace, self.decay_avg);
        scale(&mut self.b_trace, self.decay_avg);
        scale(&mut self.r_trace, self.decay_hom);
    }
}

impl PlasticProjection {
    /// Builds the column index of every target chunk's table and the chunk weights, initially
    /// `initial` (per chunk in table order, clipped to [0, w_max]). `slot` and `traces` index the
    /// target chunks' `plastic` and `post_traces` lists, `pre_traces` the network's presynaptic
    /// traces.
    pub fn new(
        rule: BurstRule,
        (slot, traces, pre_traces): (usize, usize, usize),
        tables: &[ChunkCsr],
        n_pre: usize,
        initial: Vec<Vec<Real>>,
    ) -> (Self, Vec<PlasticChunk>) {
        let w_max = rule.w_max as Real;
        let chunks = initial
            .into_iter()
            .map(|mut weights| {
                for w in &mut weights {
                    *w = w.clamp(0.0, w_max);
                }
                PlasticChunk {
                    weights,
                    sums: RuleSums::default(),
                }
            })
            .collect();
        let proj = PlasticProjection {
            rule,
            plastic: true,
            slot,
            traces,
            pre_traces,
            columns: tables.iter().map(|t| Columns::build(t, n_pre)).collect(),
        };
        (proj, chunks)
    }

    /// The synapses onto target chunk `chunk` ordered by local target and then presynaptic id,
    /// as (local target, presynaptic id, index into the chunk's [`PlasticChunk::weights`]).
    pub fn synapses_by_target(
        &self,
        chunk: usize,
    ) -> impl Iterator<Item = (usize, u32, usize)> + '_ {
        let cols = &self.columns[chunk];
        (0..cols.col_ptr.len() - 1)
            .flat_map(move |i| cols.col(i).iter().map(move |&(j, k)| (i, j, k as usize)))
    }

    /// Connection phase for target chunk `chunk`, whose first neuron has population id `base`:
    /// transmits into the conductance column `g` as `transmit` says, applies homeostatic LTP
    /// at this step's presynaptic `pre_events`, and applies the rule for the chunk's
    /// postsynaptic `post_events` and `post_bursts` (population ids within the chunk), with
    /// the postsynaptic `traces` and the presynaptic traces Ẽ `pre_trace`. See the module doc
    /// for the order.
    #[allow(clippy::too_many_arguments)]
    pub fn deliver(
        &self,
        chunk: usize,
        base: u32,
        table: &ChunkCsr,
        state: &mut PlasticChunk,
        traces: &PostTraces,
        pre_trace: &[Real],
        pre_events: &[u32],
        transmit: Transmit<'_>,
        post_events: &[u32],
        post_bursts: &[u32],
        g: &mut [Real],
    ) {
        let r = &self.rule;
        let inv_tau = 1.0 / r.tau_avg as Real;
        let inv_tau_hom = 1.0 / r.tau_hom;
        let (eta, e_min, e_max, w_max) = (
            r.eta as Real,
            r.e_min as Real,
            r.e_max as Real,
            r.w_max as Real,
        );
        let clip = |w: Real| w.clamp(0.0, w_max);
        // 1. Presynaptic side: transmit, then homeostatic LTP of silent targets at each event.
        match transmit {
            Transmit::Events => {
                for &j in pre_events {
                    let j = j as usize;
                    for (k, &i) in table.row(j).zip(table.targets_of(j)) {
                        let i = i as usize;
                        g[i] += state.weights[k];
                        if self.plastic {
                            let rate = (traces.r_trace[i] * inv_tau_hom) as Real;
                            if rate < e_min {
                                state.weights[k] = clip(state.weights[k] + eta * (e_min - rate));
                            }
                        }
                    }
                }
            }
            Transmit::Spikes { spikes, efficacies } => {
                deliver_weighted(table, spikes, efficacies, &state.weights, g);
                // R ≥ 0, so e_min = 0 never potentiates: skip the loop.
                if self.plastic && e_min > 0.0 {
                    for &j in pre_events {
                        let j = j as usize;
                        for (k, &i) in table.row(j).zip(table.targets_of(j)) {
                            let rate = (traces.r_trace[i as usize] * inv_tau_hom) as Real;
                            if rate < e_min {
                                state.weights[k] = clip(state.weights[k] + eta * (e_min - rate));
                            }
                        }
                    }
                }
            }
        }
        // 2. Postsynaptic events and bursts.
        let cols = &self.columns[chunk];
        let homeostasis = |rate: Real| {
            if rate > e_max {
                -(rate - e_max) / rate
            } else {
                0.0
            }
        };
        if !self.plastic {
            return;
        }
        // W_ij += dw·Ẽ_j over the partners j of one postsynaptic neuron; returns Σ_j Ẽ_j.
        let apply = |weights: &mut [Real], col: &[(u32, u32)], dw: Real| -> Real {
            let mut pre_sum = 0.0;
            for &(j, k) in col {
                let x = pre_trace[j as usize];
                pre_sum += x;
                let w = &mut weights[k as usize];
                *w = clip(*w + dw * x);
            }
            pre_sum
        };
        for &i in post_events {
            let i = (i - base) as usize;
            let (e, b) = (traces.e_trace[i], traces.b_trace[i]);
            let baseline = match r.baseline {
                Baseline::Constant(p) => p as Real,
                Baseline::MovingAverage if e > 0.0 => (b / e).min(1.0),
                Baseline::MovingAverage => 1.0,
            };
            let dw = eta * (-baseline + homeostasis(e * inv_tau));
            state.sums.events += apply(&mut state.weights, cols.col(i), dw) as f64;
        }
        for &i in post_bursts {
            let i = (i - base) as usize;
            let dw = eta * (1.0 + homeostasis(traces.e_trace[i] * inv_tau));
            state.sums.bursts += apply(&mut state.weights, cols.col(i), dw) as f64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{stream, Purpose};
    use crate::synapses::connectivity::{draw_chunk, Rule};

    const DT: f64 = 1e-4;

    fn rule(baseline: Baseline) -> BurstRule {
        BurstRule {
            eta: 0.01,
            tau_pre: 0.1,
            tau_avg: 2.0,
            baseline,
            e_min: 0.0,
            e_max: f64::INFINITY,
            w_max: 1.0,
            tau_hom: 30.0,
            hom_rate_init: 0.1,
        }
    }

    /// One presynaptic and one postsynaptic neuron, one synapse of weight 0.5.
    fn pair(
        r: BurstRule,
    ) -> (
        PlasticProjection,
        PlasticChunk,
        PostTraces,
        PreTraces,
        ChunkCsr,
    ) {
        let mut rng = stream(1, Purpose::Connectivity, &[0]);
        let table = draw_chunk(Rule::AllToAll, 1, 0, 1, false, &mut rng);
        let (p, mut chunks) = PlasticProjection::new(
            r,
            (0, 0, 0),
            std::slice::from_ref(&table),
            1,
            vec![vec![0.5]],
        );
        let (post, pre) = (PostTraces::new(&r, 1, DT), PreTraces::new(0, 0, &r, 1, DT));
        (p, chunks.remove(0), post, pre, table)
    }

    /// One step's connection phase of the single synapse with presynaptic events `pre`,
    /// `transmit` and postsynaptic `events` and `bursts`, adding into the conductance `g`.
    fn deliver_one(
        p: &PlasticProjection,
        (s, tr, pt, t): (&mut PlasticChunk, &PostTraces, &PreTraces, &ChunkCsr),
        (pre, transmit): (&[u32], Transmit<'_>),
        (events, bursts): (&[u32], &[u32]),
        g: &mut [Real; 1],
    ) {
        p.deliver(0, 0, t, s, tr, &pt.trace, pre, transmit, events, bursts, g);
    }

    /// [`deliver_one`] of presynaptic events only (`events_only`); returns the conductance
    /// transmitted.
    fn connect(
        p: &PlasticProjection,
        state: (&mut PlasticChunk, &PostTraces, &PreTraces, &ChunkCsr),
        pre: &[u32],
        events: &[u32],
        bursts: &[u32],
    ) -> Real {
        let mut g = [0.0];
        deliver_one(p, state, (pre, Transmit::Events), (events, bursts), &mut g);
        g[0]
    }

    /// [`connect`], then the step's trace phase (the spikes are the events and bursts).
    fn step(
        p: &PlasticProjection,
        (s, tr, pt, t): (&mut PlasticChunk, &mut PostTraces, &PreTraces, &ChunkCsr),
        pre: &[u32],
        events: &[u32],
        bursts: &[u32],
    ) -> Real {
        let g = connect(p, (s, tr, pt, t), pre, events, bursts);
        let spikes: Vec<u32> = events.iter().chain(bursts).copied().collect();
        tr.count(0, events, bursts, &spikes);
        g
    }

    #[test]
    fn event_depresses_by_the_baseline_and_burst_potentiates() {
        let (p, mut s, mut tr, mut pt, t) = pair(rule(Baseline::Constant(0.4)));
        pt.count(&[0]);
        let g = step(&p, (&mut s, &mut tr, &pt, &t), &[0], &[], &[]);
        assert_eq!(g, 0.5, "the event is transmitted with the old weight");
        assert_eq!(s.weights[0], 0.5, "no homeostasis without e_min");
        // Postsynaptic event: W += η(−p_b)Ẽ with Ẽ = 1.
        step(&p, (&mut s, &mut tr, &pt, &t), &[], &[0], &[]);
        assert!((s.weights[0] - (0.5 - 0.01 * 0.4)).abs() < 1e-7);
        assert!(
            (tr.e_trace[0] - tr.decay_avg).abs() < 1e-7,
            "Ē counts it, then decays"
        );
        // Postsynaptic burst: W += η·Ẽ.
        let before = s.weights[0];
        step(&p, (&mut s, &mut tr, &pt, &t), &[], &[], &[0]);
        assert!((s.weights[0] - (before + 0.01)).abs() < 1e-7);
        assert!((tr.b_trace[0] - tr.decay_avg).abs() < 1e-7);
    }

    #[test]
    fn moving_average_baseline_is_the_ratio_of_traces() {
        // With B̄ = 1 and Ē = 2, the first event depresses by η·(1/2)·Ẽ; Ē then grows to 3, so
        // the second depresses by η·(1/3)·Ẽ (τ_avg made infinite so the traces do not decay).
        let mut r = rule(Baseline::MovingAverage);
        r.tau_avg = f64::INFINITY;
        let (p, mut s, mut tr, mut pt, t) = pair(r);
        pt.count(&[0]);
        step(&p, (&mut s, &mut tr, &pt, &t), &[0], &[], &[]);
        tr.e_trace[0] = 2.0;
        tr.b_trace[0] = 1.0;
        let w0 = s.weights[0];
        step(&p, (&mut s, &mut tr, &pt, &t), &[], &[0], &[]);
        step(&p, (&mut s, &mut tr, &pt, &t), &[], &[0], &[]);
        assert!(s.weights[0] < w0, "events depress");
        let depression = 0.01 * (1.0 / 2.0 + 1.0 / 3.0);
        assert!((w0 - s.weights[0] - depression).abs() < 1e-6);
        // Without any earlier event, P̄ = 1.
        let (q, mut s2, mut tr2, mut pt2, t2) = pair(rule(Baseline::MovingAverage));
        pt2.count(&[0]);
        step(&q, (&mut s2, &mut tr2, &pt2, &t2), &[], &[0], &[]);
        assert!((s2.weights[0] - (0.5 - 0.01)).abs() < 1e-7);
    }

    #[test]
    fn homeostatic_terms() {
        // e_min: a presynaptic event onto a slow target potentiates by η(e_min − R), with R
        // starting at 0.1 Hz whatever Ē is.
        let mut r = rule(Baseline::Constant(0.4));
        r.e_min = 2.0;
        r.e_max = 10.0;
        r.tau_avg = f64::INFINITY;
        let (mut p, mut s, mut tr, mut pt, t) = pair(r);
        pt.count(&[0]);
        tr.e_trace[0] = 40.0;
        connect(&p, (&mut s, &tr, &pt, &t), &[0], &[], &[]);
        assert!((s.weights[0] - (0.5 + 0.01 * 1.9)).abs() < 1e-6);
        // R counts every postsynaptic spike: 57 more spikes in τ_hom = 30 s make R = 2 Hz.
        tr.r_trace[0] += 57.0;
        let w = s.weights[0];
        connect(&p, (&mut s, &tr, &pt, &t), &[0], &[], &[]);
        assert_eq!(s.weights[0], w, "no homeostatic LTP at R = e_min");
        // e_max: at Ē = 20 Hz (trace 40 with τ_avg = 2 s), h = −(20 − 10)/20 = −0.5.
        p.rule.tau_avg = 2.0;
        let w0 = s.weights[0];
        step(&p, (&mut s, &mut tr, &pt, &t), &[], &[0], &[]);
        assert!((s.weights[0] - (w0 + 0.01 * (-0.4 - 0.5))).abs() < 1e-6);
        let w1 = s.weights[0];
        step(&p, (&mut s, &mut tr, &pt, &t), &[], &[], &[0]);
        // Ē is now 41/2 Hz: h = −(20.5 − 10)/20.5.
        let h = -(20.5 - 10.0) / 20.5;
        assert!((s.weights[0] - (w1 + 0.01 * (1.0 + h))).abs() < 1e-6);
    }

    #[test]
    fn rule_sums_give_the_baseline_at_which_the_weights_do_not_move() {
        // An event at Ẽ = 1, then a burst and an event at Ẽ = 2: A = 2, C = 3, so A/C = 2/3,
        // while the BP (one burst in two events) is 1/2.
        let run = |p_b: f64, plastic: bool| {
            let (mut p, mut s, mut tr, mut pt, t) = pair(rule(Baseline::Constant(p_b)));
            p.plastic = plastic;
            pt.count(&[0]);
            step(&p, (&mut s, &mut tr, &pt, &t), &[], &[0], &[]);
            pt.count(&[0]);
            step(&p, (&mut s, &mut tr, &pt, &t), &[], &[0], &[0]);
            s
        };
        let s = run(0.4, true);
        assert_eq!(
            s.sums,
            RuleSums {
                bursts: 2.0,
                events: 3.0
            }
        );
        let b = s.sums.baseline();
        assert!((b - 2.0 / 3.0).abs() < 1e-12);
        assert!(
            (run(b, true).weights[0] - 0.5).abs() < 1e-7,
            "no net change at p_b = A/C"
        );
        assert!(
            (run(0.5, true).weights[0] - 0.5).abs() > 1e-3,
            "the BP is not it"
        );
        assert_eq!(
            run(0.4, false).sums,
            RuleSums::default(),
            "nothing counts while off"
        );
        assert!(
            (s.sums - s.sums).baseline().is_nan(),
            "no events since: NaN"
        );
    }

    #[test]
    fn weights_are_clipped_and_plastic_flag_gates_changes_only() {
        let mut r = rule(Baseline::Constant(0.4));
        r.eta = 10.0;
        r.tau_avg = f64::INFINITY;
        let (mut p, mut s, mut tr, mut pt, t) = pair(r);
        pt.count(&[0]);
        step(&p, (&mut s, &mut tr, &pt, &t), &[], &[], &[0]);
        assert_eq!(s.weights[0], 1.0);
        step(&p, (&mut s, &mut tr, &pt, &t), &[], &[0], &[]);
        step(&p, (&mut s, &mut tr, &pt, &t), &[], &[0], &[]);
        assert_eq!(s.weights[0], 0.0);
        p.plastic = false;
        step(&p, (&mut s, &mut tr, &pt, &t), &[], &[], &[0]);
        assert_eq!(s.weights[0], 0.0);
        assert_eq!(tr.b_trace[0], 2.0, "traces run while plasticity is off");
    }

    #[test]
    fn traces_decay_exactly() {
        let (_, _, mut tr, mut pt, _) = pair(rule(Baseline::Constant(0.4)));
        pt.count(&[0]);
        tr.e_trace[0] = 1.0;
        for _ in 0..1000 {
            pt.decay();
            tr.count(0, &[], &[], &[]);
        }
        assert!((pt.trace[0] as f64 - (-0.1f64 / 0.1).exp()).abs() < 1e-4);
        assert!((tr.e_trace[0] as f64 - (-0.1f64 / 2.0).exp()).abs() < 1e-4);
        assert!((tr.r_trace[0] - 3.0 * (-0.1f64 / 30.0).exp()).abs() < 1e-9);
        // Every spike of the chunk counts, events and burst spikes alike.
        tr.count(0, &[], &[], &[0, 0]);
        assert!(
            (tr.r_trace[0] - (3.0 * (-0.1001f64 / 30.0).exp() + 2.0 * (-1e-4f64 / 30.0).exp()))
                .abs()
                < 1e-9
        );
    }

    #[test]
    fn all_transmits_arriving_spikes_with_their_efficacies_and_learns_at_events() {
        let mut r = rule(Baseline::Constant(0.4));
        r.e_min = 2.0;
        let (p, mut s, tr, mut pt, t) = pair(r);
        let mut g = [0.0];
        let none = Transmit::Spikes {
            spikes: &[],
            efficacies: Some(&[]),
        };
        // A spike arrives with efficacy 0.25 but no event is emitted this step: W·ε is
        // transmitted, and W does not change (homeostatic LTP acts at emitted events).
        let spikes = Transmit::Spikes {
            spikes: &[0],
            efficacies: Some(&[0.25]),
        };
        deliver_one(
            &p,
            (&mut s, &tr, &pt, &t),
            (&[], spikes),
            (&[], &[]),
            &mut g,
        );
        assert_eq!(g[0], 0.5 * 0.25);
        assert_eq!(s.weights[0], 0.5);
        // An event is emitted and nothing arrives: homeostatic LTP at emission, no transmission.
        pt.count(&[0]);
        deliver_one(&p, (&mut s, &tr, &pt, &t), (&[0], none), (&[], &[]), &mut g);
        assert_eq!(g[0], 0.5 * 0.25);
        assert!((s.weights[0] - (0.5 + 0.01 * 1.9)).abs() < 1e-6);
        // It arrives later with the current weight, and without STP at full strength.
        let w = s.weights[0];
        let arrives = Transmit::Spikes {
            spikes: &[0],
            efficacies: None,
        };
        deliver_one(
            &p,
            (&mut s, &tr, &pt, &t),
            (&[], arrives),
            (&[], &[]),
            &mut g,
        );
        assert_eq!(g[0], 0.5 * 0.25 + w);
        assert_eq!(s.weights[0], w);
        // The postsynaptic side is that of events_only: an event depresses by η·p_b·Ẽ.
        deliver_one(&p, (&mut s, &tr, &pt, &t), (&[], none), (&[0], &[]), &mut g);
        assert!((s.weights[0] - (w - 0.01 * 0.4)).abs() < 1e-6);
    }

    #[test]
    fn all_without_delay_or_stp_is_events_only_when_every_spike_is_an_event() {
        // Bit for bit, with homeostasis on, over a random table with several targets per chunk.
        let mut r = rule(Baseline::MovingAverage);
        r.e_min = 2.0;
        r.e_max = 10.0;
        let mut rng = stream(3, Purpose::Connectivity, &[0]);
        let table = draw_chunk(Rule::Pairwise { p: 0.4 }, 30, 0, 20, false, &mut rng);
        let tables = std::slice::from_ref(&table);
        let w0 = || vec![vec![0.3; table.len()]];
        let (a, mut sa) = PlasticProjection::new(r, (0, 0, 0), tables, 30, w0());
        let (b, mut sb) = PlasticProjection::new(r, (0, 0, 0), tables, 30, w0());
        let mut traces = PostTraces::new(&r, 20, DT);
        let mut pre = PreTraces::new(0, 0, &r, 30, DT);
        let (mut ga, mut gb) = (vec![0.0; 20], vec![0.0; 20]);
        let events = [1u32, 4, 7, 8, 15, 29];
        for step in 0..5 {
            pre.count(&events);
            let (post_e, post_b): (&[u32], &[u32]) = if step % 2 == 0 {
                (&[0, 3, 11], &[5])
            } else {
                (&[5, 19], &[0, 3])
            };
            a.deliver(
                0,
                0,
                &table,
                &mut sa[0],
                &traces,
                &pre.trace,
                &events,
                Transmit::Events,
                post_e,
                post_b,
                &mut ga,
            );
            let spikes = Transmit::Spikes {
                spikes: &events,
                efficacies: None,
            };
            b.deliver(
                0, 0, &table, &mut sb[0], &traces, &pre.trace, &events, spikes, post_e, post_b,
                &mut gb,
            );
            traces.count(0, post_e, post_b, &[]);
        }
        assert_eq!(ga, gb);
        assert_eq!(sa[0].weights, sb[0].weights);
        assert!(sa[0].weights.iter().any(|&w| w != 0.3), "weights changed");
    }

    #[test]
    fn columns_index_every_synapse_once() {
        let mut rng = stream(2, Purpose::Connectivity, &[0]);
        let table = draw_chunk(Rule::Pairwise { p: 0.3 }, 50, 0, 40, false, &mut rng);
        let cols = Columns::build(&table, 50);
        let mut seen = vec![false; table.len()];
        for i in 0..40 {
            for &(j, k) in cols.col(i) {
                assert_eq!(
                    table.targets_of(j as usize)[k as usize - table.row(j as usize).start],
                    i as u16
                );
                assert!(!seen[k as usize]);
                seen[k as usize] = true;
            }
        }
        assert!(seen.iter().all(|&s| s));
        // The public walk visits the same synapses in order of (target, source).
        let (proj, _) = PlasticProjection::new(
            rule(Baseline::Constant(0.5)),
            (0, 0, 0),
            std::slice::from_ref(&table),
            50,
            vec![vec![0.0; table.len()]],
        );
        let walk: Vec<(usize, u32, usize)> = proj.synapses_by_target(0).collect();
        let by_cols: Vec<(usize, u32, usize)> = (0..40)
            .flat_map(|i| cols.col(i).iter().map(move |&(j, k)| (i, j, k as usize)))
            .collect();
        assert_eq!(walk, by_cols);
        assert!(walk
            .windows(2)
            .all(|w| (w[0].0, w[0].1) <= (w[1].0, w[1].1)));
    }
}
