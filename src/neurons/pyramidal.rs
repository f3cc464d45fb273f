//! Two-compartment bursting pyramidal neuron (Auryn `NaudGroup`), the default model of
//! [P21 Figs 2E–G, 3, S5, S10, S11], and its Naud & Sprekeler (2018) variant.
//!
//! Equations (spec/neurons.md §2.1) [AUR NaudGroup.cpp; NS18]:
//!
//! ```text
//! C_s dV_s/dt  = −(C_s/τ_s)(V_s − E_L) + g_s f(V_d) + b_ws w_s + g_Ls Σ_x g_x^s (E_x − V_s) + I_s
//! C_d dV_d/dt  = −(C_d/τ_d)(V_d − E_L) + g_d f(V_d) + a_wd w_d + c_d K(t) + g_Ld Σ_x g_x^d (E_x − V_q) + I_d
//! dw_s/dt      = −w_s/τ_ws + Σ_k δ(t − t_k)
//! τ_wd dw_d/dt = (V_d − E_L) − w_d
//! dθ/dt        = (θ_0 − θ)/τ_θ
//! f(V)         = 1 / (1 + exp(−(V − E_d)/D_d))
//! spike when V_s > θ: V_s ← E_reset, θ ← θ + Δθ, w_s ← w_s + 1, K = 1 for the next 2 ms
//! ```
//!
//! The discrete step is the one of spec/neurons.md §2.3, in that order: synaptic currents from
//! the start-of-step values then conductance decay; f(V_d); soma leak, adaptation and coupling;
//! dendrite leak, adaptation and regenerative term; bAP box; synaptic terms; w_s decay; w_d
//! Euler step with the new V_d; θ relaxation; spike check. Every addition is a separate f32
//! operation in Auryn's order, so the arithmetic matches Auryn's vector code.
//!
//! Variant `ns2018` (spec §3) changes only defaults: fixed threshold (Δθ = 0), 2-ms absolute
//! refractory period during which V_s is held at E_reset, a bAP box delayed by 0.5 ms, and the
//! dendritic driving force from V_d (inferred). Each can still be set explicitly.
//!
//! | parameter | unit | default | meaning |
//! |---|---|---|---|
//! | `variant` | — | `"auryn"` | `"auryn"` (§2) or `"ns2018"` (§3): sets the defaults marked † |
//! | `e_l` | mV | −70 | resting potential E_L of both compartments |
//! | `e_reset` | mV | −70 | somatic reset E_reset |
//! | `tau_s`, `c_s` | ms, pF | 16, 370 | somatic time constant and capacitance (g_Ls = C_s/τ_s) |
//! | `tau_d`, `c_d` | ms, pF | 7, 170 | dendritic time constant and capacitance (g_Ld = C_d/τ_d) |
//! | `g_s` | pA | 1300 | dendrite → soma drive amplitude |
//! | `g_d` | pA | 1200 | regenerative dendritic current amplitude |
//! | `bap_amplitude` | pA | 2600 | back-propagating AP box current c_d |
//! | `bap_duration` | ms | 2 | box length (whole steps) |
//! | `bap_delay` | ms | 0 † 0.5 | box start after the spike (whole steps) |
//! | `e_d`, `d_d` | mV | −38, 6 | centre and width of the dendritic sigmoid f |
//! | `b_ws`, `tau_ws` | pA, ms | −200, 100 | somatic spike-triggered adaptation per unit w_s |
//! | `a_wd`, `tau_wd` | nS, ms | −13, 30 | dendritic subthreshold adaptation |
//! | `theta_0`, `tau_theta` | mV, ms | −50, 27 | threshold at rest and its relaxation |
//! | `threshold_jump` | mV | 2 † 0 | threshold increase Δθ per spike |
//! | `refractory` | ms | 0 † 2 | absolute refractory period, V_s held at E_reset (whole steps) |
//! | `e_exc`, `tau_exc` | mV, ms | 0, 5 | AMPA reversal potential and decay |
//! | `e_inh`, `tau_inh` | mV, ms | −80, 10 | GABA reversal potential and decay |
//! | `tau_nmda` | ms | 100 | NMDA filter of the `ampa_nmda_5050` mix |
//! | `dendritic_driving_force` | — | `"somatic"` † `"dendritic"` | V_q of the dendritic synapses: V_s (Auryn) or V_d |
//! | `excitatory_synapse_mix` | — | `"ampa_only"` | or `"ampa_nmda_5050"` (spec/synapses.md §1.3) |
//! | `v_init` | — | `"rest"` | initial V_s: `"rest"` (E_L) or `"random"` N(E_L, sd²) |
//! | `v_init_sd` | mV | 5 | sd of the random initial V_s |
//! | `w_dend_init` | mV | 0.1 | initial w_d [AUR NaudGroup::clear] |
//!
//! Receives: soma × {excitatory, inhibitory}, dendrite × {excitatory, inhibitory}; weights are
//! in units of that compartment's leak conductance and enter as (dt/τ)·g·(E − V).
//! Current injection: soma (dt/C_s), dendrite (dt/C_d).
//!
//! Recordable: `v_soma` (V), `v_dend` (V), `threshold` (V), `w_soma` (spike count, decaying),
//! `w_dend` (V), `g_exc_soma`, `g_inh_soma`, `g_exc_dend`, `g_inh_dend`, `g_nmda` (units of g_L).
//!
//! References: [AUR NaudGroup.cpp, LinearComboSynapse.cpp, ExpCobaSynapse.cpp], [P21 Methods],
//! [NS18 via re-implementations], spec/neurons.md §2–3, spec/synapses.md §1.

