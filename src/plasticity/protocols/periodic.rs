//! (a) Periodic protocol, [P21] Fig 2B (spec/plasticity.md §6a;
//! [SBP analysis/plasticity-protocol/simulate_periodicprotocol_adaptive_rule.py]).
//!
//! Per frequency f, 15 epochs. An epoch pairs 5 simultaneous pre/post spikes (Δt = 0) at
//! t = 10 ms + k/f, k = 0…4, and is simulated for 5/f + 1 s with dt = 0.1 ms on a fresh synapse
//! (Ẽ_pre = 0). The moving averages carry over from one epoch to the next, multiplied by
//! e^(−10 s/τ_avg) for the 10-s gap; epoch 1 starts at Ē = 5 Hz, B̄ = 0.75 Hz. ΔW(f) is the sum
//! over the epochs. The protocol is deterministic.
//!
//! Shape: LTD deepens with f, then turns abruptly to LTP once 1/f ≤ 16 ms (f ≥ 62.5 Hz), where
//! each 5-spike train becomes one event and one burst.

use super::{
    bisect, check, check_grid, classify_steps, linspace, steps_in, Averages, Rule, Synapse, EVENT,
};
use crate::error::Result;
use rayon::prelude::*;

/// ΔW of [P21] Fig 2B as tabulated in spec/plasticity.md §6a: (f in Hz, ΔW), for the default
/// [`Periodic`] settings. The table gives f to 0.1 Hz; the protocol's grid is linspace(1, 100, 20).
pub const REFERENCE: [(f64, f64); 20] = [
    (1.0, -0.239),
    (6.2, -0.302),
    (11.4, -0.345),
    (16.6, -0.390),
    (21.8, -0.433),
    (27.1, -0.470),
    (32.3, -0.503),
    (37.5, -0.532),
    (42.7, -0.557),
    (47.9, -0.578),
    (53.1, -0.598),
    (58.3, -0.615),
    (63.5, 0.150),
    (68.7, 0.177),
    (73.9, 0.200),
    (79.2, 0.221),
    (84.4, 0.240),
    (89.6, 0.257),
    (94.8, 0.272),
    (100.0, 0.284),
];

/// Settings of the periodic protocol; [`Default`] holds the values of §6a.
#[derive(Clone, Debug, PartialEq)]
pub struct Periodic {
    /// Pairing frequencies f, Hz.
    pub frequencies: Vec<f64>,
    /// Epochs per frequency.
    pub epochs: usize,
    /// Pre/post pairs per epoch.
    pub pairs: usize,
    /// Time of the first pair in an epoch, s.
    pub first_pair: f64,
    /// Time simulated after `pairs` periods: an epoch lasts pairs/f + tail, s.
    pub tail: f64,
    /// Pause between epochs, s; the averages decay by e^(−gap/τ_avg) over it.
    pub gap: f64,
    /// Time step, s.
    pub dt: f64,
    /// Moving averages at the start of epoch 1.
    pub initial: Averages,
    /// The rule's parameters.
    pub rule: Rule,
}

impl Default for Periodic {
    fn default() -> Self {
        Periodic {
            frequencies: linspace(1.0, 100.0, 20),
            epochs: 15,
            pairs: 5,
            first_pair: 0.010,
            tail: 1.0,
            gap: 10.0,
            dt: 1e-4,
            initial: Averages {
                event_rate: 5.0,
                burst_rate: 0.75,
            },
            rule: Rule::PROTOCOLS,
        }
    }
}

/// ΔW per pairing frequency.
#[derive(Clone, Debug, PartialEq)]
pub struct PeriodicCurve {
    /// Pairing frequencies, Hz.
    pub frequencies: Vec<f64>,
    /// ΔW (w/dt, dimensionless) summed over the epochs, one per frequency.
    pub delta_w: Vec<f64>,
    /// Frequency at which ΔW turns from LTD to LTP, located by bisection to 0.01 Hz between
    /// the grid points around the first sign change, Hz (`None` without one).
    pub switch_frequency: Option<f64>,
}

