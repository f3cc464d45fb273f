//! (c) Burst-Poisson protocol, [P21] Fig 2D (spec/plasticity.md §6c;
//! [SBP analysis/plasticity-protocol/simulate_burstpoissonprotocol_adaptive_rule.py,
//! pairingprotocols.py]).
//!
//! Pre and post are independent. Each generates events at intervals of 20 ms + Exp(λ),
//! λ = ER/(1 − 0.02·ER); after each event, with probability p, a second spike follows after
//! 2 ms + U(0, 10 ms), and the next interval counts from that last spike. Each realisation runs
//! a fresh synapse for 100 s with dt = 1 ms, from Ē = ER and B̄ = 0.2·ER.
//!
//! Shape: ΔW rises about linearly with p, crosses zero near p ≈ P̄(0) = 0.2, and the slope grows
//! with ER (the mean presynaptic trace and the postsynaptic event count both scale with ER).

use super::{
    check, check_grid, check_run, classify_steps, realisation_stream, steps_in, Averages, Rule,
    Synapse,
};
use crate::analysis::readouts::mean_sd;
use crate::engine::rng::Rng;
use crate::error::Result;
use rand::Rng as _;
use rand_distr::Exp1;
use rayon::prelude::*;

/// Reference ΔW of spec/plasticity.md §6c (approx. ref.; SD across runs 0.05–0.7): per event
/// rate ER in Hz, (p, ΔW) pairs.
pub const REFERENCE: [(f64, [(f64, f64); 4]); 2] = [
    (5.0, [(0.0, -0.37), (0.2, 0.06), (0.3, 0.20), (0.45, 0.50)]),
    (
        10.0,
        [(0.0, -1.43), (0.2, -0.29), (0.3, 0.91), (0.45, 1.66)],
    ),
];

/// Settings of the burst-Poisson protocol; [`Default`] holds the values of §6c.
#[derive(Clone, Debug, PartialEq)]
pub struct BurstPoisson {
    /// Burst probabilities p of pre and post.
    pub burst_probabilities: Vec<f64>,
    /// Event rates ER of pre and post, Hz; one curve each.
    pub event_rates: Vec<f64>,
    /// Initial P̄ = B̄(0)/Ē(0), with Ē(0) = ER.
    pub initial_burst_probability: f64,
    /// Dead time before the exponential part of an inter-event interval, s.
    pub event_dead_time: f64,
    /// Shortest delay of a burst's second spike after its event, s.
    pub burst_delay: f64,
    /// Width of the uniform jitter added to `burst_delay`, s.
    pub burst_jitter: f64,
    /// Duration of one realisation, s.
    pub duration: f64,
    /// Time step, s.
    pub dt: f64,
    /// Realisations per (ER, p).
    pub realisations: usize,
    /// The rule's parameters.
    pub rule: Rule,
}

impl Default for BurstPoisson {
    fn default() -> Self {
        BurstPoisson {
            burst_probabilities: (0..10).map(|i| 0.05 * i as f64).collect(),
            event_rates: vec![5.0, 10.0],
            initial_burst_probability: 0.2,
            event_dead_time: 0.020,
            burst_delay: 0.002,
            burst_jitter: 0.010,
            duration: 100.0,
            dt: 1e-3,
            realisations: 20,
            rule: Rule::PROTOCOLS,
        }
    }
}

/// ΔW versus burst probability for one event rate.
#[derive(Clone, Debug, PartialEq)]
pub struct BurstPoissonCurve {
    /// ER, Hz.
    pub event_rate: f64,
    /// Burst probabilities p.
    pub burst_probabilities: Vec<f64>,
    /// Mean ΔW over the realisations, per p.
    pub mean: Vec<f64>,
    /// Sample SD of ΔW over the realisations (0 for one realisation), per p.
    pub sd: Vec<f64>,
    /// Least-squares line through the means against p: its slope (ΔW per unit p).
    pub slope: f64,
    /// Where that line crosses zero (`None` unless it rises). The line, not the first sign
    /// change of the means, because near the crossing the means change by less than their
    /// standard error from one p to the next.
    pub zero_crossing: Option<f64>,
}

impl BurstPoisson {
    /// Checks the settings; every problem is an [`crate::Error::Config`].
    pub fn validate(&self) -> Result<()> {
        check_grid(
            &self.burst_probabilities,
            "burst_poisson.burst_probabilities",
            0.0,
            1.0,
        )?;
        check(
            self.event_dead_time.is_finite() && self.event_dead_time >= 0.0,
            "burst_poisson.event_dead_time",
            "must be ≥ 0 s",
        )?;
        let max_rate = if self.event_dead_time > 0.0 {
            0.999 / self.event_dead_time
        } else {
            1e4
        };
        check_grid(
            &self.event_rates,
            "burst_poisson.event_rates",
            1e-3,
            max_rate,
        )?;
        for (key, v) in [
            ("burst_poisson.burst_delay", self.burst_delay),
            ("burst_poisson.burst_jitter", self.burst_jitter),
        ] {
            check(v.is_finite() && v >= 0.0, key, "must be ≥ 0 s")?;
        }
        check(
            (0.0..=1.0).contains(&self.initial_burst_probability),
            "burst_poisson.initial_burst_probability",
            "must lie in [0, 1]",
        )?;
        check_run("burst_poisson", self.dt, self.duration, self.realisations)?;
        self.rule.validate("burst_poisson.rule", self.dt)
    }

