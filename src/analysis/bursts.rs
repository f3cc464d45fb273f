//! Offline event/burst classification of recorded spike trains with the ISI rule
//! (spec/plasticity.md §1.1; [SBP analysis/raster_analysis.py]).
//!
//! Per neuron, with its spikes in time order:
//! - the first spike is an **event**;
//! - a spike whose ISI (time since the neuron's previous spike) exceeds the burst threshold
//!   (16 ms by default) is an **event**;
//! - otherwise, if the previously *classified* item of the neuron (event or burst) was an event,
//!   the spike is the **burst** marker (the burst is counted once, at this second spike);
//! - otherwise the spike is a third or later spike of a burst, **within-burst**, and ignored.
//!
//! A burst is thus the run of spikes that starts at an event and continues while ISIs stay
//! at or below the threshold; its length in spikes is 2 + its within-burst spikes.
//!
//! **Boundary.** An ISI of exactly the threshold is *not* an event (event iff ISI > threshold),
//! as in the online detector ([`crate::synapses::detector`]). Spike times are f64 ms; simulator
//! times are multiples of the 0.1-ms step computed as `n·dt`, so a difference of two times that
//! should be exactly 16 ms can come out a few ulp above or below it. ISIs within
//! [`TIME_TOLERANCE_MS`] (1 ns) above the threshold therefore still count as equal to it. The
//! tolerance is far below any simulation step and far above the rounding error of times up to
//! 10⁹ ms (≈ 11.6 days, where one ulp is 1.2·10⁻⁷ ms).
//!
//! The online rule (§1.2) differs; see [`crate::analysis::offline`] for the consequences.

/// Default burst threshold on the ISI, ms [P21; G22 §2.1; SBP].
pub const BURST_ISI_MS: f64 = 16.0;

/// Rounding allowance on spike-time differences, ms (1 ns): ISIs and bin positions that differ
/// from a boundary by less than this are taken to lie on it.
pub const TIME_TOLERANCE_MS: f64 = 1e-6;

/// Class of one spike under the offline ISI rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpikeClass {
    /// An isolated spike or the first spike of a burst.
    Event,
    /// The second spike of a burst: the burst is counted here, at this spike's time.
    Burst,
    /// A third or later spike of a burst (not counted as event or burst).
    WithinBurst,
}

/// Classification state of one neuron: the time of its last spike and whether its last
/// classified item was an event.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NeuronIsiState {
    /// Time of the neuron's previous spike, ms (−∞ before its first spike).
    pub last_ms: f64,
    /// Whether the previous classified item (event or burst) was an event.
    pub last_was_event: bool,
}

impl Default for NeuronIsiState {
    fn default() -> Self {
        NeuronIsiState {
            last_ms: f64::NEG_INFINITY,
            last_was_event: false,
        }
    }
}

impl NeuronIsiState {
    /// Classifies a spike at `t_ms` (not earlier than the previous one) against
    /// `threshold_ms` (the threshold plus [`TIME_TOLERANCE_MS`], see [`IsiRule::effective_ms`]),
    /// and records it. The first spike of a neuron has an infinite ISI, hence is an event.
    #[inline]
    pub fn classify(&mut self, t_ms: f64, threshold_ms: f64) -> SpikeClass {
        let isi = t_ms - self.last_ms;
        self.last_ms = t_ms;
        if isi > threshold_ms {
            self.last_was_event = true;
            SpikeClass::Event
        } else if self.last_was_event {
            self.last_was_event = false;
            SpikeClass::Burst
        } else {
            SpikeClass::WithinBurst
        }
    }
}

/// The offline ISI rule with its threshold.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IsiRule {
    /// Burst threshold on the ISI, ms.
    pub threshold_ms: f64,
}

impl Default for IsiRule {
    fn default() -> Self {
        IsiRule {
            threshold_ms: BURST_ISI_MS,
        }
    }
}

impl IsiRule {
    /// The rule with a threshold of `threshold_ms` (ms, finite and > 0; checked by the caller).
    pub fn new(threshold_ms: f64) -> Self {
        IsiRule { threshold_ms }
    }

    /// The value an ISI must exceed to make an event, ms: the threshold plus the rounding
    /// allowance, so that an ISI of exactly the threshold stays a burst.
    #[inline]
    pub fn effective_ms(&self) -> f64 {
        self.threshold_ms + TIME_TOLERANCE_MS
    }

    /// Classifies the spike train of one neuron, `times_ms` in non-decreasing order (ms).
    pub fn classify_train(&self, times_ms: &[f64]) -> Vec<SpikeClass> {
        let threshold = self.effective_ms();
        let mut state = NeuronIsiState::default();
        times_ms
            .iter()
            .map(|&t| state.classify(t, threshold))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SpikeClass::*;

    #[test]
    fn doublet_triplet_and_isolated() {
        let rule = IsiRule::default();
        assert_eq!(rule.classify_train(&[]), vec![]);
        assert_eq!(rule.classify_train(&[5.0]), vec![Event]);
        assert_eq!(
            rule.classify_train(&[0.0, 100.0, 200.0]),
            vec![Event, Event, Event]
        );
        assert_eq!(
            rule.classify_train(&[0.0, 8.0, 16.0, 24.0, 100.0, 110.0]),
            vec![Event, Burst, WithinBurst, WithinBurst, Event, Burst]
        );
    }

    #[test]
    fn exactly_sixteen_ms_is_not_an_event_even_with_rounding() {
        let rule = IsiRule::default();
        // Times as the simulator computes them: step · dt · 1000.
        let t = |n: u64| n as f64 * 1e-4 * 1e3;
        for start in [0u64, 7, 12_345, 39_999_999] {
            assert_eq!(
                rule.classify_train(&[t(start), t(start + 160)]),
                vec![Event, Burst],
                "start step {start}"
            );
            assert_eq!(
                rule.classify_train(&[t(start), t(start + 161)]),
                vec![Event, Event],
                "start step {start}"
            );
        }
    }
}
