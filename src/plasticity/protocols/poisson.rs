//! (b) Poisson protocol, [P21] Fig 2C (spec/plasticity.md §6b;
//! [SBP analysis/plasticity-protocol/simulate_randomprotocol_adaptive_rule.py,
//! simulate_randomprotocol.py]).
//!
//! Pre and post are independent renewal trains with ISI = τ_ref + Exp(λ), λ = r/(1 − τ_ref·r),
//! which fires at rate r with a dead time τ_ref = 2 ms. Each realisation runs a fresh synapse
//! for 100 s with dt = 1 ms, from Ē = 5 Hz and B̄ = P̄(0)·5 Hz.
//!
//! The authors' closed-form approximation ([`closed_form`], `simulate_randomprotocol.analytical`)
//! takes the mean presynaptic trace as τ_pre·E and lets both averages relax exponentially
//! (τ_avg) from their initial values to the stationary rates E = r·P_> and B = E·(1 − P_>), where
//! P_> = e^(−λ(16 ms − τ_ref)) is the probability that an ISI exceeds the burst threshold:
//! ΔW = η·τ_pre·E·(B·D − E·∫₀ᴰ P̄(t) dt).
//!
//! Shape: BCM-like, LTD at low rates and LTP at high rates; the crossover rises with P̄(0).

use super::{
    bisect, check, check_grid, check_run, classify_steps, crossover, linspace, realisation_stream,
    steps_in, Averages, Rule, Synapse,
};
use crate::analysis::bursts::BURST_ISI_MS;
use crate::analysis::readouts::mean_sd;
use crate::engine::rng::Rng;
use crate::error::Result;
use rand::Rng as _;
use rand_distr::Exp1;
use rayon::prelude::*;

/// The closed-form ΔW of spec/plasticity.md §6b for P̄(0) = 0.30 and 0.50, per rate in Hz, as
/// tabulated there (two decimals; rates to 0.1 Hz of the grid linspace(1, 50, 10)).
pub const REFERENCE_CLOSED_FORM: [(f64, [f64; 10]); 2] = [
    (
        0.30,
        [
            -0.04, -0.51, -0.75, -0.62, -0.17, 0.53, 1.37, 2.28, 3.19, 4.04,
        ],
    ),
    (
        0.50,
        [
            -0.07, -0.98, -1.79, -2.21, -2.25, -1.97, -1.46, -0.80, -0.07, 0.68,
        ],
    ),
];

/// Settings of the Poisson protocol; [`Default`] holds the values of §6b.
#[derive(Clone, Debug, PartialEq)]
pub struct Poisson {
    /// Firing rates r of pre and post, Hz.
    pub rates: Vec<f64>,
    /// Initial burst probabilities P̄(0) = B̄(0)/Ē(0), one curve each.
    pub initial_burst_probabilities: Vec<f64>,
    /// Initial Ē, Hz.
    pub initial_event_rate: f64,
    /// Dead time τ_ref of the renewal trains, s.
    pub dead_time: f64,
    /// Duration D of one realisation, s.
    pub duration: f64,
    /// Time step, s.
    pub dt: f64,
    /// Realisations per rate (a fresh synapse and fresh trains each).
    pub realisations: usize,
    /// The rule's parameters.
    pub rule: Rule,
}

impl Default for Poisson {
    fn default() -> Self {
        Poisson {
            rates: linspace(1.0, 50.0, 10),
            initial_burst_probabilities: vec![0.30, 0.50],
            initial_event_rate: 5.0,
            dead_time: 0.002,
            duration: 100.0,
            dt: 1e-3,
            realisations: 20,
            rule: Rule::PROTOCOLS,
        }
    }
}

/// ΔW versus rate for one P̄(0).
#[derive(Clone, Debug, PartialEq)]
pub struct PoissonCurve {
    /// P̄(0).
    pub initial_burst_probability: f64,
    /// Rates, Hz.
    pub rates: Vec<f64>,
    /// Mean ΔW over the realisations, per rate.
    pub mean: Vec<f64>,
    /// Sample SD of ΔW over the realisations (0 for one realisation), per rate.
    pub sd: Vec<f64>,
    /// The closed-form approximation, per rate.
    pub closed_form: Vec<f64>,
    /// LTD → LTP crossover of the simulated means (linear interpolation), Hz.
    pub crossover_simulated: Option<f64>,
    /// LTD → LTP crossover of the closed form within the rate range (bisection to 1 mHz), Hz.
    pub crossover_closed_form: Option<f64>,
}

