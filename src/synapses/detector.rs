//! Online event/burst detection with a 16-ms spike trace (spec/plasticity.md §1.2;
//! [AUR BurstRateMonitor.cpp], [SBP TransmitEventConnection.cpp, TransmitBurstConnection.cpp]).
//!
//! Each neuron has a trace of its own spikes (τ = 16 ms, +1 per counted spike) and a flag.
//! At a spike: trace < e^(−1) → **event** (flag ← event); otherwise, if the flag says event →
//! **burst** (flag ← burst), counted once, at the second spike; otherwise the spike is ignored.
//! The trace is incremented in the trace phase, so at the test it holds only earlier spikes.
//! A presynaptic detector counts spikes `lag` steps late (the reference increments it with the
//! delayed spikes but tests it at emission), which moves its effective threshold to ≈ 16.8 ms.
//!
//! In the trace phase a counted spike adds 1 and then the trace decays by e^(−dt/τ), as Auryn's
//! traces increment before they evolve. One earlier spike k steps back is thus seen as
//! e^(−k·dt/τ), so without lag a spike is an event exactly when its ISI exceeds 16 ms, like the
//! offline rule. The trace is advanced lazily, at counted spikes, so the cost is proportional
//! to spikes.

use super::powers::Powers;

/// Burst-detector time constant, s [P21; G22 §2.1].
pub const BURST_TAU: f64 = 0.016;

/// Classification of one spike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpikeClass {
    Event,
    Burst,
    /// A third or later spike of a burst.
    Ignored,
}

/// Online detectors for the neurons of one population.
#[derive(Clone, Debug)]
pub struct BurstDetector {
    /// Trace value just after the increment in the trace phase of step `since[i]` (before its decay).
    trace: Vec<f64>,
    since: Vec<u64>,
    last_was_event: Vec<bool>,
    /// Powers of the per-step decay e^(−dt/τ).
    decay: Powers,
    /// Steps between a spike and its count in the trace (0 postsynaptic, 8 presynaptic).
    pub lag: usize,
}

impl BurstDetector {
    /// Detectors for `n` neurons with time step `dt` (s).
    pub fn new(n: usize, dt: f64, lag: usize) -> Self {
        BurstDetector {
            trace: vec![0.0; n],
            since: vec![0; n],
            last_was_event: vec![false; n],
            decay: Powers::new((-dt / BURST_TAU).exp()),
            lag,
        }
    }

    /// Trace of neuron `i` as seen in the connection phase of `step` (earlier counts only).
    #[inline]
    pub fn trace_at(&self, i: usize, step: u64) -> f64 {
        self.trace[i] * self.decay.pow(step.saturating_sub(self.since[i]))
    }

    /// Classifies the spike of neuron `i` at `step`.
    #[inline]
    pub fn classify_one(&mut self, i: usize, step: u64) -> SpikeClass {
        // The margin keeps an ISI of exactly 16 ms a burst despite rounding in decay^k.
        if self.trace_at(i, step) < (-1.0f64).exp() * (1.0 - 1e-9) {
            self.last_was_event[i] = true;
            SpikeClass::Event
        } else if self.last_was_event[i] {
            self.last_was_event[i] = false;
            SpikeClass::Burst
        } else {
            SpikeClass::Ignored
        }
    }

    /// Classifies the spikes of `step` (ascending ids), appending events and bursts.
    pub fn classify(
        &mut self,
        spikes: &[u32],
        step: u64,
        events: &mut Vec<u32>,
        bursts: &mut Vec<u32>,
    ) {
        events.clear();
        bursts.clear();
        for &s in spikes {
            match self.classify_one(s as usize, step) {
                SpikeClass::Event => events.push(s),
                SpikeClass::Burst => bursts.push(s),
                SpikeClass::Ignored => {}
            }
        }
    }

    /// Trace phase of `step`: counts `spikes` (those emitted at `step − lag`).
    pub fn count(&mut self, spikes: &[u32], step: u64) {
        for &s in spikes {
            let i = s as usize;
            let decay = self.decay.pow(step.saturating_sub(self.since[i]));
            self.trace[i] = self.trace[i] * decay + 1.0;
            self.since[i] = step;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs one neuron with spikes at the given steps through a detector with `lag`.
    fn classes(spike_steps: &[u64], lag: u64) -> Vec<SpikeClass> {
        let mut d = BurstDetector::new(1, 1e-4, lag as usize);
        let last = spike_steps.last().copied().unwrap_or(0) + lag + 1;
        let mut out = Vec::new();
        for step in 0..=last {
            if spike_steps.contains(&step) {
                out.push(d.classify_one(0, step));
            }
            if step >= lag && spike_steps.contains(&(step - lag)) {
                d.count(&[0], step);
            }
        }
        out
    }

    #[test]
    fn isolated_doublet_triplet() {
        use SpikeClass::*;
        assert_eq!(classes(&[0, 1000, 2000], 0), vec![Event, Event, Event]);
        assert_eq!(classes(&[0, 80], 0), vec![Event, Burst]);
        assert_eq!(
            classes(&[0, 80, 160, 240], 0),
            vec![Event, Burst, Ignored, Ignored]
        );
    }

    #[test]
    fn threshold_is_sixteen_ms_without_lag() {
        use SpikeClass::*;
        // One earlier spike k steps back: trace = e^(−k·dt/τ) < e^(−1) iff k·dt > 16 ms.
        assert_eq!(classes(&[0, 161], 0), vec![Event, Event]);
        assert_eq!(classes(&[0, 160], 0), vec![Event, Burst]);
    }

    #[test]
    fn presynaptic_lag_moves_threshold() {
        use SpikeClass::*;
        assert_eq!(classes(&[0, 168], 8), vec![Event, Burst]);
        assert_eq!(classes(&[0, 169], 8), vec![Event, Event]);
    }
}