use super::columns::{positive, sigmoid, update_with_avx2, whole_steps, VInit};
use super::{Compartment, ModelKind, NeuronChunk, NeuronModel, Receptor};
use crate::config::units::{require_non_negative, Dim, ParamTable};
use crate::engine::rng::Rng;
use crate::error::Result;
use crate::Real;

/// Registry entry.
pub const KIND: ModelKind = ModelKind {
    name: "pyramidal",
    description: "two-compartment bursting pyramidal neuron (Auryn NaudGroup; variant ns2018)",
    read,
};

/// Parameters shared by the pyramidal and BurstPoisson models (SI units).
/// [AUR NaudGroup::init; SBP BurstPoissonGroup.cpp]
#[derive(Clone, Debug)]
pub struct TwoCompartmentParams {
    /// Resting potential of both compartments, V.
    pub e_l: f64,
    /// Somatic reset potential, V.
    pub e_reset: f64,
    /// Somatic membrane time constant, s.
    pub tau_s: f64,
    /// Somatic capacitance, F.
    pub c_s: f64,
    /// Dendritic membrane time constant, s.
    pub tau_d: f64,
    /// Dendritic capacitance, F.
    pub c_d: f64,
    /// Centre of the dendritic sigmoid, V.
    pub e_d: f64,
    /// Width of the dendritic sigmoid, V.
    pub d_d: f64,
    /// Somatic adaptation current per unit of w_s, A (negative: hyperpolarising).
    pub b_ws: f64,
    /// Somatic adaptation time constant, s.
    pub tau_ws: f64,
    /// Dendritic adaptation conductance, S (negative: hyperpolarising).
    pub a_wd: f64,
    /// Dendritic adaptation time constant, s.
    pub tau_wd: f64,
    /// Threshold at rest, V.
    pub theta_0: f64,
    /// Threshold relaxation time constant, s.
    pub tau_theta: f64,
    /// Threshold jump per spike, V.
    pub threshold_jump: f64,
    /// Excitatory (AMPA) reversal potential, V, and decay time constant, s.
    pub e_exc: f64,
    pub tau_exc: f64,
    /// Inhibitory (GABA) reversal potential, V, and decay time constant, s.
    pub e_inh: f64,
    pub tau_inh: f64,
    /// NMDA filter time constant of the AMPA/NMDA mix, s.
    pub tau_nmda: f64,
    /// Whether the dendritic synapses use V_d (true) or, as Auryn, V_s (false) for their driving force.
    pub dendritic_driving_force: bool,
    /// Whether excitatory synapses are the 50/50 AMPA/NMDA mix of spec/synapses.md §1.3.
    pub nmda_mix: bool,
    /// Initial somatic potential.
    pub v_init: VInit,
    /// Initial dendritic adaptation w_d, V.
    pub w_dend_init: f64,
}

impl TwoCompartmentParams {
    /// Reads and validates the shared keys; `e_d`, `threshold_jump` and the driving force have
    /// model-specific defaults.
    pub fn read(
        t: &ParamTable,
        e_d: f64,
        threshold_jump: f64,
        driving_force: &str,
    ) -> Result<Self> {
        let w_dend_init = t.quantity("w_dend_init", Dim::Voltage, Some(1e-4))?;
        let mix = t.choice(
            "excitatory_synapse_mix",
            &["ampa_only", "ampa_nmda_5050"],
            Some("ampa_only"),
        )?;
        let drive = t.choice(
            "dendritic_driving_force",
            &["somatic", "dendritic"],
            Some(driving_force),
        )?;
        let time = |key: &str, default: f64| t.quantity(key, Dim::Time, Some(default));
        let p = TwoCompartmentParams {
            e_l: t.quantity("e_l", Dim::Voltage, Some(-70e-3))?,
            e_reset: t.quantity("e_reset", Dim::Voltage, Some(-70e-3))?,
            tau_s: time("tau_s", 16e-3)?,
            c_s: t.quantity("c_s", Dim::Capacitance, Some(370e-12))?,
            tau_d: time("tau_d", 7e-3)?,
            c_d: t.quantity("c_d", Dim::Capacitance, Some(170e-12))?,
            e_d: t.quantity("e_d", Dim::Voltage, Some(e_d))?,
            d_d: t.quantity("d_d", Dim::Voltage, Some(6e-3))?,
            b_ws: t.quantity("b_ws", Dim::Current, Some(-200e-12))?,
            tau_ws: time("tau_ws", 100e-3)?,
            a_wd: t.quantity("a_wd", Dim::Conductance, Some(-13e-9))?,
            tau_wd: time("tau_wd", 30e-3)?,
            theta_0: t.quantity("theta_0", Dim::Voltage, Some(-50e-3))?,
            tau_theta: time("tau_theta", 27e-3)?,
            threshold_jump: t.quantity("threshold_jump", Dim::Voltage, Some(threshold_jump))?,
            e_exc: t.quantity("e_exc", Dim::Voltage, Some(0.0))?,
            tau_exc: time("tau_exc", 5e-3)?,
            e_inh: t.quantity("e_inh", Dim::Voltage, Some(-80e-3))?,
            tau_inh: time("tau_inh", 10e-3)?,
            tau_nmda: time("tau_nmda", 100e-3)?,
            dendritic_driving_force: drive == "dendritic",
            nmda_mix: mix == "ampa_nmda_5050",
            v_init: VInit::read(t, "rest")?,
            w_dend_init,
        };
        p.validate(t)?;
        Ok(p)
    }

