//! Single-synapse plasticity protocols: the reference curves of [P21] Fig 2B–D and [G22] Fig 1B
//! (spec/plasticity.md §6; [SBP analysis/plasticity-protocol/{plot_all_adaptive_rule,
//! simulate_*,preeventsynapse,neuronstate,pairingprotocols}.py]).
//!
//! No neuron model is involved: prescribed pre- and postsynaptic spike trains are classified
//! into events and bursts with the offline ISI rule (§1.1, [`crate::analysis::bursts`]), each
//! spike is placed at step ⌊t/dt⌋, and one synapse follows the Python form of the rule. Per
//! step n, in this order:
//! 1. Ẽ_pre ← Ẽ_pre·(1 − dt/τ_pre) + E_pre[n] (Euler decay; includes this step's event);
//! 2. ΔW ← ΔW + η·(B[n] − (B̄/Ē)·E[n])·Ẽ_pre, with E[n], B[n] the postsynaptic 0/1 counts;
//! 3. Ē ← Ē·(1 − dt/τ_avg) + E[n]/τ_avg, and B̄ likewise (Hz).
//!
//! ΔW is the reported quantity w/dt = η·Σ_n (B[n] − P̄[n]·E[n])·Ẽ_pre[n]. Unlike the simulator's
//! rule (§3, [`super::burst_rule`]) there is no homeostasis, no clipping, no cap of P̄ at 1, and
//! the pre side counts offline events, not online ones.
//!
//! The protocols: [`periodic`] (a, [P21] Fig 2B), [`poisson`] (b, Fig 2C, with the authors'
//! closed-form approximation), [`burst_poisson`] (c, Fig 2D) and [`constant_baseline`]
//! (d, [G22] Fig 1B). Random trains come from one stream per realisation
//! ([`crate::engine::rng::stream`] with [`Purpose::Protocol`] and the protocol's name), so
//! results do not depend on the thread count.

pub mod burst_poisson;
pub mod constant_baseline;
pub mod periodic;
pub mod poisson;

pub use burst_poisson::{run_burst_poisson, BurstPoisson, BurstPoissonCurve};
pub use constant_baseline::{run_constant_baseline, ConstantBaseline, ConstantBaselineCurve};
pub use periodic::{run_periodic, Periodic, PeriodicCurve};
pub use poisson::{closed_form, run_poisson, Poisson, PoissonCurve};

use crate::analysis::bursts::{IsiRule, SpikeClass};
use crate::engine::rng::{name_id, stream, Purpose, Rng};
use crate::error::{Error, Result};

/// The `file` part of the errors of this module (the parameters come from code or the CLI).
const SOURCE: &str = "plasticity protocol";

/// Flag of a step holding an event (bit of the per-step train).
pub const EVENT: u8 = 1;
/// Flag of a step holding a burst (second spike of a burst).
pub const BURST: u8 = 2;

/// Spike times that lie within this fraction of a step below a step boundary are placed on it,
/// so that 0.01 s + 1/(100 Hz), which is 200 steps of 0.1 ms, is not put at step 199 by rounding.
const STEP_TOLERANCE: f64 = 1e-9;

/// Parameters of the Python form of the rule, SI units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rule {
    /// Learning rate η (dimensionless).
    pub eta: f64,
    /// Time constant of the presynaptic event trace Ẽ_pre (unnormalised, +1 per event), s.
    pub tau_pre: f64,
    /// Time constant of the moving averages Ē and B̄, s.
    pub tau_avg: f64,
}

impl Rule {
    /// The values of the Fig 2B–D protocols: η = 0.1, τ_pre = 50 ms, τ_avg = 15 s
    /// (spec/plasticity.md §5, first row).
    pub const PROTOCOLS: Rule = Rule {
        eta: 0.1,
        tau_pre: 0.05,
        tau_avg: 15.0,
    };

    fn validate(&self, key: &str, dt: f64) -> Result<()> {
        check(
            self.eta.is_finite(),
            &format!("{key}.eta"),
            "must be finite",
        )?;
        for (name, tau) in [("tau_pre", self.tau_pre), ("tau_avg", self.tau_avg)] {
            // The Euler factor 1 − dt/τ must stay in [0, 1) for the traces to decay.
            check(
                tau.is_finite() && tau >= dt,
                &format!("{key}.{name}"),
                format!("must be at least dt = {dt} s (got {tau} s)"),
            )?;
        }
        Ok(())
    }
}

/// The moving averages Ē and B̄ of the postsynaptic event and burst trains, Hz.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Averages {
    /// Ē, Hz.
    pub event_rate: f64,
    /// B̄, Hz.
    pub burst_rate: f64,
}

