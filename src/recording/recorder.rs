//! The recorder the engine calls in the device phase of every step: spikes to `spikes.h5`
//! (SONATA), binned online event/burst rates and state traces to `recordings.h5`, and the
//! whole-run counts for `summary.json`. Everything is streamed in fixed chunks, so memory does
//! not grow with the length of a run.

use super::h5::{ensure_group, write_str_attr, AppendColumn, AppendTable, DEFAULT_CHUNK_LEN};
use super::rates::{Counts, RateBinner};
use super::sonata::SonataWriter;
use crate::config::experiment::{RecordSpec, StpTraceSpec, TraceSpec};
use crate::engine::Network;
use crate::error::{Error, Result};
use crate::neurons::CHUNK;
use crate::Real;
use std::path::Path;

/// Spikes buffered before they are handed to the SONATA writer.
const SPIKE_BUFFER: usize = 1 << 16;

struct RateRecord {
    population: usize,
    binner: RateBinner,
    time: AppendColumn<f64>,
    rate: AppendColumn<f64>,
    event_rate: AppendColumn<f64>,
    burst_rate: AppendColumn<f64>,
    burst_probability: AppendColumn<f64>,
}

/// ΣW of a plastic projection per rate bin.
struct WeightRecord {
    projection: usize,
    time: AppendColumn<f64>,
    sum: AppendColumn<f64>,
}

/// Short-term-plasticity state (x, u) of presynaptic neurons of a projection.
struct StpRecord {
    spec: StpTraceSpec,
    group: usize,
    time: AppendColumn<f64>,
    x: AppendTable<Real>,
    u: AppendTable<Real>,
    row_x: Vec<Real>,
    row_u: Vec<Real>,
}

struct TraceRecord {
    spec: TraceSpec,
    time: AppendColumn<f64>,
    /// One table per variable: rows are samples, columns the selected neurons.
    tables: Vec<AppendTable<Real>>,
    row: Vec<Real>,
}

/// Streams a run's recordings to disk.
pub struct Recorder {
    dt: f64,
    spikes: SonataWriter,
    /// (population, writer index) of recorded spike trains.
    spike_pops: Vec<(usize, usize)>,
    times: Vec<f64>,
    ids: Vec<u64>,
    rates: Vec<RateRecord>,
    weights: Vec<WeightRecord>,
    bin_steps: u64,
    traces: Vec<TraceRecord>,
    stp: Vec<StpRecord>,
    bin_seconds: f64,
    /// First step counted in `totals`.
    start_step: u64,
    /// Counts per population from `start_step` on.
    pub totals: Vec<Counts>,
    /// Synaptic events (spikes × out-degree) over the whole run.
    pub synaptic_events: u64,
    fanout: Vec<Vec<u32>>,
    /// The first write error; recording stops there and the run reports it at the end.
    error: Option<Error>,
}