    /// Checks every rule on the shared parameters, one message per rule, naming the key.
    pub fn validate(&self, t: &ParamTable) -> Result<()> {
        positive(t, "tau_s", self.tau_s)?;
        positive(t, "c_s", self.c_s)?;
        positive(t, "tau_d", self.tau_d)?;
        positive(t, "c_d", self.c_d)?;
        positive(t, "d_d", self.d_d)?;
        positive(t, "tau_ws", self.tau_ws)?;
        positive(t, "tau_wd", self.tau_wd)?;
        positive(t, "tau_theta", self.tau_theta)?;
        positive(t, "tau_exc", self.tau_exc)?;
        positive(t, "tau_inh", self.tau_inh)?;
        positive(t, "tau_nmda", self.tau_nmda)?;
        require_non_negative(t, "threshold_jump", self.threshold_jump, false)
    }

    /// The per-step constants for time step `dt` (s).
    pub fn consts(&self, dt: f64) -> TwoCompartmentConsts {
        let (a_ampa, a_nmda) = if self.nmda_mix {
            (0.5, 0.5)
        } else {
            (1.0, 0.0)
        };
        TwoCompartmentConsts {
            e_l: self.e_l as Real,
            e_reset: self.e_reset as Real,
            mul_soma: (dt / self.tau_s) as Real,
            mul_wsoma: (dt * self.b_ws / self.c_s) as Real,
            mul_dend: (dt / self.tau_d) as Real,
            mul_wdend: (dt * self.a_wd / self.c_d) as Real,
            scale_wsoma: super::decay(dt, self.tau_ws),
            mul_wdend_relax: (dt / self.tau_wd) as Real,
            mul_theta: (dt / self.tau_theta) as Real,
            theta_0: self.theta_0 as Real,
            threshold_jump: self.threshold_jump as Real,
            e_d: self.e_d as Real,
            neg_inv_d_d: -((1.0 / self.d_d) as Real),
            e_exc: self.e_exc as Real,
            e_inh: self.e_inh as Real,
            scale_exc: super::decay(dt, self.tau_exc),
            scale_inh: super::decay(dt, self.tau_inh),
            a_ampa,
            a_nmda,
            mul_nmda: (1.0 - (-dt / self.tau_nmda).exp()) as Real,
            dendritic_driving_force: self.dendritic_driving_force,
            dt_over_c_s: (dt / self.c_s) as Real,
            dt_over_c_d: (dt / self.c_d) as Real,
        }
    }
}

/// The state columns shared by the two-compartment models (pyramidal, BurstPoisson), with the
/// accessors the engine uses; each model keeps its own counters beside them.
#[derive(Clone, Debug)]
pub struct TwoCompartmentState {
    /// Somatic membrane potential V_s, V.
    pub v_soma: Vec<Real>,
    /// Dendritic membrane potential V_d, V.
    pub v_dend: Vec<Real>,
    /// Moving threshold θ, V.
    pub threshold: Vec<Real>,
    /// Somatic adaptation variable w_s, dimensionless (decaying spike count).
    pub w_soma: Vec<Real>,
    /// Dendritic adaptation variable w_d, V.
    pub w_dend: Vec<Real>,
    /// Synaptic conductances in units of the compartment's leak conductance.
    pub g_exc_soma: Vec<Real>,
    pub g_inh_soma: Vec<Real>,
    pub g_exc_dend: Vec<Real>,
    pub g_inh_dend: Vec<Real>,
    /// NMDA conductance shared by both excitatory synapses (zero unless the mix is on).
    pub g_nmda: Vec<Real>,
}

impl TwoCompartmentState {
    /// Names of the columns, in the order of [`TwoCompartmentState::column`].
    pub const NAMES: [&'static str; 10] = [
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
    ];

    /// `len` neurons in the initial state of spec/neurons.md §2.4.
    pub fn new(b: &TwoCompartmentParams, len: usize, init_rng: &mut Rng) -> Self {
        let zeros = vec![0.0; len];
        TwoCompartmentState {
            v_soma: b.v_init.column(len, b.e_l, init_rng),
            v_dend: vec![b.e_l as Real; len],
            threshold: vec![b.theta_0 as Real; len],
            w_soma: zeros.clone(),
            w_dend: vec![b.w_dend_init as Real; len],
            g_exc_soma: zeros.clone(),
            g_inh_soma: zeros.clone(),
            g_exc_dend: zeros.clone(),
            g_inh_dend: zeros.clone(),
            g_nmda: zeros,
        }
    }

    /// The conductance column of (compartment, receptor).
    pub fn conductance_mut(&mut self, compartment: Compartment, receptor: Receptor) -> &mut [Real] {
        match (compartment, receptor) {
            (Compartment::Soma, Receptor::Excitatory) => &mut self.g_exc_soma,
            (Compartment::Soma, Receptor::Inhibitory) => &mut self.g_inh_soma,
            (Compartment::Dendrite, Receptor::Excitatory) => &mut self.g_exc_dend,
            (Compartment::Dendrite, Receptor::Inhibitory) => &mut self.g_inh_dend,
        }
    }

