//! BurstPoisson neuron: the simplified bursting unit of the Payeur et al. XOR network ([P21 Fig 4]).
//!
//! A leaky integrate-and-fire soma with the moving threshold and somatic adaptation of the
//! pyramidal model, a passive dendrite, and a burst decided at each threshold spike with
//! probability p_B = f(V_d); a burst adds exactly one second spike 4.9–14.8 ms later
//! (spec/neurons.md §4) [SBP src/BurstPoissonGroup.cpp]:
//!
//! ```text
//! C_s dV_s/dt  = −(C_s/τ_s)(V_s − E_L) + b_ws w_s + g_Ls Σ_x g_x^s (E_x − V_s) + I_s
//! C_d dV_d/dt  = −(C_d/τ_d)(V_d − E_L) + a_wd w_d + g_Ld Σ_x g_x^d (E_x − V_q) + I_d
//! w_s, w_d, θ  as in the pyramidal model;   p_B = 1 / (1 + exp(−(V_d − E_d)/D_d))
//! ```
//!
//! Discrete step, in this order: synaptic currents and conductance decay; soma leak and w_s
//! term, dendrite leak and w_d term; refractory and burst counters count down (kept as the
//! steps at which they run out, so that they cost no write per step); synaptic terms;
//! w_s decay; w_d step with the new V_d; θ relaxation; p_B = f(V_d,new); then per neuron:
//! - if V_s > θ and not refractory: spike, refractory ← 20 ms, V_s ← E_reset, θ += Δθ,
//!   w_s += 1; draw r₁, r₂ ~ U(0,1) (both, at every threshold spike); if r₁ < p_B the burst
//!   counter ← ⌊(5 ms + r₂·10 ms)/dt⌋;
//! - else if the burst counter is 1: second spike, refractory ← 20 ms (V_s, θ, w_s unchanged).
//!
//! V_s is not clamped while refractory: it keeps integrating.
//!
//! | parameter | unit | default | meaning |
//! |---|---|---|---|
//! | `e_l`, `e_reset` | mV | −70, −70 | resting potential, somatic reset |
//! | `tau_s`, `c_s` | ms, pF | 16, 370 | somatic time constant and capacitance |
//! | `tau_d`, `c_d` | ms, pF | 7, 170 | dendritic time constant and capacitance |
//! | `e_d`, `d_d` | mV | −57, 6 | centre and width of the burst sigmoid p_B = f(V_d) |
//! | `b_ws`, `tau_ws` | pA, ms | −200, 100 | somatic spike-triggered adaptation |
//! | `a_wd`, `tau_wd` | nS, ms | −13, 30 | dendritic subthreshold adaptation |
//! | `theta_0`, `tau_theta`, `threshold_jump` | mV, ms, mV | −50, 27, 2 | moving threshold |
//! | `refractory` | ms | 20 | absolute refractory period after every spike (whole steps) |
//! | `burst_delay_min` | ms | 5 | smallest burst counter (whole steps); the second spike comes one step earlier |
//! | `burst_delay_range` | ms | 10 | range of the uniform burst counter (whole steps) |
//! | `e_exc`, `tau_exc` | mV, ms | 0, 5 | AMPA reversal potential and decay |
//! | `e_inh`, `tau_inh` | mV, ms | −80, 10 | GABA reversal potential and decay |
//! | `tau_nmda` | ms | 100 | NMDA filter of the `ampa_nmda_5050` mix |
//! | `dendritic_driving_force` | — | `"somatic"` | V_q: V_s (Auryn) or V_d (`"dendritic"`) |
//! | `excitatory_synapse_mix` | — | `"ampa_only"` | or `"ampa_nmda_5050"` |
//! | `v_init`, `v_init_sd` | —, mV | `"rest"`, 5 | initial V_s: E_L or N(E_L, sd²) |
//! | `w_dend_init` | mV | 0.1 | initial w_d |
//!
//! Receives: soma and dendrite × {excitatory, inhibitory}, in units of that compartment's leak
//! conductance. Current injection: soma (dt/C_s), dendrite (dt/C_d).
//!
//! p_B is only needed at a threshold spike, so it is evaluated there (and when recorded) rather
//! than for every neuron at every step; the value is the same, f(V_d) of the step.
//!
//! Recordable: `v_soma`, `v_dend`, `threshold`, `w_soma`, `w_dend`, `burst_probability`
//! (p_B = f(V_d) after the last step), `g_exc_soma`, `g_inh_soma`, `g_exc_dend`, `g_inh_dend`,
//! `g_nmda`.
//!
//! References: [SBP src/BurstPoissonGroup.cpp], [P21 Fig 4, Methods], spec/neurons.md §4.