impl Recorder {
    /// Creates `spikes.h5` and `recordings.h5` in `dir` for `net`.
    pub fn create(
        dir: &Path,
        record: &RecordSpec,
        summary_start: f64,
        net: &Network,
    ) -> Result<Self> {
        let names: Vec<&str> = record
            .spikes
            .iter()
            .map(|&p| net.populations[p].name.as_str())
            .collect();
        let spikes = SonataWriter::create(&dir.join("spikes.h5"), &names)?;
        let path = dir.join("recordings.h5");
        let file = hdf5::File::create(&path).map_err(|e| Error::hdf5(&path, e))?;
        let bin_steps = (record.rate_bin / net.dt).round() as u64;
        let mut rates = Vec::new();
        for &p in &record.rates {
            let g = ensure_group(&file, &format!("rates/{}", net.populations[p].name))?;
            write_str_attr(&g, "bin", &format!("{} s", record.rate_bin))?;
            write_str_attr(
                &g,
                "rule",
                "online 16-ms trace detector (spec/plasticity.md §1.2)",
            )?;
            let col = |name: &str, units: &str| -> Result<AppendColumn<f64>> {
                let c = AppendColumn::create(&g, name, 4096)?;
                write_str_attr(c.dataset(), "units", units)?;
                Ok(c)
            };
            rates.push(RateRecord {
                population: p,
                binner: RateBinner::new(bin_steps),
                time: col("time", "s")?,
                rate: col("rate", "Hz")?,
                event_rate: col("event_rate", "Hz")?,
                burst_rate: col("burst_rate", "Hz")?,
                burst_probability: col("burst_probability", "1")?,
            });
        }
        let mut weights = Vec::new();
        for (k, proj) in net.projections.iter().enumerate() {
            if proj.plastic.is_none() {
                continue;
            }
            let g = ensure_group(&file, &format!("weights/{}", proj.spec.name))?;
            let time = AppendColumn::create(&g, "time", 4096)?;
            write_str_attr(time.dataset(), "units", "s")?;
            let sum = AppendColumn::create(&g, "sum", 4096)?;
            write_str_attr(
                sum.dataset(),
                "units",
                "1 (units of the target's leak conductance)",
            )?;
            weights.push(WeightRecord {
                projection: k,
                time,
                sum,
            });
        }
        let mut traces = Vec::new();
        for spec in &record.traces {
            let pop = &net.populations[spec.population];
            let g = ensure_group(&file, &format!("traces/{}", pop.name))?;
            let ids = AppendColumn::<u64>::create(&g, "node_ids", spec.neurons.len().max(1))?;
            let mut ids = ids;
            ids.extend(&spec.neurons.iter().map(|&i| i as u64).collect::<Vec<_>>())?;
            ids.close()?;
            let time = AppendColumn::create(&g, "time", DEFAULT_CHUNK_LEN)?;
            write_str_attr(time.dataset(), "units", "s")?;
            let rows = (DEFAULT_CHUNK_LEN / spec.neurons.len().max(1)).max(16);
            let tables = spec
                .variables
                .iter()
                .map(|(name, _)| AppendTable::create(&g, name, spec.neurons.len(), rows))
                .collect::<Result<Vec<_>>>()?;
            traces.push(TraceRecord {
                spec: spec.clone(),
                time,
                tables,
                row: vec![0.0; spec.neurons.len()],
            });
        }
        let mut stp = Vec::new();
        for spec in &record.stp {
            let proj = &net.projections[spec.projection];
            let group = proj.spec.stp.expect("validated: the projection has STP");
            let g = ensure_group(&file, &format!("stp/{}", proj.spec.name))?;
            let ids: Vec<u64> = spec.neurons.iter().map(|&i| i as u64).collect();
            let mut node_ids = AppendColumn::<u64>::create(&g, "node_ids", ids.len().max(1))?;
            node_ids.extend(&ids)?;
            node_ids.close()?;
            let time = AppendColumn::create(&g, "time", DEFAULT_CHUNK_LEN)?;
            write_str_attr(time.dataset(), "units", "s")?;
            let rows = (DEFAULT_CHUNK_LEN / ids.len().max(1)).max(16);
            let x = AppendTable::create(&g, "x", ids.len(), rows)?;
            write_str_attr(
                x.dataset(),
                "meaning",
                "available resources, after the step",
            )?;
            let u = AppendTable::create(&g, "u", ids.len(), rows)?;
            write_str_attr(u.dataset(), "meaning", "utilisation, after the step")?;
            stp.push(StpRecord {
                spec: spec.clone(),
                group,
                time,
                x,
                u,
                row_x: vec![0.0; ids.len()],
                row_u: vec![0.0; ids.len()],
            });
        }
        Ok(Recorder {
            dt: net.dt,
            spikes,
            spike_pops: record
                .spikes
                .iter()
                .enumerate()
                .map(|(w, &p)| (p, w))
                .collect(),
            times: Vec::with_capacity(SPIKE_BUFFER),
            ids: Vec::with_capacity(SPIKE_BUFFER),
            rates,
            weights,
            bin_steps,
            traces,
            stp,
            bin_seconds: record.rate_bin,
            start_step: (summary_start / net.dt).round() as u64,
            totals: vec![Counts::default(); net.populations.len()],
            synaptic_events: 0,
            fanout: net.fanout(),
            error: None,
        })
    }

