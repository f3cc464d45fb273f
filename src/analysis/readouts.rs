//! Readouts declared in an experiment file and computed at the end of a run from the binned
//! online rates in `recordings.h5`; they go into `summary.json` under `readouts.<name>`.
//!
//! Signals are named `POPULATION.event_rate`, `.burst_rate`, `.burst_probability` or `.rate`
//! (per 50-ms bin, or the run's `rate_bin`), or `input.NAME` for an injected current sampled at
//! the bin centres.

use crate::error::{Error, Result};
use crate::inputs::current::Waveform;
use crate::recording::h5::read_column;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// A quantity binned in time.
#[derive(Clone, Debug, PartialEq)]
pub enum Signal {
    /// A rate column of a population: (population name, column).
    Rate(String, RateColumn),
    /// The current of a named input, A.
    Input(String),
}

/// Columns of the binned rate recordings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateColumn {
    Rate,
    EventRate,
    BurstRate,
    BurstProbability,
}

impl RateColumn {
    /// Dataset name in recordings.h5.
    pub fn dataset(self) -> &'static str {
        match self {
            RateColumn::Rate => "rate",
            RateColumn::EventRate => "event_rate",
            RateColumn::BurstRate => "burst_rate",
            RateColumn::BurstProbability => "burst_probability",
        }
    }

    /// Short label for figures.
    pub fn short(self) -> &'static str {
        match self {
            RateColumn::Rate => "rate",
            RateColumn::EventRate => "ER",
            RateColumn::BurstRate => "BR",
            RateColumn::BurstProbability => "BP",
        }
    }

    /// Parses a column name.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Rate,
            Self::EventRate,
            Self::BurstRate,
            Self::BurstProbability,
        ]
        .into_iter()
        .find(|c| c.dataset() == name)
    }
}

/// What to compute.
#[derive(Clone, Debug, PartialEq)]
pub enum Readout {
    /// Mean of a signal over bins whose centre lies in [from, to).
    Mean { signal: Signal, from: f64, to: f64 },
    /// Pearson r between two signals over bins in [from, to); with `max_lag` > 0, the best r over
    /// lags of b relative to a within ±max_lag (whole bins).
    Correlation {
        a: Signal,
        b: Signal,
        from: f64,
        to: f64,
        max_lag: f64,
    },
    /// A stepped protocol: `count` levels of `duration` from `start`; per level, the mean event
    /// rate, burst rate, burst probability and rate of `population` over the level's last `last` s.
    Levels {
        population: String,
        start: f64,
        duration: f64,
        count: usize,
        last: f64,
    },
}

/// Pearson correlation of paired samples, skipping pairs with a NaN; NaN with < 3 pairs or no variance.
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let pairs: Vec<(f64, f64)> = a
        .iter()
        .zip(b)
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|(&x, &y)| (x, y))
        .collect();
    let n = pairs.len() as f64;
    if pairs.len() < 3 {
        return f64::NAN;
    }
    let (ma, mb) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / n,
        pairs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in pairs {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    if saa == 0.0 || sbb == 0.0 {
        return f64::NAN;
    }
    sab / (saa * sbb).sqrt()
}

/// Mean and sample SD of the finite values (SD 0 for one value; NaN for none).
pub fn mean_sd(v: &[f64]) -> (f64, f64) {
    let f: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if f.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = f.len() as f64;
    let m = f.iter().sum::<f64>() / n;
    let var = if f.len() > 1 {
        f.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (m, var.sqrt())
}

/// Mean of the finite values.
fn mean(x: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = x
        .filter(|v| v.is_finite())
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        f64::NAN
    } else {
        s / n as f64
    }
}

/// Binned series loaded from a recordings file.
pub struct Series<'a> {
    file: &'a Path,
    h5: hdf5::File,
    inputs: &'a BTreeMap<String, Waveform>,
}

impl<'a> Series<'a> {
    /// Opens `recordings.h5`; `inputs` maps input names to their waveforms.
    pub fn open(file: &'a Path, inputs: &'a BTreeMap<String, Waveform>) -> Result<Self> {
        let h5 = hdf5::File::open(file).map_err(|e| Error::hdf5(file, e))?;
        Ok(Series { file, h5, inputs })
    }

    /// Bin-end times (s) of a population's rate recording.
    fn times(&self, population: &str) -> Result<Vec<f64>> {
        read_column(&self.h5, &format!("rates/{population}/time"))
            .map_err(|_| self.missing(population))
    }

    fn missing(&self, population: &str) -> Error {
        Error::Parse {
            file: self.file.display().to_string(),
            message: format!(
                "no binned rates of population \"{population}\"; add it to record.rate_populations"
            ),
        }
    }

    /// Values of `signal` at the bins of `reference` (a population with rates): (bin centres, values).
    fn values(&self, signal: &Signal, reference: &str) -> Result<(Vec<f64>, Vec<f64>)> {
        let ends = self.times(reference)?;
        let bin = if ends.len() > 1 {
            ends[1] - ends[0]
        } else {
            ends.first().copied().unwrap_or(0.0)
        };
        let centres: Vec<f64> = ends.iter().map(|t| t - bin / 2.0).collect();
        let values = match signal {
            Signal::Rate(p, col) => read_column(&self.h5, &format!("rates/{p}/{}", col.dataset()))
                .map_err(|_| self.missing(p))?,
            Signal::Input(name) => {
                let w = &self.inputs[name];
                centres.iter().map(|&t| w.at(t)).collect()
            }
        };
        Ok((centres, values))
    }