use super::columns::{sigmoid, update_with_avx2, whole_steps};
use super::pyramidal::{
    compartment_currents, driving_potential, synaptic_currents, TwoCompartmentConsts,
    TwoCompartmentParams, TwoCompartmentState,
};
use super::{Compartment, ModelKind, NeuronChunk, NeuronModel, Receptor};
use crate::config::units::{Dim, ParamTable};
use crate::engine::rng::Rng;
use crate::error::Result;
use crate::Real;
use rand::Rng as _;

/// Registry entry.
pub const KIND: ModelKind = ModelKind {
    name: "burst_poisson",
    description: "LIF soma + passive dendrite; doublet bursts with probability f(V_d) (Payeur XOR)",
    read,
};

/// Validated parameters.
#[derive(Clone, Debug)]
pub struct BurstPoisson {
    /// Shared two-compartment parameters (`e_d` defaults to −57 mV here).
    pub base: TwoCompartmentParams,
    /// Absolute refractory period, steps.
    pub refractory_steps: u32,
    /// Smallest burst counter and its range, steps.
    pub burst_min_steps: u32,
    pub burst_range_steps: u32,
    consts: TwoCompartmentConsts,
}

fn read(t: &ParamTable, dt: f64) -> Result<Box<dyn NeuronModel>> {
    Ok(Box::new(BurstPoisson::read(t, dt)?))
}

impl BurstPoisson {
    /// Reads and validates the parameters and precomputes the constants for `dt` (s).
    pub fn read(t: &ParamTable, dt: f64) -> Result<Self> {
        let base = TwoCompartmentParams::read(t, -57e-3, 2e-3, "somatic")?;
        let time = |key: &str, default: f64| t.quantity(key, Dim::Time, Some(default));
        let refractory_steps = whole_steps(t, "refractory", time("refractory", 20e-3)?, dt)?;
        let burst_min_steps =
            whole_steps(t, "burst_delay_min", time("burst_delay_min", 5e-3)?, dt)?;
        // A counter of 1 would fire the second spike on the step of the first.
        if burst_min_steps < 2 {
            return Err(t.error("burst_delay_min", "must be at least two time steps"));
        }
        let burst_range = time("burst_delay_range", 10e-3)?;
        let burst_range_steps = whole_steps(t, "burst_delay_range", burst_range, dt)?;
        // The chunk keeps the counters as step numbers below 2³¹ + `MAX_COUNTER`.
        if refractory_steps >= MAX_COUNTER {
            return Err(t.error("refractory", "is too many time steps (2³⁰ or more)"));
        }
        if burst_min_steps.saturating_add(burst_range_steps) >= MAX_COUNTER {
            return Err(t.error(
                "burst_delay_range",
                "with burst_delay_min, is too many time steps (2³⁰ or more)",
            ));
        }
        Ok(BurstPoisson {
            consts: base.consts(dt),
            base,
            refractory_steps,
            burst_min_steps,
            burst_range_steps,
        })
    }

    /// A chunk of `len` neurons in the initial state of spec/neurons.md §2.4.
    pub fn chunk(&self, len: usize, init_rng: &mut Rng) -> BurstPoissonChunk {
        let b = &self.base;
        BurstPoissonChunk {
            c: self.consts,
            refractory_steps: self.refractory_steps,
            burst_min: self.burst_min_steps as f64,
            burst_range: self.burst_range_steps as f64,
            s: TwoCompartmentState::new(b, len, init_rng),
            now: 0,
            refractory_until: vec![0; len],
            burst_at: vec![0; len],
            candidate: vec![0; len],
        }
    }
}