    /// The membrane column of `compartment` and dt/C for current injection.
    pub fn injection_mut(
        &mut self,
        compartment: Compartment,
        c: &TwoCompartmentConsts,
    ) -> (&mut [Real], Real) {
        match compartment {
            Compartment::Soma => (&mut self.v_soma[..], c.dt_over_c_s),
            Compartment::Dendrite => (&mut self.v_dend[..], c.dt_over_c_d),
        }
    }

    /// Column `index` of [`TwoCompartmentState::NAMES`], or `None` past the end.
    pub fn column(&self, index: usize) -> Option<&[Real]> {
        Some(match index {
            0 => &self.v_soma,
            1 => &self.v_dend,
            2 => &self.threshold,
            3 => &self.w_soma,
            4 => &self.w_dend,
            5 => &self.g_exc_soma,
            6 => &self.g_inh_soma,
            7 => &self.g_exc_dend,
            8 => &self.g_inh_dend,
            9 => &self.g_nmda,
            _ => return None,
        })
    }
}

/// Per-step constants of the two-compartment models, in f32 as Auryn stores them.
/// [AUR NaudGroup::precalculate_constants]
#[derive(Clone, Copy, Debug)]
pub struct TwoCompartmentConsts {
    pub e_l: Real,
    pub e_reset: Real,
    /// dt/τ_s.
    pub mul_soma: Real,
    /// dt·b_ws/C_s, V per unit w_s.
    pub mul_wsoma: Real,
    /// dt/τ_d.
    pub mul_dend: Real,
    /// dt·a_wd/C_d, per step.
    pub mul_wdend: Real,
    /// e^(−dt/τ_ws).
    pub scale_wsoma: Real,
    /// dt/τ_wd.
    pub mul_wdend_relax: Real,
    /// dt/τ_θ.
    pub mul_theta: Real,
    pub theta_0: Real,
    pub threshold_jump: Real,
    pub e_d: Real,
    /// −1/D_d, 1/V.
    pub neg_inv_d_d: Real,
    pub e_exc: Real,
    pub e_inh: Real,
    /// e^(−dt/τ_exc), e^(−dt/τ_inh).
    pub scale_exc: Real,
    pub scale_inh: Real,
    /// Weights of the AMPA and NMDA conductances in the excitatory current.
    pub a_ampa: Real,
    pub a_nmda: Real,
    /// 1 − e^(−dt/τ_nmda).
    pub mul_nmda: Real,
    pub dendritic_driving_force: bool,
    pub dt_over_c_s: Real,
    pub dt_over_c_d: Real,
}

/// The four synaptic currents (V) of one neuron from start-of-step values, followed by the
/// conductance decay, in the order of Auryn's `NaudGroup::evolve` (excitatory soma, inhibitory
/// soma, excitatory dendrite, inhibitory dendrite) [AUR LinearComboSynapse.cpp, ExpCobaSynapse.cpp].
///
/// With the NMDA mix, one g_NMDA per neuron is shared by both excitatory synapses and each of
/// them moves it towards its own g_AMPA, so the dendritic current sees the g_NMDA already
/// updated by the somatic synapse (spec/synapses.md §1.3, quirk kept).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn synaptic_currents<const NMDA: bool>(
    c: &TwoCompartmentConsts,
    v_soma: Real,
    v_dend: Real,
    g_exc_soma: &mut Real,
    g_inh_soma: &mut Real,
    g_exc_dend: &mut Real,
    g_inh_dend: &mut Real,
    g_nmda: &mut Real,
) -> [Real; 4] {
    let [j_exc_soma, j_inh_soma] =
        compartment_currents::<NMDA>(c, v_soma, g_exc_soma, g_inh_soma, g_nmda);
    let [j_exc_dend, j_inh_dend] = compartment_currents::<NMDA>(
        c,
        driving_potential(c, v_soma, v_dend),
        g_exc_dend,
        g_inh_dend,
        g_nmda,
    );
    [j_exc_soma, j_inh_soma, j_exc_dend, j_inh_dend]
}

/// V_q, the potential in the driving force of the dendritic synapses: V_s or V_d
/// (`dendritic_driving_force`).
#[inline(always)]
pub fn driving_potential(c: &TwoCompartmentConsts, v_soma: Real, v_dend: Real) -> Real {
    if c.dendritic_driving_force {
        v_dend
    } else {
        v_soma
    }
}

/// The excitatory and inhibitory synaptic currents (V) of one compartment with driving
/// potential `v` (the somatic half, then the dendritic half, of [`synaptic_currents`]), then
/// the decay of its conductances. The two halves touch different conductances except g_NMDA,
/// so without NMDA either may come first.
#[inline(always)]
pub fn compartment_currents<const NMDA: bool>(
    c: &TwoCompartmentConsts,
    v: Real,
    g_exc: &mut Real,
    g_inh: &mut Real,
    g_nmda: &mut Real,
) -> [Real; 2] {
    let j_exc = if NMDA {
        let j = (c.a_ampa * *g_exc + c.a_nmda * *g_nmda) * (c.e_exc - v);
        *g_nmda -= c.mul_nmda * *g_nmda;
        *g_nmda += c.mul_nmda * *g_exc;
        j
    } else {
        *g_exc * (c.e_exc - v)
    };
    let j_inh = *g_inh * (c.e_inh - v);
    *g_exc *= c.scale_exc;
    *g_inh *= c.scale_inh;
    [j_exc, j_inh]
}