impl Poisson {
    /// Checks the settings; every problem is an [`crate::Error::Config`].
    pub fn validate(&self) -> Result<()> {
        check(
            self.dead_time.is_finite() && self.dead_time >= 0.0,
            "poisson.dead_time",
            "must be ≥ 0 s",
        )?;
        // The exponential part of the ISI needs a positive rate λ = r/(1 − τ_ref·r).
        let max_rate = if self.dead_time > 0.0 {
            0.999 / self.dead_time
        } else {
            1e4
        };
        check_grid(&self.rates, "poisson.rates", 1e-3, max_rate)?;
        check_grid(
            &self.initial_burst_probabilities,
            "poisson.initial_burst_probabilities",
            0.0,
            1.0,
        )?;
        check(
            self.initial_event_rate.is_finite() && self.initial_event_rate > 0.0,
            "poisson.initial_event_rate",
            "must be > 0 Hz",
        )?;
        check_run("poisson", self.dt, self.duration, self.realisations)?;
        self.rule.validate("poisson.rule", self.dt)
    }

    fn initial(&self, initial_burst_probability: f64) -> Averages {
        Averages {
            event_rate: self.initial_event_rate,
            burst_rate: initial_burst_probability * self.initial_event_rate,
        }
    }

    /// The closed-form ΔW at `rate` (Hz) for `initial_burst_probability`.
    pub fn closed_form_at(&self, rate: f64, initial_burst_probability: f64) -> f64 {
        closed_form(
            &self.rule,
            rate,
            self.dead_time,
            self.duration,
            self.initial(initial_burst_probability),
        )
    }
}

/// The authors' closed-form approximation of the Poisson protocol's ΔW: rate `rate` (Hz),
/// dead time `dead_time` and duration `duration` (s), averages starting at `initial`.
///
/// With a = B̄(0)/B − 1 and b = Ē(0)/E − 1, P̄(t) = (B/E)·(1 + a·e^(−t/τ))/(1 + b·e^(−t/τ)),
/// whose integral is (B/E)·[F(D) − F(0)] with F(x) = (τ·(b − a)·ln(b + e^(x/τ)) + a·x)/b
/// (spec/plasticity.md §6b); for b = 0 it is (B/E)·(D + a·τ·(1 − e^(−D/τ))).
pub fn closed_form(
    rule: &Rule,
    rate: f64,
    dead_time: f64,
    duration: f64,
    initial: Averages,
) -> f64 {
    let tau = rule.tau_avg;
    let lambda = rate / (1.0 - dead_time * rate);
    let p_longer = (-lambda * (BURST_ISI_MS * 1e-3 - dead_time).max(0.0)).exp();
    let e = rate * p_longer;
    let b_rate = e * (1.0 - p_longer);
    let a = initial.burst_rate / b_rate - 1.0;
    let b = initial.event_rate / e - 1.0;
    let bracket = if b.abs() < 1e-12 {
        duration + a * tau * (1.0 - (-duration / tau).exp())
    } else {
        let f = |x: f64| (tau * (b - a) * (b + (x / tau).exp()).ln() + a * x) / b;
        f(duration) - f(0.0)
    };
    let p_bar_integral = b_rate / e * bracket;
    rule.eta * rule.tau_pre * e * (b_rate * duration - e * p_bar_integral)
}

/// A renewal train on [0, `duration`) s with ISI = `dead_time` + Exp(λ), λ = r/(1 − τ_ref·r), so
/// that it fires at `rate` Hz; the first ISI counts from 0. `rate` > 0 and `rate·dead_time` < 1.
pub fn renewal_train(rng: &mut Rng, rate: f64, dead_time: f64, duration: f64) -> Vec<f64> {
    let mean_exponential = (1.0 - dead_time * rate) / rate;
    let mut times = Vec::with_capacity((rate * duration * 1.2) as usize + 8);
    let mut t = 0.0;
    loop {
        t += dead_time + rng.sample::<f64, _>(Exp1) * mean_exponential;
        if t >= duration {
            return times;
        }
        times.push(t);
    }
}

