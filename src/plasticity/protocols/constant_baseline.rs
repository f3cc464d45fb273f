//! (d) Constant-baseline rule with equal-rate Poisson pre and post, [G22] Fig 1B
//! (spec/plasticity.md §6d; [BCN modules/plasticity_rule.pdf;
//! BCNJ plotting/analysis/plasticity_rule.py]).
//!
//! The postsynaptic train is Poisson at rate r for 100 s, classified with the offline ISI rule.
//! At each event ΔW −= η·p_b·r, at each burst (ISI ≤ 16 ms) ΔW += η·r, with p_b = 0.5 and
//! η = 1e-5: the rate r stands in for the presynaptic trace, so no presynaptic train and no time
//! step are needed. 5 seeds per rate; rates 1, 2, …, 80 Hz (the grid of the BCNJ script).
//!
//! Expected value (derived here, not in the sources): an event is a spike whose ISI exceeds
//! θ = 16 ms, and it is followed by a burst iff the next ISI is ≤ θ, so over D seconds
//! ΔW ≈ η·r·(r·D·e^(−rθ))·(1 − e^(−rθ) − p_b). It changes sign where 1 − e^(−rθ) = p_b, at
//! r = −ln(1 − p_b)/θ ≈ 43.3 Hz, with LTD below and LTP above; its magnitude scales with the
//! event rate.

use super::poisson::renewal_train;
use super::{check, check_grid, crossover, linspace, realisation_stream};
use crate::analysis::bursts::{IsiRule, SpikeClass, BURST_ISI_MS};
use crate::analysis::readouts::mean_sd;
use crate::error::Result;
use rayon::prelude::*;

/// Settings of the constant-baseline curve; [`Default`] holds the values of §6d.
#[derive(Clone, Debug, PartialEq)]
pub struct ConstantBaseline {
    /// Rates r of the postsynaptic Poisson train, Hz.
    pub rates: Vec<f64>,
    /// The constant baseline p_b.
    pub baseline: f64,
    /// Learning rate η.
    pub eta: f64,
    /// Duration per rate, s.
    pub duration: f64,
    /// Realisations (seeds) per rate.
    pub realisations: usize,
}

impl Default for ConstantBaseline {
    fn default() -> Self {
        ConstantBaseline {
            rates: linspace(1.0, 80.0, 80),
            baseline: 0.5,
            eta: 1e-5,
            duration: 100.0,
            realisations: 5,
        }
    }
}

/// ΔW versus rate.
#[derive(Clone, Debug, PartialEq)]
pub struct ConstantBaselineCurve {
    /// Rates, Hz.
    pub rates: Vec<f64>,
    /// Mean ΔW over the realisations, per rate.
    pub mean: Vec<f64>,
    /// Sample SD of ΔW over the realisations (0 for one realisation), per rate.
    pub sd: Vec<f64>,
    /// The expected ΔW of the module documentation, per rate.
    pub expected: Vec<f64>,
    /// LTD → LTP crossover of the simulated means (linear interpolation), Hz.
    pub crossover: Option<f64>,
    /// Crossover of the expected value, −ln(1 − p_b)/16 ms, Hz (`None` for p_b = 1).
    pub crossover_expected: Option<f64>,
}

impl ConstantBaseline {
    /// Checks the settings; every problem is an [`crate::Error::Config`].
    pub fn validate(&self) -> Result<()> {
        check_grid(&self.rates, "constant_baseline.rates", 1e-3, 1e4)?;
        check(
            (0.0..=1.0).contains(&self.baseline),
            "constant_baseline.baseline",
            "must lie in [0, 1]",
        )?;
        check(
            self.eta.is_finite(),
            "constant_baseline.eta",
            "must be finite",
        )?;
        check(
            self.duration.is_finite() && self.duration > 0.0,
            "constant_baseline.duration",
            "must be a positive number of seconds",
        )?;
        check(
            (1..=1 << 24).contains(&self.realisations),
            "constant_baseline.realisations",
            "needs 1 to 2^24 realisations",
        )
    }

