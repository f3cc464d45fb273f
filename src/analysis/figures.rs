//! PNG figures of a run, drawn from its recordings: binned event rate, burst rate and burst
//! probability of every rated population, the signal pairs of every correlation readout, and
//! the curves of every `levels` readout. `burstccn plot RUN_DIR` redraws them.

use super::readouts::{Readout, Signal};
use crate::config::Experiment;
use crate::error::{Error, Result};
use crate::neurons::Compartment;
use crate::plot::{save_png, Figure, Panel, Series};
use crate::recording::h5::read_column;
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
            &Figure {
                title: Some(format!("{}: online event/burst rates", exp.name)),
                panels,
                columns: 2,
                ..Figure::default()
            },
            &file,
        )?;
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
            &Figure {
                title: Some(format!(
                    "{}: readout signals (z-scored, 50-ms bins)",
                    exp.name
                )),
                panels: pairs,
                columns: 2,
                ..Figure::default()
            },
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