/// Validated parameters of the pyramidal model.
#[derive(Clone, Debug)]
pub struct Pyramidal {
    /// Shared two-compartment parameters.
    pub base: TwoCompartmentParams,
    /// Dendrite → soma drive amplitude g_s, A.
    pub g_s: f64,
    /// Regenerative dendritic current amplitude g_d, A.
    pub g_d: f64,
    /// bAP box current c_d, A.
    pub bap_amplitude: f64,
    /// bAP box length and delay after the spike, s.
    pub bap_duration: f64,
    pub bap_delay: f64,
    /// Absolute refractory period, s.
    pub refractory: f64,
    /// Derived for the time step: the same durations in steps, and the per-step constants.
    bap_steps: u32,
    bap_delay_steps: u32,
    refractory_steps: u32,
    consts: TwoCompartmentConsts,
    mul_alpha: Real,
    mul_beta: Real,
    box_height: Real,
}

fn read(t: &ParamTable, dt: f64) -> Result<Box<dyn NeuronModel>> {
    Ok(Box::new(Pyramidal::read(t, dt)?))
}

impl Pyramidal {
    /// Reads and validates the parameters and precomputes the constants for `dt` (s).
    pub fn read(t: &ParamTable, dt: f64) -> Result<Self> {
        let ns2018 = t.choice("variant", &["auryn", "ns2018"], Some("auryn"))? == "ns2018";
        let (jump, refractory, delay, drive) = if ns2018 {
            (0.0, 2e-3, 0.5e-3, "dendritic")
        } else {
            (2e-3, 0.0, 0.0, "somatic")
        };
        let base = TwoCompartmentParams::read(t, -38e-3, jump, drive)?;
        let g_s = t.quantity("g_s", Dim::Current, Some(1300e-12))?;
        let g_d = t.quantity("g_d", Dim::Current, Some(1200e-12))?;
        let bap_amplitude = t.quantity("bap_amplitude", Dim::Current, Some(2600e-12))?;
        let bap_duration = t.quantity("bap_duration", Dim::Time, Some(2e-3))?;
        let bap_delay = t.quantity("bap_delay", Dim::Time, Some(delay))?;
        let refractory = t.quantity("refractory", Dim::Time, Some(refractory))?;
        // Each duration is validated and converted to whole steps in one go.
        let bap_steps = whole_steps(t, "bap_duration", bap_duration, dt)?;
        let bap_delay_steps = whole_steps(t, "bap_delay", bap_delay, dt)?;
        let refractory_steps = whole_steps(t, "refractory", refractory, dt)?;
        let consts = base.consts(dt);
        Ok(Pyramidal {
            mul_alpha: (dt * g_s / base.c_s) as Real,
            mul_beta: (dt * g_d / base.c_d) as Real,
            box_height: (dt * bap_amplitude / base.c_d) as Real,
            base,
            g_s,
            g_d,
            bap_amplitude,
            bap_duration,
            bap_delay,
            refractory,
            bap_steps,
            bap_delay_steps,
            refractory_steps,
            consts,
        })
    }

    /// A chunk of `len` neurons in the initial state of spec/neurons.md §2.4.
    pub fn chunk(&self, len: usize, init_rng: &mut Rng) -> PyramidalChunk {
        let b = &self.base;
        PyramidalChunk {
            c: self.consts,
            mul_alpha: self.mul_alpha,
            mul_beta: self.mul_beta,
            box_height: self.box_height,
            bap_reset: self.bap_steps + self.bap_delay_steps,
            bap_steps: self.bap_steps,
            refractory_steps: self.refractory_steps,
            s: TwoCompartmentState::new(b, len, init_rng),
            bap: vec![0; len],
            refractory: vec![0; len],
        }
    }
}

impl NeuronModel for Pyramidal {
    fn build_chunk(&self, len: usize, init_rng: &mut Rng) -> Box<dyn NeuronChunk> {
        Box::new(self.chunk(len, init_rng))
    }
    fn compartments(&self) -> &'static [Compartment] {
        &[Compartment::Soma, Compartment::Dendrite]
    }
    fn bytes_per_neuron(&self) -> usize {
        10 * std::mem::size_of::<Real>() + 2 * std::mem::size_of::<u32>()
    }
}

/// State names, in the order of [`PyramidalChunk`]'s `state` index.
/// A chunk of pyramidal neurons: struct-of-arrays state.
pub struct PyramidalChunk {
    c: TwoCompartmentConsts,
    /// dt·g_s/C_s, dt·g_d/C_d, dt·c_d/C_d (V per step).
    mul_alpha: Real,
    mul_beta: Real,
    box_height: Real,
    /// Value the bAP counter takes at a spike (delay + length, steps); the box is on while
    /// the counter is in [1, `bap_steps`].
    bap_reset: u32,
    bap_steps: u32,
    refractory_steps: u32,
    /// Membrane, threshold, adaptation and conductance columns.
    pub s: TwoCompartmentState,
    /// bAP box counter, steps.
    bap: Vec<u32>,
    /// Refractory counter, steps.
    refractory: Vec<u32>,
}

