//! Online binned event rate, burst rate and burst probability of a population
//! (spec/plasticity.md §1.2; [AUR BurstRateMonitor.cpp]), from the population's
//! postsynaptic burst detector (16-ms trace rule).

/// Spike, event and burst counts.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Counts {
    pub spikes: u64,
    pub events: u64,
    pub bursts: u64,
}

impl Counts {
    /// Adds another count.
    pub fn add(&mut self, other: Counts) {
        self.spikes += other.spikes;
        self.events += other.events;
        self.bursts += other.bursts;
    }

    /// Rates over `neurons` × `seconds`: (spike rate, event rate, burst rate) in Hz per neuron,
    /// and burst probability = bursts/events as a fraction (NaN without events).
    pub fn rates(&self, neurons: usize, seconds: f64) -> BinRates {
        let norm = 1.0 / (neurons as f64 * seconds);
        BinRates {
            rate: self.spikes as f64 * norm,
            event_rate: self.events as f64 * norm,
            burst_rate: self.bursts as f64 * norm,
            burst_probability: if self.events > 0 {
                self.bursts as f64 / self.events as f64
            } else {
                f64::NAN
            },
        }
    }
}

/// Rates of one bin (Hz per neuron; burst probability as a fraction).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BinRates {
    pub rate: f64,
    pub event_rate: f64,
    pub burst_rate: f64,
    pub burst_probability: f64,
}

/// Bins counts of one population into fixed bins of `bin_steps` steps.
#[derive(Clone, Debug)]
pub struct RateBinner {
    pub bin_steps: u64,
    current: Counts,
}

impl RateBinner {
    /// A binner for bins of `bin_steps` steps.
    pub fn new(bin_steps: u64) -> Self {
        RateBinner {
            bin_steps,
            current: Counts::default(),
        }
    }

    /// Adds the counts of step `n`; returns the finished bin's counts when step `n` closes a bin.
    pub fn push(&mut self, n: u64, counts: Counts) -> Option<Counts> {
        self.current.add(counts);
        ((n + 1) % self.bin_steps == 0).then(|| std::mem::take(&mut self.current))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_close_on_boundaries_and_rates_normalise() {
        let mut b = RateBinner::new(10);
        let one = Counts {
            spikes: 3,
            events: 2,
            bursts: 1,
        };
        for n in 0..9 {
            assert!(b.push(n, one).is_none());
        }
        let c = b.push(9, one).unwrap();
        assert_eq!(c.spikes, 30);
        let r = c.rates(10, 0.5);
        assert!((r.rate - 6.0).abs() < 1e-12 && (r.event_rate - 4.0).abs() < 1e-12);
        assert!((r.burst_probability - 0.5).abs() < 1e-12);
        assert!(Counts::default().rates(1, 1.0).burst_probability.is_nan());
    }
}
