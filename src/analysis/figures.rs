//! PNG figures of a run, drawn from its recordings: binned event rate, burst rate and burst
//! probability of every rated population, the signal pairs of every correlation readout, and
//! the curves of every `levels` readout, and the weight distributions of the plastic
//! projections. `burstccn plot RUN_DIR` redraws them.

use super::readouts::{RateColumn, Readout, Signal};
use crate::analysis::bursts::{IsiRule, NeuronIsiState, SpikeClass};
use crate::config::Experiment;
use crate::error::{Error, Result};
use crate::neurons::Compartment;
use crate::plot::{save_png, Figure, Panel, Series};
use crate::recording::edges;
use crate::recording::h5::read_column;
use crate::recording::sonata::SonataReader;
use std::path::{Path, PathBuf};

/// Draws every figure of the run in `dir` (which holds `recordings.h5`); returns the files written.
pub fn plot_run(dir: &Path, exp: &Experiment) -> Result<Vec<PathBuf>> {
    let path = dir.join("recordings.h5");
    let h5 = hdf5::File::open(&path).map_err(|e| Error::hdf5(&path, e))?;
    let mut written = Vec::new();

    if !exp.record.rates.is_empty() {
        let mut panels = Vec::new();
        for &p in &exp.record.rates {
            let pop = &exp.network.populations[p];
            let name = &pop.name;
            let col = |c: &str| read_column(&h5, &format!("rates/{name}/{c}"));
            let t = col("time")?;
            let series = |label: &str, v: &[f64], scale: f64| {
                Series::new(
                    label,
                    t.iter().zip(v).map(|(&t, &v)| (t, v * scale)).collect(),
                )
            };
            // Events and bursts mean something only for neurons that burst through a dendrite.
            if !pop.model.compartments().contains(&Compartment::Dendrite) {
                panels.push(Panel {
                    title: format!("{name}: firing rate"),
                    x_label: "time (s)".into(),
                    y_label: "rate (Hz per neuron)".into(),
                    series: vec![series("rate", &col("rate")?, 1.0)],
                });
                continue;
            }
            panels.push(Panel {
                title: format!("{name}: event and burst rates"),
                x_label: "time (s)".into(),
                y_label: "rate (Hz per neuron)".into(),
                series: vec![
                    series("event rate", &col("event_rate")?, 1.0),
                    series("burst rate", &col("burst_rate")?, 1.0),
                ],
            });
            panels.push(Panel {
                title: format!("{name}: burst probability"),
                x_label: "time (s)".into(),
                y_label: "burst probability (%)".into(),
                series: vec![series("BP", &col("burst_probability")?, 100.0)],
            });
        }
        let file = dir.join("rates.png");
        save_png(
            &Figure::titled(format!("{}: online event/burst rates", exp.name), panels),
            &file,
        )?;
        written.push(file);
    }

    if let Some(file) = raster(dir, exp)? {
        written.push(file);
    }
    if let Some(file) = weight_histograms(dir, &exp.name)? {
        written.push(file);
    }

    let series = super::readouts::Series::open(&path, &exp.input_names)?;
    let mut pairs = Vec::new();
    let mut curves: Vec<(String, serde_json::Value)> = Vec::new();
    for (name, r) in &exp.readouts {
        match r {
            Readout::Correlation { a, b, from, to, .. } => {
                let (t, va, vb) = series.pair(a, b)?;
                let value = series.compute(r)?;
                let r_text = value
                    .as_f64()
                    .or_else(|| value["r"].as_f64())
                    .map_or("undefined".to_string(), |r| format!("{r:.2}"));
                let keep: Vec<usize> = (0..t.len())
                    .filter(|&i| t[i] >= *from && t[i] < *to)
                    .collect();
                let z = |v: &[f64]| -> Vec<(f64, f64)> {
                    let xs: Vec<f64> = keep.iter().map(|&i| v[i]).collect();
                    let z = zscore(&xs);
                    keep.iter().zip(z).map(|(&i, z)| (t[i], z)).collect()
                };
                pairs.push(Panel {
                    title: format!("{name} (r = {r_text})"),
                    x_label: "time (s)".into(),
                    y_label: "z-score".into(),
                    series: vec![Series::new(label(a), z(&va)), Series::new(label(b), z(&vb))],
                });
            }
            Readout::Levels { .. } => curves.push((name.clone(), series.compute(r)?)),
            Readout::Mean { .. } => {}
        }
    }
    if !pairs.is_empty() {
        let file = dir.join("correlations.png");
        save_png(
            &Figure::titled(
                format!("{}: readout signals (z-scored, 50-ms bins)", exp.name),
                pairs,
            ),
            &file,
        )?;
        written.push(file);
    }
    if !curves.is_empty() {
        let curve = |key: &str, scale: f64| -> Vec<Series> {
            curves
                .iter()
                .map(|(name, v)| {
                    let ys = v[key].as_array().cloned().unwrap_or_default();
                    Series::new(
                        name.trim_start_matches("curve_"),
                        ys.iter()
                            .enumerate()
                            .filter_map(|(k, y)| Some((k as f64, y.as_f64()? * scale)))
                            .collect(),
                    )
                })
                .collect()
        };
        let file = dir.join("levels.png");
        save_png(
            &Figure {
                title: Some(format!("{}: mean over the end of each level", exp.name)),
                panels: vec![
                    Panel {
                        title: "burst probability".into(),
                        x_label: "level".into(),
                        y_label: "BP (%)".into(),
                        series: curve("burst_probability", 100.0),
                    },
                    Panel {
                        title: "event rate".into(),
                        x_label: "level".into(),
                        y_label: "ER (Hz)".into(),
                        series: curve("event_rate_hz", 1.0),
                    },
                ],
                columns: 2,
                ..Figure::default()
            },
            &file,
        )?;
        written.push(file);
    }
    Ok(written)
}