impl PyramidalChunk {
    /// Steps 1–9 of spec/neurons.md §2.3 for every neuron.
    #[inline(always)]
    fn integrate<const NMDA: bool>(&mut self) {
        let c = self.c;
        let n = self.s.v_soma.len();
        let (alpha, beta, box_height) = (self.mul_alpha, self.mul_beta, self.box_height);
        let bap_steps = self.bap_steps;
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
        let bap = &mut self.bap[..n];
        for i in 0..n {
            let (s0, d0) = (vs[i], vd[i]);
            // 1. J_x = g_x (E_x − V) from start-of-step values, then g_x ← g_x e^(−dt/τ_x).
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
            // 2. f = f(V_d) from the start-of-step V_d.
            let f = sigmoid(d0, c.e_d, c.neg_inv_d_d);
            // 3. V_s += (dt/τ_s)(E_L − V_s) + (dt b_ws/C_s) w_s + (dt g_s/C_s) f
            let mut s = s0 + c.mul_soma * (c.e_l - s0);
            s += c.mul_wsoma * ws[i];
            s += alpha * f;
            // 4. V_d += (dt/τ_d)(E_L − V_d) + (dt a_wd/C_d) w_d + (dt g_d/C_d) f
            let mut d = d0 + c.mul_dend * (c.e_l - d0);
            d += c.mul_wdend * wd[i];
            d += beta * f;
            // 5. bAP box: V_d += dt c_d/C_d while the counter is in [1, bap_steps]; count down.
            let k = bap[i];
            if k > 0 && k <= bap_steps {
                d += box_height;
            }
            bap[i] = k.saturating_sub(1);
            // 6. Synaptic input, each term in units of the compartment's leak conductance.
            s += c.mul_soma * jes;
            s += c.mul_soma * jis;
            d += c.mul_dend * jed;
            d += c.mul_dend * jid;
            // 7. w_s ← w_s e^(−dt/τ_ws)
            ws[i] *= c.scale_wsoma;
            // 8. w_d += (dt/τ_wd)((V_d,new − E_L) − w_d)
            wd[i] += c.mul_wdend_relax * ((d - c.e_l) - wd[i]);
            // 9. θ += (dt/τ_θ)(θ_0 − θ)
            th[i] += c.mul_theta * (c.theta_0 - th[i]);
            vs[i] = s;
            vd[i] = d;
        }
    }

    /// One step for every neuron; inlined into both builds of `update` (see [`super::columns::has_avx2`]).
    #[inline(always)]
    fn step(&mut self, _rng: &mut Rng, spikes: &mut Vec<u32>) {
        if self.c.a_nmda != 0.0 {
            self.integrate::<true>();
        } else {
            self.integrate::<false>();
        }
        // 10. Spike check: V_s > θ ⇒ spike, V_s ← E_reset, θ += Δθ, w_s += 1, bAP restarts.
        let c = &self.c;
        let n = self.s.v_soma.len();
        let (vs, th, ws) = (
            &mut self.s.v_soma[..n],
            &mut self.s.threshold[..n],
            &mut self.s.w_soma[..n],
        );
        let (bap, refr) = (&mut self.bap[..n], &mut self.refractory[..n]);
        if self.refractory_steps == 0 {
            for i in 0..n {
                if vs[i] > th[i] {
                    spikes.push(i as u32);
                    vs[i] = c.e_reset;
                    th[i] += c.threshold_jump;
                    ws[i] += 1.0;
                    bap[i] = self.bap_reset;
                }
            }
        } else {
            // With an absolute refractory period (ns2018), V_s is held at E_reset meanwhile.
            for i in 0..n {
                if refr[i] > 0 {
                    refr[i] -= 1;
                    vs[i] = c.e_reset;
                } else if vs[i] > th[i] {
                    spikes.push(i as u32);
                    vs[i] = c.e_reset;
                    th[i] += c.threshold_jump;
                    ws[i] += 1.0;
                    bap[i] = self.bap_reset;
                    refr[i] = self.refractory_steps;
                }
            }
        }
    }
}

impl NeuronChunk for PyramidalChunk {
    fn len(&self) -> usize {
        self.s.v_soma.len()
    }

