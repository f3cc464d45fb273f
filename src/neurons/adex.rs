//! Adaptive exponential integrate-and-fire neuron with conductance synapses, with the exact
//! semantics of the Auryn fork used by Payeur et al. (PV and SST interneurons of [P21 Fig 3]).
//!
//! Equations (spec/neurons.md §5) [AUR src/auryn/AdExGroup.cpp]; conductances in units of g_L,
//! w̃ = w/g_L in volts:
//!
//! ```text
//! τ_m dV/dt = (E_L − V) + Δ_T exp((V − V_T)/Δ_T) + g_E (E_exc − V) + g_I (E_inh − V) − w̃
//! τ_w dw̃/dt = (a/g_L)(V − E_L) − w̃;      at a spike w̃ ← w̃ + b/g_L
//! ```
//!
//! Discrete step, in order (★ = Auryn-specific, kept on purpose):
//! 1. synaptic currents from the start-of-step g and V;
//! 2. Euler step of V with all terms, ★ exp(x) computed as (1 + x/256)^256;
//! 3. ★ V clipped to [`v_clip_min`, `v_clip_max`] = [−80, 20] mV;
//! 4. if not refractory and ★ V > `v_spike` (0 mV, not V_T): spike, V ← V_reset,
//!    w̃ += b/g_L, refractory ← t_ref; else if refractory: count down and ★ V ← E_L (not V_reset);
//! 5. w̃ += (dt/τ_w)((a/g_L)(V − E_L) − w̃) with the V after step 4;
//! 6. conductances decay by e^(−dt/τ).
//!
//! ★ Δ_T enters as given (volts): the fork's setter does not divide it by g_L as upstream
//! Auryn does. Because of the clamp, V_reset only acts through the w̃ update of the spike step.
//!
//! | parameter | unit | default (PV) | meaning |
//! |---|---|---|---|
//! | `g_l` | nS | 10 | leak conductance g_L |
//! | `tau_m` | ms | 10 | membrane time constant (C = g_L τ_m) |
//! | `e_l` | mV | −70 | resting potential, also the refractory clamp |
//! | `delta_t` | mV | 2 | slope factor Δ_T |
//! | `v_t` | mV | −48 | exponential threshold V_T |
//! | `a` | nS | 0 | subthreshold adaptation conductance |
//! | `b` | pA | 0 | spike-triggered adaptation current |
//! | `tau_w` | ms | 5 | adaptation time constant |
//! | `v_reset` | mV | −55 | potential on the spike step |
//! | `refractory` | ms | 1 | absolute refractory period (whole steps) |
//! | `v_spike` | mV | 0 | spike detection level |
//! | `v_clip_min`, `v_clip_max` | mV | −80, 20 | clip range of V after the Euler step |
//! | `e_exc`, `tau_exc` | mV, ms | 0, 5 | AMPA reversal potential and decay |
//! | `e_inh`, `tau_inh` | mV, ms | −80, 10 | GABA reversal potential and decay |
//! | `v_init`, `v_init_sd` | —, mV | `"random"`, 5 | initial V: E_L or N(E_L, sd²) |
//!
//! Receives: soma × {excitatory, inhibitory} (weights in units of g_L); no dendrite.
//! Current injection: soma, dt/C.
//!
//! Recordable: `v` (V), `w` (w̃, V), `g_exc`, `g_inh` (units of g_L).
//!
//! References: [AUR src/auryn/AdExGroup.cpp, AurynVector.h `fast_exp`], [SBP sim/sim_propagation.cpp
//! `fix_parameters_pv_neurons`, `fix_parameters_som_neurons`], spec/neurons.md §5.

use super::columns::{positive, update_with_avx2, whole_steps, VInit};
use super::{Compartment, ModelKind, NeuronChunk, NeuronModel, Receptor};
use crate::config::units::{require_non_negative, Dim, ParamTable};
use crate::engine::rng::Rng;
use crate::error::Result;
use crate::Real;

/// Registry entry.
pub const KIND: ModelKind = ModelKind {
    name: "adex",
    description: "adaptive exponential IF, conductance synapses (Auryn AdExGroup fork semantics)",
    read,
};