    /// Both signals at the bins of their reference population: (bin centres, a, b).
    pub fn pair(&self, a: &Signal, b: &Signal) -> Result<(Vec<f64>, Vec<f64>, Vec<f64>)> {
        let reference = reference_population(a, Some(b)).ok_or_else(|| self.no_reference())?;
        let (t, va) = self.values(a, &reference)?;
        let (_, vb) = self.values(b, &reference)?;
        Ok((t, va, vb))
    }

    /// Computes a readout.
    pub fn compute(&self, readout: &Readout) -> Result<Value> {
        match readout {
            Readout::Mean { signal, from, to } => {
                let reference =
                    reference_population(signal, None).ok_or_else(|| self.no_reference())?;
                let (t, v) = self.values(signal, &reference)?;
                Ok(json!(finite(mean(window(&t, &v, *from, *to).into_iter()))))
            }
            Readout::Correlation {
                a,
                b,
                from,
                to,
                max_lag,
            } => {
                let (t, va, vb) = self.pair(a, b)?;
                let bin = if t.len() > 1 { t[1] - t[0] } else { 1.0 };
                let lags = (max_lag / bin).round() as i64;
                let idx: Vec<usize> = (0..t.len())
                    .filter(|&i| t[i] >= *from && t[i] < *to)
                    .collect();
                let mut best = (f64::NAN, 0i64);
                for lag in -lags..=lags {
                    let (mut xa, mut xb) = (Vec::new(), Vec::new());
                    for &i in &idx {
                        let j = i as i64 + lag;
                        if j >= 0 && (j as usize) < vb.len() {
                            xa.push(va[i]);
                            xb.push(vb[j as usize]);
                        }
                    }
                    let r = pearson(&xa, &xb);
                    if best.0.is_nan() || r > best.0 {
                        best = (r, lag);
                    }
                }
                if lags == 0 {
                    Ok(json!(finite(best.0)))
                } else {
                    Ok(json!({ "r": finite(best.0), "lag_s": best.1 as f64 * bin }))
                }
            }
            Readout::Levels {
                population,
                start,
                duration,
                count,
                last,
            } => {
                let mut out = serde_json::Map::new();
                for col in [
                    RateColumn::EventRate,
                    RateColumn::BurstRate,
                    RateColumn::BurstProbability,
                    RateColumn::Rate,
                ] {
                    let (t, v) = self.values(&Signal::Rate(population.clone(), col), population)?;
                    let means: Vec<Value> = (0..*count)
                        .map(|k| {
                            let end = start + (k + 1) as f64 * duration;
                            json!(finite(mean(window(&t, &v, end - last, end).into_iter())))
                        })
                        .collect();
                    let key = match col {
                        RateColumn::BurstProbability => "burst_probability".to_string(),
                        c => format!("{}_hz", c.dataset()),
                    };
                    out.insert(key, Value::Array(means));
                }
                Ok(Value::Object(out))
            }
        }
    }

    fn no_reference(&self) -> Error {
        Error::Parse {
            file: self.file.display().to_string(),
            message: "a readout needs at least one population signal to define its bins".into(),
        }
    }
}

/// The population whose bins a readout uses: the first population signal.
fn reference_population(a: &Signal, b: Option<&Signal>) -> Option<String> {
    [Some(a), b].into_iter().flatten().find_map(|s| match s {
        Signal::Rate(p, _) => Some(p.clone()),
        Signal::Input(_) => None,
    })
}

fn window(t: &[f64], v: &[f64], from: f64, to: f64) -> Vec<f64> {
    t.iter()
        .zip(v)
        .filter(|(&t, _)| t >= from && t < to)
        .map(|(_, &v)| v)
        .collect()
}

/// JSON has no NaN: undefined values become null.
fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pearson_of_known_signals() {
        let a: Vec<f64> = (0..200).map(|i| (i as f64 * 0.1).sin()).collect();
        let b: Vec<f64> = a.iter().map(|x| 3.0 * x + 1.0).collect();
        assert!((pearson(&a, &b) - 1.0).abs() < 1e-12);
        let c: Vec<f64> = a.iter().map(|x| -x).collect();
        assert!((pearson(&a, &c) + 1.0).abs() < 1e-12);
        // sin and cos over whole periods are uncorrelated.
        let s: Vec<f64> = (0..1000)
            .map(|i| (i as f64 * std::f64::consts::TAU / 100.0).sin())
            .collect();
        let k: Vec<f64> = (0..1000)
            .map(|i| (i as f64 * std::f64::consts::TAU / 100.0).cos())
            .collect();
        assert!(pearson(&s, &k).abs() < 1e-9);
        assert!(pearson(&[1.0, f64::NAN], &[2.0, 3.0]).is_nan());
    }

    #[test]
    fn mean_and_sd_skip_nan() {
        let (m, sd) = mean_sd(&[1.0, 2.0, 3.0, f64::NAN]);
        assert!((m - 2.0).abs() < 1e-12 && (sd - 1.0).abs() < 1e-12);
        assert_eq!(mean_sd(&[4.0]), (4.0, 0.0));
        assert!(mean_sd(&[]).0.is_nan());
    }

    #[test]
    fn pearson_skips_nan_pairs() {
        let a = [1.0, 2.0, f64::NAN, 4.0, 5.0];
        let b = [2.0, 4.0, 100.0, 8.0, 10.0];
        assert!((pearson(&a, &b) - 1.0).abs() < 1e-12);
    }
}