    /// Records step `n` of `net` (called in the device phase).
    pub fn record(&mut self, net: &Network, n: u64) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.try_record(net, n) {
            self.error = Some(e);
        }
    }

    fn step_counts(net: &Network, p: usize, n: u64) -> Counts {
        let out = &net.outputs[p];
        Counts {
            spikes: out.ring.slot(n).len() as u64,
            events: out.post.as_ref().map_or(0, |c| c.events.len() as u64),
            bursts: out.post.as_ref().map_or(0, |c| c.bursts.len() as u64),
        }
    }

    fn try_record(&mut self, net: &Network, n: u64) -> Result<()> {
        for p in 0..net.populations.len() {
            let spikes = net.spikes_at(p, n);
            let fan = &self.fanout[p];
            if !fan.is_empty() {
                self.synaptic_events += spikes.iter().map(|&s| fan[s as usize] as u64).sum::<u64>();
            }
            if n >= self.start_step {
                self.totals[p].add(Self::step_counts(net, p, n));
            }
        }
        let t_ms = n as f64 * self.dt * 1e3;
        for &(p, w) in &self.spike_pops {
            let spikes = net.spikes_at(p, n);
            if spikes.is_empty() {
                continue;
            }
            self.times.clear();
            self.ids.clear();
            self.times.resize(spikes.len(), t_ms);
            self.ids.extend(spikes.iter().map(|&s| s as u64));
            self.spikes.append(w, &self.times, &self.ids)?;
        }
        for r in &mut self.rates {
            let size = net.populations[r.population].size;
            if let Some(c) = r.binner.push(n, Self::step_counts(net, r.population, n)) {
                let rates = c.rates(size, self.bin_seconds);
                r.time.push((n + 1) as f64 * self.dt)?;
                r.rate.push(rates.rate)?;
                r.event_rate.push(rates.event_rate)?;
                r.burst_rate.push(rates.burst_rate)?;
                r.burst_probability.push(rates.burst_probability)?;
            }
        }
        if (n + 1) % self.bin_steps == 0 {
            for w in &mut self.weights {
                w.time.push((n + 1) as f64 * self.dt)?;
                w.sum.push(net.weight_sum(w.projection).unwrap_or(0.0))?;
            }
        }
        for tr in &mut self.traces {
            if n % tr.spec.interval_steps != 0 {
                continue;
            }
            tr.time.push((n + 1) as f64 * self.dt)?;
            let chunks = &net.chunks[net.populations[tr.spec.population].chunks.clone()];
            for ((_, var), table) in tr.spec.variables.iter().zip(&mut tr.tables) {
                for (slot, &i) in tr.row.iter_mut().zip(&tr.spec.neurons) {
                    let i = i as usize;
                    *slot = chunks[i / CHUNK].neurons.sample(*var, i % CHUNK);
                }
                table.push_row(&tr.row)?;
            }
        }
        for r in &mut self.stp {
            if n % r.spec.interval_steps != 0 {
                continue;
            }
            r.time.push((n + 1) as f64 * self.dt)?;
            let state = &net.stp[r.group].state;
            for ((x, u), &i) in r.row_x.iter_mut().zip(&mut r.row_u).zip(&r.spec.neurons) {
                // The state after this step's jumps and recovery, i.e. at the start of the next.
                let (sx, su) = state.at(i as usize, n + 1);
                (*x, *u) = (sx as Real, su as Real);
            }
            r.x.push_row(&r.row_x)?;
            r.u.push_row(&r.row_u)?;
        }
        Ok(())
    }

    /// Writes what is buffered and closes both files; returns the first error of the run.
    pub fn close(self) -> Result<()> {
        let Recorder {
            spikes,
            rates,
            weights,
            traces,
            stp,
            error,
            ..
        } = self;
        let mut result = spikes.close();
        for r in rates {
            for c in [
                r.time,
                r.rate,
                r.event_rate,
                r.burst_rate,
                r.burst_probability,
            ] {
                result = result.and(c.close());
            }
        }
        for w in weights {
            result = result.and(w.time.close()).and(w.sum.close());
        }
        for t in traces {
            result = result.and(t.time.close());
            for table in t.tables {
                result = result.and(table.close());
            }
        }
        for r in stp {
            result = result.and(r.time.close()).and(r.x.close()).and(r.u.close());
        }
        match error {
            Some(e) => Err(e),
            None => result,
        }
    }
}