/// Validated parameters (SI).
#[derive(Clone, Debug)]
pub struct Adex {
    /// Leak conductance, S.
    pub g_l: f64,
    /// Membrane time constant, s.
    pub tau_m: f64,
    /// Resting potential, V.
    pub e_l: f64,
    /// Slope factor, V.
    pub delta_t: f64,
    /// Exponential threshold, V.
    pub v_t: f64,
    /// Subthreshold adaptation, S.
    pub a: f64,
    /// Spike-triggered adaptation, A.
    pub b: f64,
    /// Adaptation time constant, s.
    pub tau_w: f64,
    /// Reset potential, V.
    pub v_reset: f64,
    /// Absolute refractory period, s.
    pub refractory: f64,
    /// Spike detection level, V.
    pub v_spike: f64,
    /// Clip range of V, V.
    pub v_clip_min: f64,
    pub v_clip_max: f64,
    /// Reversal potentials (V) and decay time constants (s) of the synapses.
    pub e_exc: f64,
    pub tau_exc: f64,
    pub e_inh: f64,
    pub tau_inh: f64,
    /// Initial membrane potential.
    pub v_init: VInit,
    /// Derived: the refractory period in steps, and the time step (s).
    refractory_steps: u32,
    dt: f64,
}

/// Per-step constants in f32.
#[derive(Clone, Copy, Debug)]
struct AdexConsts {
    e_l: Real,
    v_t: Real,
    delta_t: Real,
    inv_delta_t: Real,
    /// dt/τ_m, dt/τ_w.
    scale_mem: Real,
    scale_w: Real,
    /// a/g_L (dimensionless), b/g_L (V).
    a: Real,
    b: Real,
    v_reset: Real,
    v_spike: Real,
    v_clip_min: Real,
    v_clip_max: Real,
    e_exc: Real,
    e_inh: Real,
    scale_exc: Real,
    scale_inh: Real,
    dt_over_c: Real,
}

fn read(t: &ParamTable, dt: f64) -> Result<Box<dyn NeuronModel>> {
    Ok(Box::new(Adex::read(t, dt)?))
}

impl Adex {
    /// Reads the parameters for time step `dt` (s) and validates them.
    pub fn read(t: &ParamTable, dt: f64) -> Result<Self> {
        let time = |key: &str, default: f64| t.quantity(key, Dim::Time, Some(default));
        let volt = |key: &str, default: f64| t.quantity(key, Dim::Voltage, Some(default));
        let p = Adex {
            g_l: t.quantity("g_l", Dim::Conductance, Some(10e-9))?,
            tau_m: time("tau_m", 10e-3)?,
            e_l: volt("e_l", -70e-3)?,
            delta_t: volt("delta_t", 2e-3)?,
            v_t: volt("v_t", -48e-3)?,
            a: t.quantity("a", Dim::Conductance, Some(0.0))?,
            b: t.quantity("b", Dim::Current, Some(0.0))?,
            tau_w: time("tau_w", 5e-3)?,
            v_reset: volt("v_reset", -55e-3)?,
            refractory: time("refractory", 1e-3)?,
            v_spike: volt("v_spike", 0.0)?,
            v_clip_min: volt("v_clip_min", -80e-3)?,
            v_clip_max: volt("v_clip_max", 20e-3)?,
            e_exc: volt("e_exc", 0.0)?,
            tau_exc: time("tau_exc", 5e-3)?,
            e_inh: volt("e_inh", -80e-3)?,
            tau_inh: time("tau_inh", 10e-3)?,
            v_init: VInit::read(t, "random")?,
            refractory_steps: 0,
            dt,
        };
        let refractory_steps = p.validate(t)?;
        Ok(Adex {
            refractory_steps,
            ..p
        })
    }

