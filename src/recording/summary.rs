//! `summary.json`: the key figures of a run.

use super::rates::Counts;
use crate::engine::Network;
use crate::error::{Error, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Whole-run figures of one population. Rates are Hz per neuron over the summary window;
/// burst probability is a fraction (null for spike sources or without events).
#[derive(Debug, Clone, Serialize)]
pub struct PopulationSummary {
    pub model: String,
    pub size: usize,
    pub spikes: u64,
    pub rate_hz: f64,
    pub event_rate_hz: Option<f64>,
    pub burst_rate_hz: Option<f64>,
    pub burst_probability: Option<f64>,
}

/// ΣW of a plastic projection (weights in units of the target's leak conductance).
#[derive(Debug, Clone, Serialize)]
pub struct WeightSummary {
    pub synapses: u64,
    pub initial_sum: f64,
    pub final_sum: f64,
    pub final_mean: f64,
    /// The constant baseline at which the burst term would not have changed the weights over
    /// the run's plastic steps, A/C (crate::plasticity::RuleSums); null without postsynaptic
    /// events while plastic.
    pub rule_baseline: Option<f64>,
}

/// The figures of a run, written as `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub experiment: String,
    /// "complete", "interrupted" or "failed".
    pub status: String,
    pub seed: u64,
    pub threads: usize,
    pub dt_ms: f64,
    /// Simulated time actually run, s.
    pub simulated_s: f64,
    /// Start of the window of the population figures, s.
    pub summary_start_s: f64,
    /// Wall time of the simulation loop, s.
    pub wall_s: f64,
    /// Wall time of building the network, s.
    pub build_s: f64,
    /// Simulated seconds per wall second.
    pub speed: f64,
    pub neurons: u64,
    pub synapses: u64,
    /// Spikes × out-degree over the run.
    pub synaptic_events: u64,
    pub synaptic_events_per_s: f64,
    /// Peak resident memory of the process so far, MiB (Linux VmHWM; null elsewhere).
    pub peak_rss_mib: Option<f64>,
    pub populations: BTreeMap<String, PopulationSummary>,
    /// ΣW of every plastic projection at the start and the end of the run.
    pub plastic_weights: BTreeMap<String, WeightSummary>,
    /// Named readouts computed at the end of the run.
    pub readouts: BTreeMap<String, serde_json::Value>,
}

/// Peak resident set size of this process, MiB, from /proc/self/status (Linux only).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

impl Summary {
    /// Population figures from the recorder's totals over `window` seconds.
    pub fn populations(
        net: &Network,
        totals: &[Counts],
        window: f64,
    ) -> BTreeMap<String, PopulationSummary> {
        net.populations
            .iter()
            .zip(totals)
            .map(|(pop, c)| {
                let r = c.rates(pop.size, window.max(f64::MIN_POSITIVE));
                let neuron = !pop.model.is_source();
                let finite = |x: f64| (neuron && x.is_finite()).then_some(x);
                (
                    pop.name.clone(),
                    PopulationSummary {
                        model: pop.model_name.clone(),
                        size: pop.size,
                        spikes: c.spikes,
                        rate_hz: r.rate,
                        event_rate_hz: finite(r.event_rate),
                        burst_rate_hz: finite(r.burst_rate),
                        burst_probability: finite(r.burst_probability),
                    },
                )
            })
            .collect()
    }

    /// Writes the summary as pretty JSON to `path`.
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Parse {
            file: path.display().to_string(),
            message: e.to_string(),
        })?;
        std::fs::write(path, text + "\n").map_err(|e| Error::io(path, e))
    }
}
