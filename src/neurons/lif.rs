//! Conductance-based leaky integrate-and-fire neuron of the COBA benchmark (Vogels & Abbott
//! 2005; Brette et al. 2007, benchmark 1), with the step of Auryn's `TIFGroup`.
//!
//! ```text
//! τ_m dV/dt = (E_L − V) + g_E (E_exc − V) + g_I (E_inh − V)      (g in units of g_L)
//! spike when V > V_th: V ← V_reset, then V is held at V_reset for t_ref
//! ```
//!
//! Discrete step [AUR src/auryn/TIFGroup.cpp `evolve`]: a neuron that is not refractory takes
//! an Euler step with the start-of-step g, spikes if V > V_th (V ← V_reset, refractory ←
//! t_ref/dt); a refractory neuron counts down and is held at V_reset. Then the conductances
//! decay by e^(−dt/τ). The held neurons do not integrate, so the refractory period is exactly
//! t_ref/dt steps after the spike step.
//!
//! | parameter | unit | default | meaning |
//! |---|---|---|---|
//! | `g_l` | nS | 10 | leak conductance g_L (C = g_L τ_m = 200 pF) |
//! | `tau_m` | ms | 20 | membrane time constant |
//! | `e_l` | mV | −60 | resting potential |
//! | `v_th` | mV | −50 | spike threshold |
//! | `v_reset` | mV | −60 | reset and refractory clamp |
//! | `refractory` | ms | 5 | absolute refractory period (whole steps) |
//! | `e_exc`, `tau_exc` | mV, ms | 0, 5 | excitatory reversal potential and decay |
//! | `e_inh`, `tau_inh` | mV, ms | −80, 10 | inhibitory reversal potential and decay |
//! | `v_init`, `v_init_sd` | —, mV | `"rest"`, 5 | initial V: E_L or N(E_L, sd²) |
//!
//! Receives: soma × {excitatory, inhibitory}, weights in units of g_L. Current injection: soma (dt/C).
//! Recordable: `v` (V), `g_exc`, `g_inh` (units of g_L).
//!
//! References: Vogels & Abbott, J. Neurosci. 25:10786 (2005); Brette et al., J. Comput.
//! Neurosci. 23:349 (2007); [AUR src/auryn/TIFGroup.cpp, examples/sim_coba_benchmark.cpp].

use super::columns::{positive, update_with_avx2, whole_steps, VInit};
use super::{Compartment, ModelKind, NeuronChunk, NeuronModel, Receptor};
use crate::config::units::{Dim, ParamTable};
use crate::engine::rng::Rng;
use crate::error::Result;
use crate::Real;

/// Registry entry.
pub const KIND: ModelKind = ModelKind {
    name: "lif",
    description: "conductance-based leaky integrate-and-fire (COBA benchmark, Auryn TIFGroup)",
    read,
};

/// Validated parameters (SI).
#[derive(Clone, Debug)]
pub struct Lif {
    /// Leak conductance, S.
    pub g_l: f64,
    /// Membrane time constant, s.
    pub tau_m: f64,
    /// Resting potential, V.
    pub e_l: f64,
    /// Threshold, V.
    pub v_th: f64,
    /// Reset potential, V.
    pub v_reset: f64,
    /// Absolute refractory period, s.
    pub refractory: f64,
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

fn read(t: &ParamTable, dt: f64) -> Result<Box<dyn NeuronModel>> {
    Ok(Box::new(Lif::read(t, dt)?))
}

impl Lif {
    /// Reads the parameters for time step `dt` (s) and validates them.
    pub fn read(t: &ParamTable, dt: f64) -> Result<Self> {
        let time = |key: &str, default: f64| t.quantity(key, Dim::Time, Some(default));
        let volt = |key: &str, default: f64| t.quantity(key, Dim::Voltage, Some(default));
        let p = Lif {
            g_l: t.quantity("g_l", Dim::Conductance, Some(10e-9))?,
            tau_m: time("tau_m", 20e-3)?,
            e_l: volt("e_l", -60e-3)?,
            v_th: volt("v_th", -50e-3)?,
            v_reset: volt("v_reset", -60e-3)?,
            refractory: time("refractory", 5e-3)?,
            e_exc: volt("e_exc", 0.0)?,
            tau_exc: time("tau_exc", 5e-3)?,
            e_inh: volt("e_inh", -80e-3)?,
            tau_inh: time("tau_inh", 10e-3)?,
            v_init: VInit::read(t, "rest")?,
            refractory_steps: 0,
            dt,
        };
        let refractory_steps = p.validate(t)?;
        Ok(Lif {
            refractory_steps,
            ..p
        })
    }