/// Runs the Poisson protocol: one curve per P̄(0). Realisation k at rate index i draws its pre
/// and post trains from one stream; the P̄(0) curves share those trains, so they differ only by
/// the initial averages.
pub fn run_poisson(settings: &Poisson, seed: u64) -> Result<Vec<PoissonCurve>> {
    settings.validate()?;
    let s = settings;
    let n_steps = steps_in(s.duration, s.dt);
    let runs: Vec<Vec<f64>> = (0..s.rates.len() * s.realisations)
        .into_par_iter()
        .map(|job| {
            let (i, k) = (job / s.realisations, job % s.realisations);
            let mut rng = realisation_stream(seed, "poisson", &[i as u64], k);
            let pre = renewal_train(&mut rng, s.rates[i], s.dead_time, s.duration);
            let post = renewal_train(&mut rng, s.rates[i], s.dead_time, s.duration);
            let pre = classify_steps(&pre, s.dt, n_steps);
            let post = classify_steps(&post, s.dt, n_steps);
            s.initial_burst_probabilities
                .iter()
                .map(|&p0| Synapse::new(&s.rule, s.dt, s.initial(p0)).run(&pre, &post))
                .collect()
        })
        .collect();
    let (r_lo, r_hi) = (s.rates[0], s.rates[s.rates.len() - 1]);
    let curves = s
        .initial_burst_probabilities
        .iter()
        .enumerate()
        .map(|(j, &p0)| {
            let (mean, sd): (Vec<f64>, Vec<f64>) = s
                .rates
                .iter()
                .enumerate()
                .map(|(i, _)| {
                    let dw: Vec<f64> = (0..s.realisations)
                        .map(|k| runs[i * s.realisations + k][j])
                        .collect();
                    mean_sd(&dw)
                })
                .unzip();
            let closed: Vec<f64> = s.rates.iter().map(|&r| s.closed_form_at(r, p0)).collect();
            // The closed form is smooth in r: scan a fine grid for the sign change, then bisect.
            let fine = linspace(r_lo, r_hi, 1000);
            let fine_dw: Vec<f64> = fine.iter().map(|&r| s.closed_form_at(r, p0)).collect();
            let crossover_closed_form = (1..fine.len())
                .find(|&i| fine_dw[i - 1] < 0.0 && fine_dw[i] >= 0.0)
                .map(|i| bisect(fine[i - 1], fine[i], 1e-3, |r| s.closed_form_at(r, p0)));
            PoissonCurve {
                initial_burst_probability: p0,
                rates: s.rates.clone(),
                crossover_simulated: crossover(&s.rates, &mean),
                mean,
                sd,
                closed_form: closed,
                crossover_closed_form,
            }
        })
        .collect();
    Ok(curves)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{stream, Purpose};

    #[test]
    fn closed_form_reproduces_the_reference_table() {
        let s = Poisson::default();
        for (p0, table) in REFERENCE_CLOSED_FORM {
            for (&r, &dw_ref) in s.rates.iter().zip(&table) {
                let dw = s.closed_form_at(r, p0);
                assert!(
                    (dw - dw_ref).abs() <= 0.005 + 1e-9,
                    "P̄(0) = {p0}, r = {r:.1} Hz: {dw:.4} vs {dw_ref}"
                );
            }
        }
    }

    #[test]
    fn closed_form_without_initial_offset_is_stationary() {
        // Averages that start at the stationary rates (b = 0 and a = 0) give P̄ = B/E throughout,
        // hence zero drift.
        let rule = Rule::PROTOCOLS;
        let (r, dead): (f64, f64) = (20.0, 0.002);
        let p = (-(r / (1.0 - dead * r)) * 0.014).exp();
        let initial = Averages {
            event_rate: r * p,
            burst_rate: r * p * (1.0 - p),
        };
        assert!(closed_form(&rule, r, dead, 100.0, initial).abs() < 1e-9);
    }

    #[test]
    fn renewal_trains_have_the_rate_and_the_dead_time() {
        let mut rng = stream(1, Purpose::Protocol, &[0]);
        let t = renewal_train(&mut rng, 40.0, 0.002, 500.0);
        let rate = t.len() as f64 / 500.0;
        assert!((rate - 40.0).abs() < 1.0, "rate {rate}");
        assert!(t.windows(2).all(|w| w[1] - w[0] >= 0.002));
        assert!(t[0] >= 0.002 && *t.last().unwrap() < 500.0);
    }

    #[test]
    fn runs_are_reproducible_and_reject_bad_settings() {
        let s = Poisson {
            rates: vec![10.0, 40.0],
            duration: 5.0,
            realisations: 3,
            ..Poisson::default()
        };
        assert_eq!(run_poisson(&s, 4).unwrap(), run_poisson(&s, 4).unwrap());
        assert_ne!(run_poisson(&s, 4).unwrap(), run_poisson(&s, 5).unwrap());
        let bad = Poisson {
            rates: vec![600.0],
            ..s.clone()
        };
        assert!(run_poisson(&bad, 1).is_err());
        let bad = Poisson {
            realisations: 0,
            ..s
        };
        assert!(run_poisson(&bad, 1).is_err());
    }
}