    /// Checks every rule, one message per rule naming the key; returns the refractory steps.
    pub fn validate(&self, t: &ParamTable) -> Result<u32> {
        positive(t, "g_l", self.g_l)?;
        positive(t, "tau_m", self.tau_m)?;
        positive(t, "delta_t", self.delta_t)?;
        require_non_negative(t, "a", self.a, false)?;
        positive(t, "tau_w", self.tau_w)?;
        positive(t, "tau_exc", self.tau_exc)?;
        positive(t, "tau_inh", self.tau_inh)?;
        if self.v_clip_max <= self.v_clip_min {
            return Err(t.error("v_clip_max", "must be above v_clip_min"));
        }
        if self.v_spike >= self.v_clip_max {
            return Err(t.error(
                "v_spike",
                "must be below v_clip_max, otherwise the clipped potential never crosses it",
            ));
        }
        whole_steps(t, "refractory", self.refractory, self.dt)
    }

    /// The per-step constants for the time step the parameters were read for.
    fn consts(&self) -> AdexConsts {
        let dt = self.dt;
        AdexConsts {
            e_l: self.e_l as Real,
            v_t: self.v_t as Real,
            delta_t: self.delta_t as Real,
            inv_delta_t: (1.0 / self.delta_t) as Real,
            scale_mem: (dt / self.tau_m) as Real,
            scale_w: (dt / self.tau_w) as Real,
            a: (self.a / self.g_l) as Real,
            b: (self.b / self.g_l) as Real,
            v_reset: self.v_reset as Real,
            v_spike: self.v_spike as Real,
            v_clip_min: self.v_clip_min as Real,
            v_clip_max: self.v_clip_max as Real,
            e_exc: self.e_exc as Real,
            e_inh: self.e_inh as Real,
            scale_exc: super::decay(dt, self.tau_exc),
            scale_inh: super::decay(dt, self.tau_inh),
            dt_over_c: (dt / (self.g_l * self.tau_m)) as Real,
        }
    }

    /// A chunk of `len` neurons: V from `v_init`, w̃ = 0, g = 0, not refractory.
    pub fn chunk(&self, len: usize, init_rng: &mut Rng) -> AdexChunk {
        AdexChunk {
            c: self.consts(),
            refractory_steps: self.refractory_steps,
            v: self.v_init.column(len, self.e_l, init_rng),
            w: vec![0.0; len],
            g_exc: vec![0.0; len],
            g_inh: vec![0.0; len],
            refractory: vec![0; len],
        }
    }
}

impl NeuronModel for Adex {
    fn build_chunk(&self, len: usize, init_rng: &mut Rng) -> Box<dyn NeuronChunk> {
        Box::new(self.chunk(len, init_rng))
    }
    fn compartments(&self) -> &'static [Compartment] {
        &[Compartment::Soma]
    }
    fn bytes_per_neuron(&self) -> usize {
        4 * std::mem::size_of::<Real>() + std::mem::size_of::<u32>()
    }
}

/// Auryn's `fast_exp256`: exp(x) ≈ (1 + x/256)^256 by eight squarings [AUR AurynVector.h].
#[inline(always)]
fn fast_exp256(x: Real) -> Real {
    let mut y = 1.0 + x * (1.0 / 256.0);
    for _ in 0..8 {
        y *= y;
    }
    y
}

const STATE_NAMES: &[&str] = &["v", "w", "g_exc", "g_inh"];

/// A chunk of AdEx neurons: struct-of-arrays state.
pub struct AdexChunk {
    c: AdexConsts,
    refractory_steps: u32,
    /// Membrane potential V, V.
    pub v: Vec<Real>,
    /// Adaptation w̃ = w/g_L, V.
    pub w: Vec<Real>,
    /// Synaptic conductances in units of g_L.
    pub g_exc: Vec<Real>,
    pub g_inh: Vec<Real>,
    /// Refractory counter, steps.
    refractory: Vec<u32>,
}