/// One synapse under the Python form of the rule: the three per-step updates of the module
/// documentation, and ΔW accumulated as w/dt.
#[derive(Clone, Debug)]
pub struct Synapse {
    eta: f64,
    inv_tau_avg: f64,
    pre_decay: f64,
    avg_decay: f64,
    /// Presynaptic event trace Ẽ_pre (a count).
    pub pre_trace: f64,
    /// Moving averages Ē, B̄.
    pub averages: Averages,
    /// ΔW = w/dt so far.
    pub delta_w: f64,
}

impl Synapse {
    /// A fresh synapse (Ẽ_pre = 0, ΔW = 0) with the moving averages at `averages`.
    pub fn new(rule: &Rule, dt: f64, averages: Averages) -> Self {
        Synapse {
            eta: rule.eta,
            inv_tau_avg: 1.0 / rule.tau_avg,
            pre_decay: 1.0 - dt / rule.tau_pre,
            avg_decay: 1.0 - dt / rule.tau_avg,
            pre_trace: 0.0,
            averages,
            delta_w: 0.0,
        }
    }

    /// Advances one step with the presynaptic and postsynaptic flags ([`EVENT`], [`BURST`]).
    #[inline]
    pub fn step(&mut self, pre: u8, post: u8) {
        self.pre_trace = self.pre_trace * self.pre_decay + f64::from(pre & EVENT);
        let e = f64::from(post & EVENT);
        let b = f64::from((post & BURST) >> 1);
        if post != 0 {
            let baseline = self.averages.burst_rate / self.averages.event_rate;
            self.delta_w += self.eta * (b - baseline * e) * self.pre_trace;
        }
        let a = &mut self.averages;
        a.event_rate = a.event_rate * self.avg_decay + e * self.inv_tau_avg;
        a.burst_rate = a.burst_rate * self.avg_decay + b * self.inv_tau_avg;
    }

    /// Runs the synapse over two per-step trains of equal length and returns ΔW.
    pub fn run(mut self, pre: &[u8], post: &[u8]) -> f64 {
        for (&p, &q) in pre.iter().zip(post) {
            self.step(p, q);
        }
        self.delta_w
    }
}

/// Classifies a spike train (`times` in s, non-decreasing) with the offline ISI rule and
/// returns its per-step flags over `n_steps` steps of `dt`: [`EVENT`] or [`BURST`] at step
/// ⌊t/dt⌋, nothing for within-burst spikes. Spikes at or after the last step are dropped.
pub fn classify_steps(times: &[f64], dt: f64, n_steps: usize) -> Vec<u8> {
    let times_ms: Vec<f64> = times.iter().map(|t| t * 1e3).collect();
    let mut flags = vec![0u8; n_steps];
    let classes = IsiRule::default().classify_train(&times_ms);
    for (&t, class) in times.iter().zip(classes) {
        let flag = match class {
            SpikeClass::Event => EVENT,
            SpikeClass::Burst => BURST,
            SpikeClass::WithinBurst => continue,
        };
        let n = (t / dt + STEP_TOLERANCE).floor();
        if n >= 0.0 && (n as usize) < n_steps {
            flags[n as usize] |= flag;
        }
    }
    flags
}

/// Number of steps of `dt` in `duration` (both s), rounded to the nearest whole step.
fn steps_in(duration: f64, dt: f64) -> usize {
    (duration / dt).round() as usize
}

/// The random stream of one realisation of the protocol `name`, for the condition `ids`
/// (grid indices) and realisation `k`.
fn realisation_stream(seed: u64, name: &str, ids: &[u64], k: usize) -> Rng {
    let mut all = vec![name_id(name)];
    all.extend_from_slice(ids);
    all.push(k as u64);
    stream(seed, Purpose::Protocol, &all)
}

/// `n` values evenly spaced from `first` to `last` inclusive, as numpy's linspace.
pub fn linspace(first: f64, last: f64, n: usize) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![first],
        _ => (0..n)
            .map(|i| first + (last - first) * i as f64 / (n - 1) as f64)
            .collect(),
    }
}

/// Where `ys(xs)` first turns from negative to non-negative, by linear interpolation between
/// the two grid points around the sign change; `None` without such a change.
pub fn crossover(xs: &[f64], ys: &[f64]) -> Option<f64> {
    xs.windows(2).zip(ys.windows(2)).find_map(|(x, y)| {
        (y[0] < 0.0 && y[1] >= 0.0).then(|| x[0] + (x[1] - x[0]) * -y[0] / (y[1] - y[0]))
    })
}

/// Bisection for the point between `lo` and `hi` where `f` turns from negative (at `lo`) to
/// non-negative (at `hi`), to within `tolerance`.
fn bisect(mut lo: f64, mut hi: f64, tolerance: f64, f: impl Fn(f64) -> f64) -> f64 {
    while hi - lo > tolerance {
        let mid = 0.5 * (lo + hi);
        if f(mid) < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// An [`Error::Config`] of this module with `message` unless `ok`.
fn check(ok: bool, key: &str, message: impl Into<String>) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::config(SOURCE, key, message))
    }
}