/// `seeds.png` in `out`: the binned rates of every rated population, mean ± 2 SD across the
/// runs in `dirs` (the published figure's bands), event rate and burst probability for
/// populations with a dendrite, firing rate for the others. Each panel also shows, rescaled
/// onto its axis, the injected signals of its compartment and the seed mean of every
/// population series a correlation readout compares it with (as [P21] Fig 3c–d: ER2 against
/// ER1, BP1 against BR2).
pub fn plot_seeds(out: &Path, dirs: &[PathBuf], exp: &Experiment) -> Result<PathBuf> {
    let files = dirs
        .iter()
        .map(|d| {
            let path = d.join("recordings.h5");
            hdf5::File::open(&path).map_err(|e| Error::hdf5(&path, e))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut panels = Vec::new();
    for &p in &exp.record.rates {
        let pop = &exp.network.populations[p];
        let name = &pop.name;
        let columns: &[(RateColumn, &str, f64, Compartment)] =
            if pop.model.compartments().contains(&Compartment::Dendrite) {
                // As in [P21] Fig 3: ER against the somatic signal, BP against the dendritic one.
                &[
                    (RateColumn::EventRate, "ER (Hz)", 1.0, Compartment::Soma),
                    (
                        RateColumn::BurstProbability,
                        "BP (%)",
                        100.0,
                        Compartment::Dendrite,
                    ),
                ]
            } else {
                &[(RateColumn::Rate, "rate (Hz)", 1.0, Compartment::Soma)]
            };
        for &(column, label, scale, compartment) in columns {
            let mean = seed_band(&files, name, column, scale)?;
            let mut series = if column == RateColumn::Rate {
                Vec::new()
            } else {
                signals(exp, p, compartment, &mean)
            };
            for (partner, from) in correlation_partners(exp, name, column) {
                let other = seed_band(&files, &partner.0, partner.1, 1.0)?;
                let label = format!("{} {} (rescaled)", partner.0, partner.1.short());
                series.push(rescaled_onto(other, &mean, from, label));
            }
            series.insert(0, mean);
            let short = if column == RateColumn::Rate {
                "firing rate"
            } else {
                column.short()
            };
            panels.push(Panel {
                title: format!("{name}: {short}"),
                x_label: "time (s)".into(),
                y_label: label.into(),
                series,
            });
        }
    }
    let file = out.join("seeds.png");
    save_png(
        &Figure::titled(format!("{}: across seeds", exp.name), panels),
        &file,
    )?;
    Ok(file)
}

/// The seed mean ± 2 SD of one rate column of population `name` (values × `scale`).
fn seed_band(files: &[hdf5::File], name: &str, column: RateColumn, scale: f64) -> Result<Series> {
    let t = read_column(&files[0], &format!("rates/{name}/time"))?;
    let runs = files
        .iter()
        .map(|f| read_column(f, &format!("rates/{name}/{}", column.dataset())))
        .collect::<Result<Vec<_>>>()?;
    let (mut points, mut widths) = (Vec::new(), Vec::new());
    for (i, &ti) in t.iter().enumerate() {
        let values: Vec<f64> = runs
            .iter()
            .filter_map(|r| r.get(i).map(|v| v * scale))
            .collect();
        let (m, sd) = crate::analysis::readouts::mean_sd(&values);
        points.push((ti, m));
        widths.push(2.0 * sd);
    }
    Ok(Series::new(format!("mean ± 2 SD, {} seeds", runs.len()), points).with_band(widths))
}

/// The population series that correlation readouts compare (`name`, `column`) with (as their
/// second signal), each with the readout's start time (s).
fn correlation_partners(
    exp: &Experiment,
    name: &str,
    column: RateColumn,
) -> Vec<((String, RateColumn), f64)> {
    let this = Signal::Rate(name.to_string(), column);
    exp.readouts
        .iter()
        .filter_map(|(_, r)| match r {
            Readout::Correlation {
                a,
                b: Signal::Rate(pop, col),
                from,
                ..
            } if *a == this => Some(((pop.clone(), *col), *from)),
            _ => None,
        })
        .collect()
}

/// `other`'s points after `from`, linearly mapped so that their mean ± SD matches `data`'s over
/// the same bins.
fn rescaled_onto(other: Series, data: &Series, from: f64, label: String) -> Series {
    let after = |s: &Series| -> Vec<f64> {
        s.points
            .iter()
            .filter(|p| p.0 >= from)
            .map(|p| p.1)
            .collect()
    };
    let (m_o, sd_o) = crate::analysis::readouts::mean_sd(&after(&other));
    let (m_d, sd_d) = crate::analysis::readouts::mean_sd(&after(data));
    let gain = if sd_o > 0.0 { sd_d / sd_o } else { 0.0 };
    let points = other
        .points
        .iter()
        .filter(|p| p.0 >= from)
        .map(|&(t, v)| (t, m_d + gain * (v - m_o)))
        .collect();
    Series::new(label, points)
}

/// The named time-varying inputs into `compartment` of population `p`, rescaled onto the axis
/// of `data` (its mean ± 2 SD over the input's span spans the input's ± amplitude).
fn signals(exp: &Experiment, p: usize, compartment: Compartment, data: &Series) -> Vec<Series> {
    let mut out = Vec::new();
    for (name, &k) in &exp.input_injectors {
        let inj = &exp.network.injectors[k];
        if inj.population != p || inj.compartment != compartment {
            continue;
        }
        // The bins' own times alias a fast signal; draw it on a grid ten times finer.
        let (t0, t1) = match (data.points.first(), data.points.last()) {
            (Some(a), Some(b)) if data.points.len() > 1 => (a.0, b.0),
            _ => continue,
        };
        let step = (t1 - t0) / (data.points.len() - 1) as f64 / 10.0;
        let grid = (0..=(10 * (data.points.len() - 1))).map(|k| t0 + k as f64 * step);
        let values: Vec<(f64, f64)> = grid.map(|t| (t, inj.waveform.at(t))).collect();
        let peak = values.iter().map(|v| v.1.abs()).fold(0.0, f64::max);
        let active: Vec<f64> = data
            .points
            .iter()
            .filter(|&&(t, _)| inj.waveform.at(t) != 0.0)
            .map(|d| d.1)
            .collect();
        if peak == 0.0 || active.len() < 2 {
            continue;
        }
        let (m, sd) = crate::analysis::readouts::mean_sd(&active);
        let points = values
            .iter()
            .filter(|v| v.1 != 0.0)
            .map(|&(t, i)| (t, m + 2.0 * sd * i / peak))
            .collect();
        out.push(Series::new(format!("input {name} (rescaled)"), points));
    }
    out
}

/// Neurons per population shown in the raster.
const RASTER_NEURONS: u64 = 50;
/// Longest stretch of time shown in the raster (the end of the run), s.
const RASTER_SECONDS: f64 = 4.0;

/// Bins of the weight histograms of `weights.png`.
const WEIGHT_BINS: usize = 40;

/// Most snapshots drawn per panel of `weights.png`: the first, the last and evenly spaced ones
/// between (a run with a test after every epoch has hundreds).
const WEIGHT_CURVES: usize = 6;

/// At most `most` indices out of 0..n: the first, the last and evenly spaced ones between.
fn spread(n: usize, most: usize) -> Vec<usize> {
    let shown = most.min(n);
    if shown < 2 {
        return (0..shown).collect();
    }
    (0..shown).map(|k| k * (n - 1) / (shown - 1)).collect()
}

/// `weights.png`: per plastic projection, the distribution of its synaptic weights in each
/// snapshot of `weights.h5` (as built, after the epochs of the interim tests, at the end), as
/// the percentage of synapses per bin. `None` when the run has no weight file.
fn weight_histograms(dir: &Path, name: &str) -> Result<Option<PathBuf>> {
    let path = dir.join("weights.h5");
    if !path.exists() {
        return Ok(None);
    }
    let panels: Vec<Panel> = edges::read(&path)?
        .into_iter()
        .filter(|p| !p.weights.is_empty())
        .map(|p| {
            let (lo, hi) = p
                .weights
                .iter()
                .flat_map(|(_, w)| w.iter())
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &w| {
                    (lo.min(w as f64), hi.max(w as f64))
                });
            // All weights equal (as built, uniform): bins over [w, w + 0.001].
            let width = ((hi - lo) / WEIGHT_BINS as f64).max(1e-3 / WEIGHT_BINS as f64);
            let series = spread(p.weights.len(), WEIGHT_CURVES)
                .into_iter()
                .map(|k| &p.weights[k])
                .map(|(snapshot, w)| {
                    let mut counts = [0usize; WEIGHT_BINS];
                    for &x in w {
                        counts[(((x as f64 - lo) / width) as usize).min(WEIGHT_BINS - 1)] += 1;
                    }
                    let scale = 100.0 / w.len().max(1) as f64;
                    Series::new(
                        edges::snapshot_label(snapshot),
                        counts
                            .iter()
                            .enumerate()
                            .map(|(k, &c)| (lo + (k as f64 + 0.5) * width, c as f64 * scale))
                            .collect(),
                    )
                })
                .collect();
            Panel {
                title: format!("{}: {} synapses", p.projection, p.weights[0].1.len()),
                x_label: "weight (units of the target's leak conductance)".into(),
                y_label: "synapses (%)".into(),
                series,
            }
        })
        .collect();
    if panels.is_empty() {
        return Ok(None);
    }
    let file = dir.join("weights.png");
    save_png(
        &Figure::titled(format!("{name}: plastic weights"), panels),
        &file,
    )?;
    Ok(Some(file))
}

/// `raster.png`: the first neurons of every recorded population over the end of the run, with
/// events and the later spikes of bursts (offline ISI rule, spec/plasticity.md §1.1) coloured
/// differently. Streams the spike file; `None` when no spikes were recorded.
fn raster(dir: &Path, exp: &Experiment) -> Result<Option<PathBuf>> {
    if exp.record.spikes.is_empty() {
        return Ok(None);
    }
    let reader = SonataReader::open(&dir.join("spikes.h5"))?;
    let from_ms = (exp.duration - RASTER_SECONDS).max(0.0) * 1e3;
    let threshold = IsiRule::default().effective_ms();
    let mut panels = Vec::new();
    for &p in &exp.record.spikes {
        let name = &exp.network.populations[p].name;
        let mut states = vec![NeuronIsiState::default(); RASTER_NEURONS as usize];
        let (mut events, mut in_bursts) = (Vec::new(), Vec::new());
        reader.for_each_chunk(name, 1 << 16, |times, ids| {
            for (&t, &i) in times.iter().zip(ids) {
                if i >= RASTER_NEURONS {
                    continue;
                }
                // Classify from the start so the first shown spikes know their predecessors.
                let class = states[i as usize].classify(t, threshold);
                if t >= from_ms {
                    let point = (t / 1e3, i as f64);
                    match class {
                        SpikeClass::Event => events.push(point),
                        SpikeClass::Burst | SpikeClass::WithinBurst => in_bursts.push(point),
                    }
                }
            }
            Ok(())
        })?;
        panels.push(Panel {
            title: format!("{name}: first {RASTER_NEURONS} neurons"),
            x_label: "time (s)".into(),
            y_label: "neuron".into(),
            series: vec![
                Series::new("event (isolated or first spike)", events).points(2),
                Series::new("later spikes of a burst", in_bursts).points(2),
            ],
        });
    }
    let file = dir.join("raster.png");
    save_png(
        &Figure {
            title: Some(format!("{}: spikes (ISI < 16 ms makes a burst)", exp.name)),
            panels,
            columns: 1,
            panel_size: (1100, 320),
        },
        &file,
    )?;
    Ok(Some(file))
}

fn label(s: &Signal) -> String {
    match s {
        Signal::Rate(p, c) => format!("{p}.{}", c.dataset()),
        Signal::Input(n) => format!("input {n}"),
    }
}

/// (x − mean)/SD over the finite values; NaN stays NaN.
fn zscore(x: &[f64]) -> Vec<f64> {
    let f: Vec<f64> = x.iter().copied().filter(|v| v.is_finite()).collect();
    let n = f.len().max(1) as f64;
    let m = f.iter().sum::<f64>() / n;
    let sd = (f.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n).sqrt();
    x.iter()
        .map(|v| if sd > 0.0 { (v - m) / sd } else { 0.0 })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::spread;

    #[test]
    fn spread_keeps_the_ends_and_spaces_the_rest() {
        assert_eq!(spread(0, 6), Vec::<usize>::new());
        assert_eq!(spread(1, 6), [0]);
        assert_eq!(spread(4, 6), [0, 1, 2, 3]);
        assert_eq!(spread(101, 6), [0, 20, 40, 60, 80, 100]);
        assert_eq!(spread(500, 2), [0, 499]);
    }
}