    /// Checks every rule, one message per rule naming the key; returns the refractory steps.
    pub fn validate(&self, t: &ParamTable) -> Result<u32> {
        positive(t, "g_l", self.g_l)?;
        positive(t, "tau_m", self.tau_m)?;
        positive(t, "tau_exc", self.tau_exc)?;
        positive(t, "tau_inh", self.tau_inh)?;
        // A reset at or above threshold would make the held neuron spike at every step.
        if self.v_reset >= self.v_th {
            return Err(t.error("v_reset", "must be below v_th"));
        }
        whole_steps(t, "refractory", self.refractory, self.dt)
    }

    /// A chunk of `len` neurons: V from `v_init`, g = 0, not refractory.
    pub fn chunk(&self, len: usize, init_rng: &mut Rng) -> LifChunk {
        let dt = self.dt;
        LifChunk {
            e_l: self.e_l as Real,
            v_th: self.v_th as Real,
            v_reset: self.v_reset as Real,
            scale_mem: (dt / self.tau_m) as Real,
            e_exc: self.e_exc as Real,
            e_inh: self.e_inh as Real,
            scale_exc: super::decay(dt, self.tau_exc),
            scale_inh: super::decay(dt, self.tau_inh),
            dt_over_c: (dt / (self.g_l * self.tau_m)) as Real,
            refractory_steps: self.refractory_steps,
            v: self.v_init.column(len, self.e_l, init_rng),
            g_exc: vec![0.0; len],
            g_inh: vec![0.0; len],
            refractory: vec![0; len],
        }
    }
}

impl NeuronModel for Lif {
    fn build_chunk(&self, len: usize, init_rng: &mut Rng) -> Box<dyn NeuronChunk> {
        Box::new(self.chunk(len, init_rng))
    }
    fn compartments(&self) -> &'static [Compartment] {
        &[Compartment::Soma]
    }
    fn bytes_per_neuron(&self) -> usize {
        3 * std::mem::size_of::<Real>() + std::mem::size_of::<u32>()
    }
}

const STATE_NAMES: &[&str] = &["v", "g_exc", "g_inh"];

/// A chunk of LIF neurons: struct-of-arrays state and f32 step constants.
pub struct LifChunk {
    e_l: Real,
    v_th: Real,
    v_reset: Real,
    /// dt/τ_m.
    scale_mem: Real,
    e_exc: Real,
    e_inh: Real,
    scale_exc: Real,
    scale_inh: Real,
    dt_over_c: Real,
    refractory_steps: u32,
    /// Membrane potential, V.
    pub v: Vec<Real>,
    /// Synaptic conductances in units of g_L.
    pub g_exc: Vec<Real>,
    pub g_inh: Vec<Real>,
    /// Refractory counter, steps.
    refractory: Vec<u32>,
}

impl LifChunk {
    /// One step for every neuron; inlined into both builds of `update` (see [`super::columns::has_avx2`]).
    #[inline(always)]
    fn step(&mut self, _rng: &mut Rng, spikes: &mut Vec<u32>) {
        let n = self.v.len();
        let v = &mut self.v[..n];
        let ge = &mut self.g_exc[..n];
        let gi = &mut self.g_inh[..n];
        let refr = &mut self.refractory[..n];
        // Free neurons: V += (dt/τ_m)[(E_L − V) + g_E(E_exc − V) + g_I(E_inh − V)];
        // refractory ones count down and are held at V_reset. Then g ← g e^(−dt/τ).
        for i in 0..n {
            let v0 = v[i];
            let dv = (self.e_l - v0) + ge[i] * (self.e_exc - v0) + gi[i] * (self.e_inh - v0);
            let free = refr[i] == 0;
            v[i] = if free {
                v0 + dv * self.scale_mem
            } else {
                self.v_reset
            };
            refr[i] = refr[i].saturating_sub(1);
            ge[i] *= self.scale_exc;
            gi[i] *= self.scale_inh;
        }
        // Threshold pass; a held neuron sits at V_reset < V_th and cannot spike here.
        for i in 0..n {
            if v[i] > self.v_th {
                spikes.push(i as u32);
                v[i] = self.v_reset;
                refr[i] = self.refractory_steps;
            }
        }
    }
}