impl NeuronModel for BurstPoisson {
    fn build_chunk(&self, len: usize, init_rng: &mut Rng) -> Box<dyn NeuronChunk> {
        Box::new(self.chunk(len, init_rng))
    }
    fn compartments(&self) -> &'static [Compartment] {
        &[Compartment::Soma, Compartment::Dendrite]
    }
    fn bytes_per_neuron(&self) -> usize {
        10 * std::mem::size_of::<Real>() + 2 * std::mem::size_of::<u32>() + 1
    }
}

/// The shared two-compartment columns, then the burst probability p_B.
const STATE_NAMES: &[&str] = &[
    "v_soma",
    "v_dend",
    "threshold",
    "w_soma",
    "w_dend",
    "g_exc_soma",
    "g_inh_soma",
    "g_exc_dend",
    "g_inh_dend",
    "g_nmda",
    "burst_probability",
];

/// A chunk of BurstPoisson neurons: struct-of-arrays state.
pub struct BurstPoissonChunk {
    c: TwoCompartmentConsts,
    refractory_steps: u32,
    /// Burst counter = `burst_min` + ⌊r₂·`burst_range`⌋ (steps, as f64 for the draw).
    burst_min: f64,
    burst_range: f64,
    /// Membrane, threshold, adaptation and conductance columns.
    pub s: TwoCompartmentState,
    /// Number of the current step, counted from 1 by `update` (and lowered by `REBASE_BY`
    /// whenever it reaches `REBASE_AT`).
    now: u32,
    /// The refractory and burst counters as the steps at which they act: a neuron is
    /// refractory while `now` < `refractory_until` (the refractory counter would be nonzero),
    /// and a burst's second spike is due when `now` = `burst_at` (the burst counter would be
    /// at 1; 0, before the first step, means none).
    refractory_until: Vec<u32>,
    burst_at: Vec<u32>,
    /// 1 where the neuron may spike this step (V_s > θ and not refractory, or a burst's second
    /// spike due), else 0: written by the integration loop, read by the spike pass.
    candidate: Vec<u8>,
}

/// Counter values (steps) must stay below this, so that `now` + counter fits a u32.
const MAX_COUNTER: u32 = 1 << 30;
/// When `now` reaches `REBASE_AT`, it and every counter step (saturating at 0) are lowered by
/// `REBASE_BY`: past steps stay in the past and pending ones keep their distance to `now`.
const REBASE_AT: u32 = 1 << 31;
const REBASE_BY: u32 = MAX_COUNTER;

/// Neurons whose candidate flags are tested at once: one vectorised test per block, and the
/// scalar spike code runs only for blocks with a candidate (a few per step out of thousands).
const SPIKE_BLOCK: usize = 32;

impl BurstPoissonChunk {
    /// Starts the next step: `now` += 1, and the rare rebase (see `REBASE_AT`).
    #[inline(always)]
    fn advance_clock(&mut self) {
        self.now += 1;
        if self.now == REBASE_AT {
            self.now -= REBASE_BY;
            for t in self.refractory_until.iter_mut().chain(&mut self.burst_at) {
                *t = t.saturating_sub(REBASE_BY);
            }
        }
    }

    /// p_B = f(V_d) of neuron `i` (step 5 of spec/neurons.md §4).
    pub fn burst_probability(&self, i: usize) -> Real {
        sigmoid(self.s.v_dend[i], self.c.e_d, self.c.neg_inv_d_d)
    }