impl Periodic {
    /// Checks the settings; every problem is an [`crate::Error::Config`].
    pub fn validate(&self) -> Result<()> {
        check_grid(&self.frequencies, "periodic.frequencies", 1e-3, 1e3)?;
        check(self.epochs >= 1, "periodic.epochs", "needs at least one")?;
        check(self.pairs >= 1, "periodic.pairs", "needs at least one")?;
        check(
            self.dt.is_finite() && self.dt > 0.0,
            "periodic.dt",
            "must be a positive number of seconds",
        )?;
        for (key, v) in [
            ("periodic.first_pair", self.first_pair),
            ("periodic.tail", self.tail),
            ("periodic.gap", self.gap),
        ] {
            check(v.is_finite() && v >= 0.0, key, "must be ≥ 0 s")?;
        }
        check(
            self.first_pair < self.tail,
            "periodic.first_pair",
            "must fall within the tail, so every pair lies inside the epoch",
        )?;
        check(
            self.initial.event_rate > 0.0 && self.initial.burst_rate >= 0.0,
            "periodic.initial",
            "needs Ē > 0 and B̄ ≥ 0",
        )?;
        self.rule.validate("periodic.rule", self.dt)
    }

    /// ΔW summed over the epochs at pairing frequency `f` (Hz); the settings must be valid.
    pub fn delta_w(&self, f: f64) -> f64 {
        let times: Vec<f64> = (0..self.pairs)
            .map(|k| self.first_pair + k as f64 / f)
            .collect();
        let n_steps = steps_in(self.pairs as f64 / f + self.tail, self.dt);
        // Pre and post spike together, so one classified train serves both sides; the pre
        // side keeps only its events.
        let post = classify_steps(&times, self.dt, n_steps);
        let pre: Vec<u8> = post.iter().map(|&f| f & EVENT).collect();
        let gap_decay = (-self.gap / self.rule.tau_avg).exp();
        let mut averages = self.initial;
        let mut total = 0.0;
        for _ in 0..self.epochs {
            let mut synapse = Synapse::new(&self.rule, self.dt, averages);
            for (&p, &q) in pre.iter().zip(&post) {
                synapse.step(p, q);
            }
            total += synapse.delta_w;
            averages = Averages {
                event_rate: synapse.averages.event_rate * gap_decay,
                burst_rate: synapse.averages.burst_rate * gap_decay,
            };
        }
        total
    }
}

/// Runs the periodic protocol at every frequency (in parallel; the result does not depend on
/// the thread count) and locates the LTD → LTP switch.
pub fn run_periodic(settings: &Periodic) -> Result<PeriodicCurve> {
    settings.validate()?;
    let delta_w: Vec<f64> = settings
        .frequencies
        .par_iter()
        .map(|&f| settings.delta_w(f))
        .collect();
    let f = &settings.frequencies;
    let switch_frequency = (1..f.len())
        .find(|&i| delta_w[i - 1] < 0.0 && delta_w[i] >= 0.0)
        .map(|i| bisect(f[i - 1], f[i], 0.01, |x| settings.delta_w(x)));
    Ok(PeriodicCurve {
        frequencies: f.clone(),
        delta_w,
        switch_frequency,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproduces_the_reference_table_and_switches_at_16_ms() {
        let curve = run_periodic(&Periodic::default()).unwrap();
        for ((&f, &dw), &(f_ref, dw_ref)) in
            curve.frequencies.iter().zip(&curve.delta_w).zip(&REFERENCE)
        {
            assert!((f - f_ref).abs() < 0.06, "grid {f} vs table {f_ref}");
            assert!(
                (dw - dw_ref).abs() <= 0.005,
                "f = {f:.1} Hz: ΔW {dw:.4}, reference {dw_ref}"
            );
        }
        let switch = curve.switch_frequency.unwrap();
        assert!((switch - 62.5).abs() < 0.02, "switch at {switch} Hz");
    }

    #[test]
    fn one_pair_per_epoch_depresses_by_the_baseline() {
        // A single pair: one event with Ẽ_pre = 1, so ΔW = −η·B̄/Ē = −0.1·0.15 in one epoch.
        let s = Periodic {
            epochs: 1,
            pairs: 1,
            ..Periodic::default()
        };
        assert!((s.delta_w(10.0) + 0.015).abs() < 1e-12);
    }

    #[test]
    fn rejects_bad_settings() {
        let bad = [
            Periodic {
                frequencies: vec![0.0],
                ..Periodic::default()
            },
            Periodic {
                epochs: 0,
                ..Periodic::default()
            },
            Periodic {
                dt: -1.0,
                ..Periodic::default()
            },
        ];
        for s in bad {
            assert!(run_periodic(&s).is_err());
        }
    }
}