    update_with_avx2!(PyramidalChunk, step);

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
        &TwoCompartmentState::NAMES
    }

    fn state(&self, index: usize) -> &[Real] {
        self.s.column(index).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{stream, Purpose};

    const DT: f64 = 1e-4;

    fn model(toml_text: &str) -> Result<Pyramidal> {
        let table: toml::Table = toml::from_str(toml_text).unwrap();
        let t = ParamTable::new("test.toml", "neuron", &table);
        let m = Pyramidal::read(&t, DT)?;
        t.finish()?;
        Ok(m)
    }

    /// Scalar f64 transcription of spec/neurons.md §2.3 with the §2.2 values, used as the
    /// reference for the step order. Returns (V_s, V_d, θ, w_s, w_d, spiked) after each step.
    fn reference(steps: usize, v_s0: f64, g: [f64; 4]) -> Vec<[f64; 6]> {
        let (e_l, dt) = (-70e-3, DT);
        let (tau_s, c_s, tau_d, c_d) = (16e-3, 370e-12, 7e-3, 170e-12);
        let f = |v: f64| 1.0 / (1.0 + (-(v + 38e-3) / 6e-3).exp());
        let (mut vs, mut vd, mut th, mut ws, mut wd) = (v_s0, e_l, -50e-3, 0.0, 1e-4);
        let mut g = g;
        let mut k = 0;
        let mut out = Vec::new();
        for _ in 0..steps {
            // 1. currents from start-of-step values (V_q = V_s), then decay
            let j = [
                g[0] * (0.0 - vs),
                g[1] * (-80e-3 - vs),
                g[2] * (0.0 - vs),
                g[3] * (-80e-3 - vs),
            ];
            g[0] *= (-dt / 5e-3).exp();
            g[1] *= (-dt / 10e-3).exp();
            g[2] *= (-dt / 5e-3).exp();
            g[3] *= (-dt / 10e-3).exp();
            let fv = f(vd); // 2.
            vs += dt / tau_s * (e_l - vs) + dt * -200e-12 / c_s * ws + dt * 1300e-12 / c_s * fv; // 3.
            vd += dt / tau_d * (e_l - vd) + dt * -13e-9 / c_d * wd + dt * 1200e-12 / c_d * fv; // 4.
            if k > 0 {
                vd += dt * 2600e-12 / c_d; // 5.
                k -= 1;
            }
            vs += dt / tau_s * (j[0] + j[1]); // 6.
            vd += dt / tau_d * (j[2] + j[3]);
            ws *= (-dt / 100e-3).exp(); // 7.
            wd += dt / 30e-3 * ((vd - e_l) - wd); // 8.
            th += dt / 27e-3 * (-50e-3 - th); // 9.
            let spiked = vs > th; // 10.
            if spiked {
                vs = -70e-3;
                th += 2e-3;
                ws += 1.0;
                k = 20;
            }
            out.push([vs, vd, th, ws, wd, spiked as u8 as f64]);
        }
        out
    }

    #[test]
    fn step_order_matches_hand_computation() {
        // V_s starts above θ so the neuron spikes on the first step; the four conductances are
        // non-zero so the synaptic terms and their decay are exercised. Any shift of the bAP
        // box by one step would move V_d by dt·c_d/C_d = 1.53 mV, far above the tolerance.
        let m = model("").unwrap();
        let mut chunk = m.chunk(1, &mut stream(1, Purpose::Init, &[0]));
        let v_s0 = -45e-3;
        let g = [0.3, 0.2, 0.4, 0.1];
        chunk.s.v_soma[0] = v_s0 as Real;
        chunk.s.g_exc_soma[0] = g[0] as Real;
        chunk.s.g_inh_soma[0] = g[1] as Real;
        chunk.s.g_exc_dend[0] = g[2] as Real;
        chunk.s.g_inh_dend[0] = g[3] as Real;
        let expected = reference(60, v_s0, g);
        let mut rng = stream(1, Purpose::Dynamics, &[0]);
        let mut spikes = Vec::new();
        let mut box_steps = 0;
        for (step, e) in expected.iter().enumerate() {
            spikes.clear();
            let before = chunk.bap[0];
            chunk.update(&mut rng, &mut spikes);
            box_steps += (before > 0) as usize;
            let got = [
                chunk.s.v_soma[0],
                chunk.s.v_dend[0],
                chunk.s.threshold[0],
                chunk.s.w_soma[0],
                chunk.s.w_dend[0],
            ];
            for (name, (&a, &b)) in ["v_s", "v_d", "θ", "w_s", "w_d"]
                .iter()
                .zip(got.iter().zip(e))
            {
                assert!(
                    (a as f64 - b).abs() < 1e-6,
                    "step {step}: {name} = {a}, expected {b}"
                );
            }
            assert_eq!(!spikes.is_empty(), e[5] == 1.0, "spike at step {step}");
        }
        assert_eq!(expected[0][5], 1.0, "the neuron spikes on the first step");
        assert_eq!(box_steps, 20, "the bAP box lasts 2 ms");
    }

    /// V_d of a neuron forced to spike on the first step minus that of a silent twin; with no
    /// synapses V_d does not depend on V_s, so the difference is the bAP box alone.
    fn bap_difference(variant: &str) -> Vec<f64> {
        let m = model(&format!("variant = \"{variant}\"")).unwrap();
        let mut chunk = m.chunk(2, &mut stream(1, Purpose::Init, &[0]));
        chunk.s.v_soma[0] = -45e-3;
        let mut rng = stream(1, Purpose::Dynamics, &[0]);
        let mut spikes = Vec::new();
        (0..40)
            .map(|_| {
                chunk.update(&mut rng, &mut spikes);
                (chunk.s.v_dend[0] - chunk.s.v_dend[1]) as f64
            })
            .collect()
    }

    #[test]
    fn bap_box_starts_after_the_spike_step_or_after_the_ns2018_delay() {
        let auryn = bap_difference("auryn");
        assert_eq!(auryn[0], 0.0, "no box on the spike step");
        assert!(auryn[1] > 1e-3, "box on the next step");
        let ns = bap_difference("ns2018");
        assert!(
            ns[..6].iter().all(|&d| d == 0.0),
            "no box during the 0.5-ms delay: {ns:?}"
        );
        assert!(ns[6] > 1e-3, "box from 0.5 ms on");
    }

    #[test]
    fn ns2018_holds_v_soma_for_the_refractory_period() {
        let m = model("variant = \"ns2018\"").unwrap();
        assert_eq!((m.refractory_steps, m.base.threshold_jump), (20, 0.0));
        assert!(m.base.dendritic_driving_force);
        let mut chunk = m.chunk(1, &mut stream(1, Purpose::Init, &[0]));
        chunk.s.v_soma[0] = -45e-3;
        let mut rng = stream(1, Purpose::Dynamics, &[0]);
        let mut spikes = Vec::new();
        let mut held = 0;
        for step in 0..40 {
            spikes.clear();
            chunk.update(&mut rng, &mut spikes);
            assert_eq!(spikes.is_empty(), step != 0);
            assert_eq!(chunk.s.threshold[0], -50e-3, "fixed threshold");
            if chunk.s.v_soma[0] == -70e-3 {
                held += 1;
            }
            // A large somatic current: without the hold V_s would leave E_reset at once.
            chunk.s.v_soma[0] += 1e-3;
        }
        assert_eq!(held, 21, "the spike step and 20 refractory steps");
    }

    #[test]
    fn nmda_mix_shares_one_conductance_between_compartments() {
        let m = model("excitatory_synapse_mix = \"ampa_nmda_5050\"").unwrap();
        let mut chunk = m.chunk(1, &mut stream(1, Purpose::Init, &[0]));
        chunk.s.g_exc_soma[0] = 0.1;
        chunk.s.g_exc_dend[0] = 0.2;
        let mut spikes = Vec::new();
        chunk.update(&mut stream(1, Purpose::Dynamics, &[0]), &mut spikes);
        let mul = 1.0 - (-DT / 100e-3f64).exp();
        // Somatic synapse: g_n ← g_n + mul (0.1 − g_n) = 0.1 mul; dendritic one: towards 0.2.
        let g1 = 0.1 * mul;
        let g2 = g1 + mul * (0.2 - g1);
        assert!(
            (chunk.s.g_nmda[0] as f64 - g2).abs() < 1e-9,
            "{}",
            chunk.s.g_nmda[0]
        );
        // The somatic current uses 0.5·g_AMPA (g_NMDA was 0); compare V_s with and without.
        let base = model("").unwrap();
        let mut plain = base.chunk(1, &mut stream(1, Purpose::Init, &[0]));
        plain.s.g_exc_soma[0] = 0.05;
        plain.s.g_exc_dend[0] = 0.1 + 0.5 * g1 as Real;
        plain.update(&mut stream(1, Purpose::Dynamics, &[0]), &mut spikes);
        assert!((chunk.s.v_soma[0] - plain.s.v_soma[0]).abs() < 1e-9);
        assert!((chunk.s.v_dend[0] - plain.s.v_dend[0]).abs() < 1e-9);
    }

    #[test]
    fn avx2_and_baseline_builds_give_identical_bits() {
        // `update` takes the AVX2 build on CPUs that have it, `step` is the baseline build.
        let m = model("v_init = \"random\"\nexcitatory_synapse_mix = \"ampa_nmda_5050\"").unwrap();
        let mut a = m.chunk(1000, &mut stream(2, Purpose::Init, &[0]));
        let mut b = m.chunk(1000, &mut stream(2, Purpose::Init, &[0]));
        let mut rng = stream(2, Purpose::Dynamics, &[0]);
        let (mut sa, mut sb) = (Vec::new(), Vec::new());
        for step in 0..3_000 {
            for chunk in [&mut a, &mut b] {
                for (i, v) in chunk.s.v_soma.iter_mut().enumerate() {
                    *v += 1e-4 * (i % 7) as Real;
                }
                chunk.s.v_dend.iter_mut().for_each(|v| *v += 5e-5);
                chunk
                    .s
                    .g_exc_dend
                    .iter_mut()
                    .step_by(3)
                    .for_each(|g| *g += 0.01 * (step % 2) as Real);
            }
            a.update(&mut rng, &mut sa);
            b.step(&mut rng, &mut sb);
        }
        assert!(!sa.is_empty());
        assert_eq!(sa, sb);
        for (k, name) in TwoCompartmentState::NAMES.iter().enumerate() {
            let bits =
                |c: &PyramidalChunk| c.state(k).iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a), bits(&b), "{name}");
        }
    }

    #[test]
    fn initial_state_follows_the_spec() {
        let m = model("v_init = \"random\"").unwrap();
        let chunk = m.chunk(1000, &mut stream(1, Purpose::Init, &[0]));
        let mean = chunk.s.v_soma.iter().map(|&v| v as f64).sum::<f64>() / 1000.0;
        let sd = (chunk
            .s
            .v_soma
            .iter()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / 1000.0)
            .sqrt();
        assert!(
            (mean + 70e-3).abs() < 0.5e-3 && (sd - 5e-3).abs() < 0.4e-3,
            "{mean} {sd}"
        );
        assert!(chunk.s.v_dend.iter().all(|&v| v == -70e-3));
        assert!(chunk.s.w_dend.iter().all(|&w| w == 1e-4));
        assert!(chunk.s.threshold.iter().all(|&t| t == -50e-3));
    }

    #[test]
    fn bad_parameters_name_their_key() {
        let err = |text: &str| model(text).expect_err(text).to_string();
        assert!(err("tau_s = \"-16 ms\"").contains("tau_s"));
        assert!(err("c_d = \"0 pF\"").contains("c_d"));
        assert!(err("d_d = \"0 mV\"").contains("d_d"));
        assert!(err("refractory = \"0.05 ms\"").contains("refractory"));
        assert!(err("bap_delay = \"0.25 ms\"").contains("whole number of time steps"));
        assert!(err("variant = \"naud\"").contains("variant"));
        assert!(err("dendritic_driving_force = \"apical\"").contains("dendritic_driving_force"));
        assert!(err("tau_s = \"16 mV\"").contains("expected a time"));
        assert!(err("tua_s = \"16 ms\"").contains("unknown key"));
    }
}