    /// Steps 1–4 of spec/neurons.md §4 for every neuron (step 5, p_B, at the spikes), and the
    /// candidate flags of step 6, computed branch-free in the same loops so that they vectorise
    /// and the spike pass does not read the state columns again.
    ///
    /// Without NMDA, the dendrites and then the somata are integrated in two loops (the
    /// dendrites first, as their driving force may be the start-of-step V_s): each loop has
    /// fewer columns and constants live, which keeps them in registers. With NMDA, g_NMDA
    /// couples the halves in the order soma → dendrite, so one loop does both.
    #[inline(always)]
    fn integrate<const NMDA: bool>(&mut self) {
        let c = self.c;
        let n = self.s.v_soma.len();
        let vs = &mut self.s.v_soma[..n];
        let vd = &mut self.s.v_dend[..n];
        let th = &mut self.s.threshold[..n];
        let ws = &mut self.s.w_soma[..n];
        let wd = &mut self.s.w_dend[..n];
        let ges = &mut self.s.g_exc_soma[..n];
        let gis = &mut self.s.g_inh_soma[..n];
        let ged = &mut self.s.g_exc_dend[..n];
        let gid = &mut self.s.g_inh_dend[..n];
        let gn = &mut self.s.g_nmda[..n];
        let now = self.now;
        let refr = &self.refractory_until[..n];
        let burst = &self.burst_at[..n];
        let candidate = &mut self.candidate[..n];
        let candidate_of =
            |i: usize, s: Real, th: Real| (((s > th) & (now >= refr[i])) | (burst[i] == now)) as u8;
        if NMDA {
            for i in 0..n {
                let (s0, d0) = (vs[i], vd[i]);
                // 1. Synaptic currents from start-of-step values, then conductance decay.
                let [jes, jis, jed, jid] = synaptic_currents::<NMDA>(
                    &c,
                    s0,
                    d0,
                    &mut ges[i],
                    &mut gis[i],
                    &mut ged[i],
                    &mut gid[i],
                    &mut gn[i],
                );
                vd[i] = dendrite_step(&c, d0, jed, jid, &mut wd[i]);
                vs[i] = soma_step(&c, s0, jes, jis, &mut ws[i], &mut th[i]);
                candidate[i] = candidate_of(i, vs[i], th[i]);
            }
        } else {
            for i in 0..n {
                let d0 = vd[i];
                let v_q = driving_potential(&c, vs[i], d0);
                let [jed, jid] =
                    compartment_currents::<NMDA>(&c, v_q, &mut ged[i], &mut gid[i], &mut gn[i]);
                vd[i] = dendrite_step(&c, d0, jed, jid, &mut wd[i]);
            }
            for i in 0..n {
                let s0 = vs[i];
                let [jes, jis] =
                    compartment_currents::<NMDA>(&c, s0, &mut ges[i], &mut gis[i], &mut gn[i]);
                vs[i] = soma_step(&c, s0, jes, jis, &mut ws[i], &mut th[i]);
                candidate[i] = candidate_of(i, vs[i], th[i]);
            }
        }
    }

    /// One step for every neuron; inlined into both builds of `update` (see [`super::columns::has_avx2`]).
    #[inline(always)]
    fn step(&mut self, rng: &mut Rng, spikes: &mut Vec<u32>) {
        self.advance_clock();
        if self.c.a_nmda != 0.0 {
            self.integrate::<true>();
        } else {
            self.integrate::<false>();
        }
        // 6. Threshold spikes (which may start a burst) and second spikes of bursts.
        let c = &self.c;
        let n = self.s.v_soma.len();
        let (vs, vd, th, ws) = (
            &mut self.s.v_soma[..n],
            &self.s.v_dend[..n],
            &mut self.s.threshold[..n],
            &mut self.s.w_soma[..n],
        );
        let now = self.now;
        let (refr, burst) = (&mut self.refractory_until[..n], &mut self.burst_at[..n]);
        let candidate = &self.candidate[..n];
        for start in (0..n).step_by(SPIKE_BLOCK) {
            let end = (start + SPIKE_BLOCK).min(n);
            if candidate[start..end].iter().fold(0, |m, &f| m | f) == 0 {
                continue;
            }
            for i in start..end {
                if candidate[i] == 0 {
                    continue;
                }
                if vs[i] > th[i] && now >= refr[i] {
                    spikes.push(i as u32);
                    refr[i] = now + self.refractory_steps;
                    vs[i] = c.e_reset;
                    th[i] += c.threshold_jump;
                    ws[i] += 1.0;
                    // Both numbers are drawn at every threshold spike, as in the reference code.
                    let r1: f64 = rng.random();
                    let r2: f64 = rng.random();
                    // 5. p_B = f(V_d,new), needed only here.
                    if r1 < sigmoid(vd[i], c.e_d, c.neg_inv_d_d) as f64 {
                        // A counter m reaches 1 after m − 1 steps.
                        let m = (self.burst_min + (r2 * self.burst_range).floor()) as u32;
                        burst[i] = now + m - 1;
                    }
                } else {
                    // The other candidate: the second spike of a burst (counter at 1).
                    spikes.push(i as u32);
                    refr[i] = now + self.refractory_steps;
                }
            }
        }
    }
}