impl AdexChunk {
    /// One step for every neuron; inlined into both builds of `update` (see [`super::columns::has_avx2`]).
    #[inline(always)]
    fn step(&mut self, _rng: &mut Rng, spikes: &mut Vec<u32>) {
        let c = self.c;
        let n = self.v.len();
        let v = &mut self.v[..n];
        let w = &mut self.w[..n];
        let ge = &self.g_exc[..n];
        let gi = &self.g_inh[..n];
        // Steps 1–3: V += (dt/τ_m)[Δ_T e256((V − V_T)/Δ_T) + (E_L − V) + g_E(E_exc − V)
        //                          + g_I(E_inh − V) − w̃], then clip; terms summed in Auryn's order.
        for i in 0..n {
            let v0 = v[i];
            let mut total = fast_exp256((v0 - c.v_t) * c.inv_delta_t) * c.delta_t;
            total += c.e_l - v0;
            total += (c.e_exc - v0) * ge[i];
            total += (c.e_inh - v0) * gi[i];
            total -= w[i];
            v[i] = (v0 + c.scale_mem * total)
                .max(c.v_clip_min)
                .min(c.v_clip_max);
        }
        // Step 4: spike at V > v_spike unless refractory; refractory neurons are held at E_L.
        let refr = &mut self.refractory[..n];
        for i in 0..n {
            if refr[i] == 0 {
                if v[i] > c.v_spike {
                    spikes.push(i as u32);
                    v[i] = c.v_reset;
                    w[i] += c.b;
                    refr[i] = self.refractory_steps;
                }
            } else {
                refr[i] -= 1;
                v[i] = c.e_l;
            }
        }
        // Steps 5–6: w̃ += (dt/τ_w)((a/g_L)(V − E_L) − w̃) with the V after step 4; g ← g e^(−dt/τ).
        let ge = &mut self.g_exc[..n];
        let gi = &mut self.g_inh[..n];
        for i in 0..n {
            w[i] += c.scale_w * ((v[i] - c.e_l) * c.a - w[i]);
            ge[i] *= c.scale_exc;
            gi[i] *= c.scale_inh;
        }
    }
}

impl NeuronChunk for AdexChunk {
    fn len(&self) -> usize {
        self.v.len()
    }

    update_with_avx2!(AdexChunk, step);

    fn conductance_mut(
        &mut self,
        compartment: Compartment,
        receptor: Receptor,
    ) -> Option<&mut [Real]> {
        match (compartment, receptor) {
            (Compartment::Soma, Receptor::Excitatory) => Some(&mut self.g_exc),
            (Compartment::Soma, Receptor::Inhibitory) => Some(&mut self.g_inh),
            (Compartment::Dendrite, _) => None,
        }
    }

    fn injection_mut(&mut self, compartment: Compartment) -> Option<(&mut [Real], Real)> {
        match compartment {
            Compartment::Soma => Some((&mut self.v[..], self.c.dt_over_c)),
            Compartment::Dendrite => None,
        }
    }