    /// A pre or post train at event rate `event_rate` (Hz) and burst probability `p`, s.
    pub fn train(&self, rng: &mut Rng, event_rate: f64, p: f64) -> Vec<f64> {
        let mean_exponential = (1.0 - self.event_dead_time * event_rate) / event_rate;
        let mut times = Vec::with_capacity((event_rate * self.duration * 1.5) as usize + 8);
        let mut t = 0.0;
        loop {
            t += self.event_dead_time + rng.sample::<f64, _>(Exp1) * mean_exponential;
            if t >= self.duration {
                return times;
            }
            times.push(t);
            if rng.random::<f64>() < p {
                t += self.burst_delay + self.burst_jitter * rng.random::<f64>();
                if t >= self.duration {
                    return times;
                }
                times.push(t);
            }
        }
    }
}

/// Runs the burst-Poisson protocol: one curve per event rate. Realisation k at (ER index i,
/// p index j) draws its pre and post trains from one stream.
pub fn run_burst_poisson(settings: &BurstPoisson, seed: u64) -> Result<Vec<BurstPoissonCurve>> {
    settings.validate()?;
    let s = settings;
    let n_steps = steps_in(s.duration, s.dt);
    let (n_p, n_k) = (s.burst_probabilities.len(), s.realisations);
    let runs: Vec<f64> = (0..s.event_rates.len() * n_p * n_k)
        .into_par_iter()
        .map(|job| {
            let (i, j, k) = (job / (n_p * n_k), job / n_k % n_p, job % n_k);
            let (er, p) = (s.event_rates[i], s.burst_probabilities[j]);
            let mut rng = realisation_stream(seed, "burst_poisson", &[i as u64, j as u64], k);
            let pre = classify_steps(&s.train(&mut rng, er, p), s.dt, n_steps);
            let post = classify_steps(&s.train(&mut rng, er, p), s.dt, n_steps);
            let initial = Averages {
                event_rate: er,
                burst_rate: s.initial_burst_probability * er,
            };
            Synapse::new(&s.rule, s.dt, initial).run(&pre, &post)
        })
        .collect();
    let curves = s
        .event_rates
        .iter()
        .enumerate()
        .map(|(i, &er)| {
            let (mean, sd): (Vec<f64>, Vec<f64>) = (0..n_p)
                .map(|j| mean_sd(&runs[(i * n_p + j) * n_k..][..n_k]))
                .unzip();
            let (slope, intercept) = line_fit(&s.burst_probabilities, &mean);
            BurstPoissonCurve {
                event_rate: er,
                burst_probabilities: s.burst_probabilities.clone(),
                mean,
                sd,
                slope,
                zero_crossing: (slope > 0.0).then(|| -intercept / slope),
            }
        })
        .collect();
    Ok(curves)
}

/// Least-squares line y = slope·x + intercept through the points (slope 0 when the xs do
/// not vary).
fn line_fit(xs: &[f64], ys: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    (slope, my - slope * mx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::bursts::{IsiRule, SpikeClass};
    use crate::engine::rng::{stream, Purpose};

    #[test]
    fn trains_have_events_at_er_and_bursts_with_probability_p() {
        let s = BurstPoisson {
            duration: 1000.0,
            ..BurstPoisson::default()
        };
        let mut rng = stream(2, Purpose::Protocol, &[0]);
        let t = s.train(&mut rng, 10.0, 0.3);
        let ms: Vec<f64> = t.iter().map(|t| t * 1e3).collect();
        let classes = IsiRule::default().classify_train(&ms);
        let count = |c| classes.iter().filter(|&&x| x == c).count() as f64;
        let (events, bursts) = (count(SpikeClass::Event), count(SpikeClass::Burst));
        assert_eq!(count(SpikeClass::WithinBurst), 0.0);
        // Every interval is 1/ER on average plus the burst's delay (7 ms on average) with
        // probability p, so the event rate is slightly below ER.
        let expected = 1.0 / (0.1 + 0.3 * 0.007);
        assert!((events / 1000.0 - expected).abs() < 0.3, "{events} events");
        assert!(
            (bursts / events - 0.3).abs() < 0.02,
            "BP {}",
            bursts / events
        );
    }

    #[test]
    fn line_fit_and_reproducibility() {
        assert_eq!(line_fit(&[0.0, 1.0, 2.0], &[1.0, 3.0, 5.0]), (2.0, 1.0));
        let s = BurstPoisson {
            burst_probabilities: vec![0.0, 0.4],
            event_rates: vec![10.0],
            duration: 20.0,
            realisations: 2,
            ..BurstPoisson::default()
        };
        let a = run_burst_poisson(&s, 9).unwrap();
        assert_eq!(a, run_burst_poisson(&s, 9).unwrap());
        // No bursts: every postsynaptic event depresses, so ΔW < 0.
        assert!(a[0].mean[0] < 0.0);
        let bad = BurstPoisson {
            event_rates: vec![60.0],
            ..s
        };
        assert!(run_burst_poisson(&bad, 9).is_err());
    }
}