/// Steps 2–4 of spec/neurons.md §4 for one soma: V_s from its start-of-step value `s0` and
/// the synaptic currents `jes`, `jis` (V) (leak, w_s term, synaptic terms, in this order), then
/// the w_s decay and the θ relaxation. Returns the new V_s. The counters of step 3 count down
/// as the chunk's step number advances.
#[inline(always)]
fn soma_step(
    c: &TwoCompartmentConsts,
    s0: Real,
    jes: Real,
    jis: Real,
    ws: &mut Real,
    th: &mut Real,
) -> Real {
    let mut s = s0 + c.mul_soma * (c.e_l - s0);
    s += c.mul_wsoma * *ws;
    s += c.mul_soma * jes;
    s += c.mul_soma * jis;
    *ws *= c.scale_wsoma;
    *th += c.mul_theta * (c.theta_0 - *th);
    s
}

/// Steps 2 and 4 of spec/neurons.md §4 for one dendrite: V_d from `d0` and the currents `jed`,
/// `jid` (V) (leak, w_d term, synaptic terms; no coupling to the soma, no bAP), then w_d with
/// the new V_d. Returns the new V_d.
#[inline(always)]
fn dendrite_step(c: &TwoCompartmentConsts, d0: Real, jed: Real, jid: Real, wd: &mut Real) -> Real {
    let mut d = d0 + c.mul_dend * (c.e_l - d0);
    d += c.mul_wdend * *wd;
    d += c.mul_dend * jed;
    d += c.mul_dend * jid;
    *wd += c.mul_wdend_relax * ((d - c.e_l) - *wd);
    d
}

impl NeuronChunk for BurstPoissonChunk {
    fn len(&self) -> usize {
        self.s.v_soma.len()
    }

    update_with_avx2!(BurstPoissonChunk, step);

    fn conductance_mut(
        &mut self,
        compartment: Compartment,
        receptor: Receptor,
    ) -> Option<&mut [Real]> {
        Some(self.s.conductance_mut(compartment, receptor))
    }

    fn injection_mut(&mut self, compartment: Compartment) -> Option<(&mut [Real], Real)> {
        Some(self.s.injection_mut(compartment, &self.c))
    }