impl NeuronChunk for LifChunk {
    fn len(&self) -> usize {
        self.v.len()
    }

    update_with_avx2!(LifChunk, step);

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
            Compartment::Soma => Some((&mut self.v[..], self.dt_over_c)),
            Compartment::Dendrite => None,
        }
    }

    fn state_names(&self) -> &'static [&'static str] {
        STATE_NAMES
    }

    fn state(&self, index: usize) -> &[Real] {
        match index {
            0 => &self.v,
            1 => &self.g_exc,
            2 => &self.g_inh,
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{stream, Purpose};

    const DT: f64 = 1e-4;

    fn model(toml_text: &str) -> Result<Lif> {
        let table: toml::Table = toml::from_str(toml_text).unwrap();
        let t = ParamTable::new("test.toml", "neuron", &table);
        let m = Lif::read(&t, DT)?;
        t.finish()?;
        Ok(m)
    }

    /// Spike counts of neurons driven by the constant currents `currents` (A) for `steps` steps.
    fn counts(currents: &[f64], steps: usize) -> Vec<usize> {
        let m = model("").unwrap();
        let mut chunk = m.chunk(currents.len(), &mut stream(1, Purpose::Init, &[0]));
        let mut rng = stream(1, Purpose::Dynamics, &[0]);
        let mut spikes = Vec::new();
        let mut n = vec![0; currents.len()];
        for _ in 0..steps {
            spikes.clear();
            chunk.update(&mut rng, &mut spikes);
            spikes.iter().for_each(|&i| n[i as usize] += 1);
            let (v, k) = chunk.injection_mut(Compartment::Soma).unwrap();
            v.iter_mut()
                .zip(currents)
                .for_each(|(v, i)| *v += k * *i as Real);
        }
        n
    }

    #[test]
    fn onset_is_at_the_rheobase_of_the_discrete_map() {
        // The Euler map has the fixed point of the ODE, V* = E_L + I/g_L, but with the
        // device-phase injection (spec/neurons.md §6) the threshold sees V* − dt·I/C, so the
        // onset is g_L (V_th − E_L) / (1 − dt/τ_m) = 100.50 pA rather than 100 pA. Sweep
        // 95–105 pA in 0.25 pA for 2 s (the approach takes about τ_m ln(10 mV/δ) ≈ 0.1 s).
        let currents: Vec<f64> = (0..=40).map(|k| (95.0 + 0.25 * k as f64) * 1e-12).collect();
        let n = counts(&currents, 20_000);
        let onset = currents[n.iter().position(|&c| c > 0).unwrap()];
        let expected = 100e-12 / (1.0 - DT / 20e-3);
        assert!(
            onset > expected && onset <= expected + 0.25e-12,
            "onset {onset:e} A"
        );
        assert!(n.windows(2).all(|w| w[0] <= w[1]), "f–I curve is monotonic");
    }

    #[test]
    fn rate_at_200_pa_matches_the_analytic_isi() {
        // ISI = t_ref + τ_m ln((I/g_L) / (I/g_L − 10 mV)) = 5 ms + 20 ms ln 2 = 18.86 ms.
        let n = counts(&[200e-12], 100_000)[0] as f64 / 10.0;
        let expected = 1.0 / (5e-3 + 20e-3 * 2f64.ln());
        assert!(
            (n - expected).abs() < 0.02 * expected,
            "{n} Hz vs {expected} Hz"
        );
    }

    #[test]
    fn bad_parameters_name_their_key() {
        let err = |text: &str| model(text).expect_err(text).to_string();
        assert!(err("tau_m = \"-20 ms\"").contains("tau_m"));
        assert!(err("g_l = \"0 nS\"").contains("g_l"));
        assert!(err("v_reset = \"-40 mV\"").contains("v_reset"));
        assert!(err("refractory = \"5.01 ms\"").contains("refractory"));
    }
}