    /// The expected ΔW at rate `rate` (Hz).
    pub fn expected_at(&self, rate: f64) -> f64 {
        let longer = (-rate * BURST_ISI_MS * 1e-3).exp();
        let events = rate * self.duration * longer;
        self.eta * rate * events * (1.0 - longer - self.baseline)
    }

    /// ΔW of one postsynaptic train `times` (s) at rate `rate` (Hz).
    pub fn delta_w(&self, rate: f64, times: &[f64]) -> f64 {
        let ms: Vec<f64> = times.iter().map(|t| t * 1e3).collect();
        let (mut events, mut bursts) = (0usize, 0usize);
        for class in IsiRule::default().classify_train(&ms) {
            match class {
                SpikeClass::Event => events += 1,
                SpikeClass::Burst => bursts += 1,
                SpikeClass::WithinBurst => {}
            }
        }
        self.eta * rate * (bursts as f64 - self.baseline * events as f64)
    }
}

/// Runs the constant-baseline curve; realisation k at rate index i draws its train from one
/// stream.
pub fn run_constant_baseline(
    settings: &ConstantBaseline,
    seed: u64,
) -> Result<ConstantBaselineCurve> {
    settings.validate()?;
    let s = settings;
    let n_k = s.realisations;
    let runs: Vec<f64> = (0..s.rates.len() * n_k)
        .into_par_iter()
        .map(|job| {
            let (i, k) = (job / n_k, job % n_k);
            let mut rng = realisation_stream(seed, "constant_baseline", &[i as u64], k);
            let train = renewal_train(&mut rng, s.rates[i], 0.0, s.duration);
            s.delta_w(s.rates[i], &train)
        })
        .collect();
    let (mean, sd): (Vec<f64>, Vec<f64>) = runs.chunks(n_k).map(mean_sd).unzip();
    let crossover_expected =
        (s.baseline < 1.0).then(|| -(1.0 - s.baseline).ln() / (BURST_ISI_MS * 1e-3));
    Ok(ConstantBaselineCurve {
        rates: s.rates.clone(),
        crossover: crossover(&s.rates, &mean),
        expected: s.rates.iter().map(|&r| s.expected_at(r)).collect(),
        mean,
        sd,
        crossover_expected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_curve_has_the_published_shape() {
        let s = ConstantBaseline::default();
        let ln2 = std::f64::consts::LN_2;
        assert!((s.expected_at(ln2 / 0.016)).abs() < 1e-12);
        assert!((s.expected_at(60.0) - 0.17).abs() < 0.015);
        let (r_min, dw_min) = s
            .rates
            .iter()
            .map(|&r| (r, s.expected_at(r)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap();
        assert!((20.0..=28.0).contains(&r_min) && (dw_min + 0.07).abs() < 0.01);
    }

    #[test]
    fn counts_events_and_bursts_of_a_train() {
        let s = ConstantBaseline::default();
        // Event, burst, within-burst, event, event: 1 burst − 0.5·3 events, times η·r.
        let dw = s.delta_w(10.0, &[0.1, 0.11, 0.12, 0.5, 0.9]);
        assert!((dw - 1e-4 * (1.0 - 1.5)).abs() < 1e-15);
    }

    #[test]
    fn simulation_follows_the_expected_value() {
        let s = ConstantBaseline {
            rates: vec![20.0, 60.0],
            ..ConstantBaseline::default()
        };
        let c = run_constant_baseline(&s, 1).unwrap();
        for i in 0..2 {
            assert!((c.mean[i] - c.expected[i]).abs() < 3.0 * c.sd[i].max(1e-3));
        }
        assert!(run_constant_baseline(
            &ConstantBaseline {
                realisations: 0,
                ..s
            },
            1
        )
        .is_err());
    }
}