    fn state_names(&self) -> &'static [&'static str] {
        STATE_NAMES
    }

    fn state(&self, index: usize) -> &[Real] {
        match index {
            0 => &self.v,
            1 => &self.w,
            2 => &self.g_exc,
            3 => &self.g_inh,
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{stream, Purpose};

    const DT: f64 = 1e-4;

    fn model(toml_text: &str) -> Result<Adex> {
        let table: toml::Table = toml::from_str(toml_text).unwrap();
        let t = ParamTable::new("test.toml", "neuron", &table);
        let m = Adex::read(&t, DT)?;
        t.finish()?;
        Ok(m)
    }

    #[test]
    fn fast_exp256_matches_auryn() {
        assert_eq!(fast_exp256(0.0), 1.0);
        let x: f32 = 2.0;
        let expected = (1.0 + x as f64 / 256.0).powi(256);
        assert!((fast_exp256(x) as f64 / expected - 1.0).abs() < 1e-5);
        // It underestimates e^x by about x²/512 in relative terms.
        assert!(fast_exp256(x) < x.exp());
    }

    #[test]
    fn spike_is_detected_at_0_mv_not_at_v_t_then_v_is_held_at_e_l() {
        // PV defaults: V_T = −48 mV, V_reset = −55 mV, E_L = −70 mV, t_ref = 1 ms.
        let m = model("v_init = \"rest\"").unwrap();
        let mut chunk = m.chunk(1, &mut stream(1, Purpose::Init, &[0]));
        chunk.v[0] = -40e-3;
        let mut rng = stream(1, Purpose::Dynamics, &[0]);
        let mut spikes = Vec::new();
        let mut above_v_t = 0;
        let mut trace = Vec::new();
        for _ in 0..200 {
            spikes.clear();
            chunk.update(&mut rng, &mut spikes);
            trace.push((chunk.v[0], !spikes.is_empty()));
            if spikes.is_empty() && chunk.v[0] > -48e-3 {
                above_v_t += 1;
            }
            assert!(chunk.v[0] <= 0.0 || !spikes.is_empty());
            // Device phase: 100 pA adds dt·I/C = 0.1 mV, so a free neuron leaves E_L.
            let (v, k) = chunk.injection_mut(Compartment::Soma).unwrap();
            v[0] += k * 100e-12;
        }
        assert!(
            above_v_t >= 3,
            "V passes V_T without a spike for several steps"
        );
        let first = trace.iter().position(|s| s.1).expect("a spike");
        // Hand computation of the first step from −40 mV: dV = 0.01 (2 mV e^4 − 30 mV).
        let v1 = -40e-3 + 0.01 * (2e-3 * (1.0 + 4.0f64 / 256.0).powi(256) - 30e-3);
        assert!(
            (trace[0].0 as f64 - v1).abs() < 1e-7,
            "{} vs {v1}",
            trace[0].0
        );
        assert_eq!(trace[first].0, -55e-3, "V_reset on the spike step");
        assert!(
            trace[first + 1..=first + 10].iter().all(|s| s.0 == -70e-3),
            "held at E_L"
        );
        assert!(trace[first + 11].0 > -70e-3, "free again after 10 steps");
        assert!(trace.iter().filter(|s| s.1).count() == 1);
    }

    #[test]
    fn membrane_is_clipped_to_minus_80_and_plus_20_mv() {
        let m = model("v_init = \"rest\"").unwrap();
        let mut chunk = m.chunk(2, &mut stream(1, Purpose::Init, &[0]));
        // An injected current can leave V anywhere; the clip brings it back after the Euler step.
        chunk.v[0] = -0.2;
        // At +1 V, (1 + x/256)^256 overflows to infinity; the clip to +20 mV keeps V finite,
        // and +20 mV is above the detection level, so the neuron spikes and resets.
        chunk.v[1] = 1.0;
        let mut spikes = Vec::new();
        chunk.update(&mut stream(1, Purpose::Dynamics, &[0]), &mut spikes);
        assert_eq!(chunk.v[0], -80e-3);
        assert_eq!(spikes, [1]);
        assert_eq!(chunk.v[1], -55e-3);
        assert!(chunk.w.iter().all(|w| w.is_finite()));
    }

    #[test]
    fn adaptation_jumps_by_b_over_g_l() {
        let m = model(
            "v_init = \"rest\"\ng_l = \"5 nS\"\na = \"0.5 nS\"\nb = \"10 pA\"\ntau_w = \"500 ms\"",
        )
        .unwrap();
        let mut chunk = m.chunk(1, &mut stream(1, Purpose::Init, &[0]));
        chunk.v[0] = -20e-3;
        let mut spikes = Vec::new();
        chunk.update(&mut stream(1, Purpose::Dynamics, &[0]), &mut spikes);
        assert_eq!(spikes, [0]);
        // w̃ = b/g_L = 2 mV, then one Euler step with V = V_reset = −55 mV: (dt/τ_w)(0.1·15 mV − 2 mV).
        let w = 2e-3 + 1e-4 / 0.5 * (0.1 * 15e-3 - 2e-3);
        assert!((chunk.w[0] as f64 - w).abs() < 1e-9, "{}", chunk.w[0]);
    }

    #[test]
    fn bad_parameters_name_their_key() {
        let err = |text: &str| model(text).expect_err(text).to_string();
        assert!(err("g_l = \"-1 nS\"").contains("g_l"));
        assert!(err("delta_t = \"0 mV\"").contains("delta_t"));
        assert!(err("tau_w = \"0 ms\"").contains("tau_w"));
        assert!(err("refractory = \"1.05 ms\"").contains("refractory"));
        assert!(err("v_spike = \"30 mV\"").contains("v_spike"));
        assert!(err("v_clip_max = \"-90 mV\"").contains("v_clip_max"));
    }
}