/// Checks a grid of values: non-empty, every value finite and between `lo` and `hi`
/// inclusive.
fn check_grid(values: &[f64], key: &str, lo: f64, hi: f64) -> Result<()> {
    check(!values.is_empty(), key, "needs at least one value")?;
    for &v in values {
        check(
            v.is_finite() && (lo..=hi).contains(&v),
            key,
            format!("{v} is outside [{lo}, {hi}]"),
        )?;
    }
    Ok(())
}

/// Checks the common time settings: dt > 0, duration ≥ dt, at least one realisation.
fn check_run(key: &str, dt: f64, duration: f64, realisations: usize) -> Result<()> {
    check(
        dt.is_finite() && dt > 0.0,
        &format!("{key}.dt"),
        "must be a positive number of seconds",
    )?;
    check(
        duration.is_finite() && duration >= dt,
        &format!("{key}.duration"),
        format!("must be at least dt = {dt} s"),
    )?;
    // The upper limit keeps the job count (grid points × realisations) far from overflow.
    check(
        (1..=1 << 24).contains(&realisations),
        &format!("{key}.realisations"),
        "needs 1 to 2^24 realisations",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_step_follows_the_python_order() {
        let rule = Rule::PROTOCOLS;
        let dt = 1e-3;
        let start = Averages {
            event_rate: 5.0,
            burst_rate: 1.0,
        };
        // A pre event and a post event in the same step interact (Ẽ_pre includes this step's
        // event), and the depression uses Ē and B̄ before this step's increment.
        let mut s = Synapse::new(&rule, dt, start);
        s.step(EVENT, EVENT);
        assert!((s.delta_w - 0.1 * -0.2).abs() < 1e-15);
        let decay = 1.0 - dt / 15.0;
        assert!((s.averages.event_rate - (5.0 * decay + 1.0 / 15.0)).abs() < 1e-12);
        assert!((s.averages.burst_rate - decay).abs() < 1e-12);
        // A burst one step later potentiates by η·Ẽ_pre, Ẽ_pre decayed by one Euler step.
        let before = s.delta_w;
        s.step(0, BURST);
        assert!((s.delta_w - before - 0.1 * (1.0 - dt / 0.05)).abs() < 1e-12);
        // Presynaptic bursts do not enter the trace.
        let trace = s.pre_trace;
        s.step(BURST, 0);
        assert!((s.pre_trace - trace * (1.0 - dt / 0.05)).abs() < 1e-15);
    }

    #[test]
    fn trains_become_per_step_event_and_burst_flags() {
        // Event, burst, within-burst, then an event 30 ms later; 0.03 s lands on step 300 of
        // 0.1 ms despite 0.03/1e-4 = 299.99… in floating point.
        let flags = classify_steps(&[0.01, 0.02, 0.025, 0.03 + 0.025], 1e-4, 1000);
        assert_eq!(flags[100], EVENT);
        assert_eq!(flags[200], BURST);
        assert_eq!(flags[250], 0);
        assert_eq!(flags[550], EVENT);
        assert_eq!(flags.iter().filter(|&&f| f != 0).count(), 3);
        assert_eq!(classify_steps(&[0.03], 1e-4, 1000)[300], EVENT);
        assert!(classify_steps(&[0.2], 1e-3, 100).iter().all(|&f| f == 0));
    }

    #[test]
    fn crossover_interpolates_the_first_upward_sign_change() {
        assert_eq!(crossover(&[0.0, 1.0, 2.0], &[-1.0, -0.5, 0.5]), Some(1.5));
        assert_eq!(crossover(&[0.0, 1.0], &[1.0, 2.0]), None);
        assert!((bisect(0.0, 10.0, 1e-9, |x| x - 3.3) - 3.3).abs() < 1e-8);
        assert_eq!(linspace(1.0, 100.0, 20)[19], 100.0);
        assert!((linspace(1.0, 100.0, 20)[1] - 6.2105).abs() < 1e-4);
    }

    #[test]
    fn invalid_settings_are_config_errors() {
        assert!(check_run("x", 0.0, 1.0, 1).is_err());
        assert!(check_run("x", 1e-3, 1e-4, 1).is_err());
        assert!(check_run("x", 1e-3, 1.0, 0).is_err());
        assert!(check_grid(&[], "x", 0.0, 1.0).is_err());
        assert!(check_grid(&[f64::NAN], "x", 0.0, 1.0).is_err());
        assert!(Rule {
            tau_pre: 0.0,
            ..Rule::PROTOCOLS
        }
        .validate("x", 1e-3)
        .is_err());
    }
}