    fn state_names(&self) -> &'static [&'static str] {
        STATE_NAMES
    }

    fn state(&self, index: usize) -> &[Real] {
        self.s.column(index).unwrap_or(&[])
    }

    fn sample(&self, index: usize, i: usize) -> Real {
        match self.s.column(index) {
            Some(column) => column[i],
            None => self.burst_probability(i),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{stream, Purpose};

    const DT: f64 = 1e-4;

    fn model(toml_text: &str) -> Result<BurstPoisson> {
        let table: toml::Table = toml::from_str(toml_text).unwrap();
        let t = ParamTable::new("test.toml", "neuron", &table);
        let m = BurstPoisson::read(&t, DT)?;
        t.finish()?;
        Ok(m)
    }

    /// Spike steps of `n` neurons driven by constant currents (A), added in the device phase,
    /// with the burst probability in force at each spike.
    fn run(n: usize, steps: usize, i_soma: f64, i_dend: f64) -> Vec<Vec<(usize, f32)>> {
        run_from(0, n, steps, i_soma, i_dend)
    }

    /// [`run`] with the chunk's step counter starting at `now`.
    fn run_from(
        now: u32,
        n: usize,
        steps: usize,
        i_soma: f64,
        i_dend: f64,
    ) -> Vec<Vec<(usize, f32)>> {
        let m = model("").unwrap();
        let mut chunk = m.chunk(n, &mut stream(5, Purpose::Init, &[0]));
        chunk.now = now;
        let mut rng = stream(5, Purpose::Dynamics, &[0]);
        let mut spikes = Vec::new();
        let mut trains = vec![Vec::new(); n];
        let (ks, kd) = (chunk.c.dt_over_c_s, chunk.c.dt_over_c_d);
        for step in 0..steps {
            spikes.clear();
            chunk.update(&mut rng, &mut spikes);
            for &i in &spikes {
                trains[i as usize].push((step, chunk.burst_probability(i as usize)));
            }
            chunk
                .s
                .v_soma
                .iter_mut()
                .for_each(|v| *v += ks * i_soma as Real);
            chunk
                .s
                .v_dend
                .iter_mut()
                .for_each(|v| *v += kd * i_dend as Real);
        }
        trains
    }

    /// Inter-spike intervals in steps.
    fn isis(train: &[(usize, f32)]) -> Vec<usize> {
        train.windows(2).map(|w| w[1].0 - w[0].0).collect()
    }

    #[test]
    fn bursts_are_doublets_with_isis_from_4_9_to_14_8_ms() {
        // V_d ≈ E_L + 1.5 nA / (g_Ld + |a_wd|) ≈ −30 mV, so p_B ≈ 0.99: nearly every event bursts.
        let trains = run(200, 20_000, 600e-12, 1500e-12);
        let (mut lo, mut hi, mut bursts) = (usize::MAX, 0, 0);
        for train in &trains {
            let isi = isis(train);
            for (k, &d) in isi.iter().enumerate() {
                if d < 160 {
                    bursts += 1;
                    lo = lo.min(d);
                    hi = hi.max(d);
                    // Exact doublets: the interval after a burst is refractory-limited.
                    assert!(isi.get(k + 1).is_none_or(|&next| next >= 200), "triplet");
                }
            }
        }
        assert!(bursts > 1000, "{bursts} bursts");
        // The counter m ∈ [50, 149] gives an ISI of m − 1 steps.
        assert!(lo >= 49 && hi <= 148, "burst ISIs {lo}..{hi} steps");
        assert!(
            lo <= 51 && hi >= 146,
            "burst ISIs {lo}..{hi} steps cover the range"
        );
    }

    #[test]
    fn refractory_period_is_20_ms_after_every_spike() {
        // 3 nA drives V_s far above θ, so only the refractory period spaces the spikes; a
        // hyperpolarised dendrite (p_B ≈ 0) removes bursts.
        let trains = run(10, 10_000, 3e-9, -1e-9);
        for train in &trains {
            assert!(train.len() > 40);
            assert!(isis(train).iter().all(|&d| d == 200), "{:?}", isis(train));
        }
    }

    #[test]
    fn burst_fraction_follows_the_dendritic_sigmoid() {
        // 485 pA holds V_d near E_L + 485 pA / 37.3 nS ≈ −57 mV = E_d, so p_B ≈ 0.5, where the
        // binomial error is largest: a good test of the r₁ < p_B draw.
        let trains = run(1000, 15_000, 600e-12, 485e-12);
        let (mut events, mut bursts, mut p_sum) = (0usize, 0usize, 0.0f64);
        for train in &trains {
            for (k, &(step, p)) in train.iter().enumerate() {
                let first = k == 0 || step - train[k - 1].0 >= 160;
                if first && step >= 2_000 {
                    events += 1;
                    p_sum += p as f64;
                    bursts += train.get(k + 1).is_some_and(|n| n.0 - step < 160) as usize;
                }
            }
        }
        let p = p_sum / events as f64;
        let fraction = bursts as f64 / events as f64;
        let se = (p * (1.0 - p) / events as f64).sqrt();
        assert!((0.4..0.6).contains(&p), "mean p_B {p}");
        assert!(
            (fraction - p).abs() < 4.0 * se,
            "burst fraction {fraction}, p_B {p}, {events} events"
        );
    }

    #[test]
    fn counters_survive_the_clock_rebase() {
        // p_B ≈ 0.5 (see above): events, bursts and refractory periods straddle the rebase.
        let start = REBASE_AT - 3_000;
        assert_eq!(
            run_from(start, 300, 6_000, 600e-12, 485e-12),
            run(300, 6_000, 600e-12, 485e-12)
        );
    }

    #[test]
    fn bad_parameters_name_their_key() {
        let err = |text: &str| model(text).expect_err(text).to_string();
        assert!(err("refractory = \"-20 ms\"").contains("refractory"));
        assert!(err("burst_delay_min = \"0.1 ms\"").contains("burst_delay_min"));
        assert!(err("burst_delay_range = \"0.05 ms\"").contains("burst_delay_range"));
        assert!(err("refractory = \"200000 s\"").contains("refractory"));
        assert!(err("tau_wd = \"0 ms\"").contains("tau_wd"));
        assert!(err("g_s = \"1300 pA\"").contains("unknown key"));
    }
}
