//! XOR readouts: the teacher current, the cost, classification by the output event rate, the
//! pass criterion and epochs-to-solve (spec/experiments.md §5.1; [P21 Fig 4],
//! [SBP sim/sim_xor.cpp, analysis/xor/plot_xor.py]).
//!
//! Rates are in Hz, currents in A. The output's event-rate trace Ē_i is read from the
//! postsynaptic trace of a plastic projection onto the output (τ = τ_avg of that projection).

use super::protocol::XorSummary;
use crate::error::{Error, Result};
use crate::plot::{save_png, Figure, Panel, Series};
use std::collections::BTreeMap;
use std::path::Path;

/// The rate band that maps an output event rate onto an output value in [0, 1]: e_min and e_max
/// of the output's plastic projections (2 and 10 Hz in [P21 Fig 4]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateBand {
    /// Hz.
    pub e_min: f64,
    /// Hz.
    pub e_max: f64,
}

impl RateBand {
    /// The classification threshold e_min + 0.5·(e_max − e_min), Hz (6 Hz in [SBP plot_xor.py]).
    pub fn threshold(&self) -> f64 {
        self.e_min + 0.5 * (self.e_max - self.e_min)
    }

    /// The cost of mean output event-rate trace `ebar` (Hz) for target `t` ∈ {0, 1}:
    /// y = clip((ē − e_min)/(e_max − e_min), 0.01, 0.99), C = −t·ln y − (1 − t)·ln(1 − y)
    /// [SBP sim/sim_xor.cpp]. Chance level is ln 2 per example.
    pub fn cost(&self, ebar: f64, target: f64) -> f64 {
        let y = ((ebar - self.e_min) / (self.e_max - self.e_min)).clamp(0.01, 0.99);
        -target * y.ln() - (1.0 - target) * (1.0 - y).ln()
    }

    /// Whether an output event rate (Hz) classifies as `target`: above the threshold for 1,
    /// below it for 0.
    pub fn correct(&self, rate: f64, target: f64) -> bool {
        if target >= 0.5 {
            rate > self.threshold()
        } else {
            rate < self.threshold()
        }
    }
}

/// The teacher of [P21 Fig 4]: a dendritic current per output neuron computed from its Ē_i.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TeacherRule {
    pub band: RateBand,
    /// Tolerance, Hz (1 Hz): full current within `tolerance` of the wrong end of the band.
    pub tolerance: f64,
    /// Full current, A (1000 pA).
    pub amplitude: f64,
    /// The current is clipped to [min, max], A; (−∞, +∞) for the published rule. A two-compartment
    /// dendrite needs a ceiling: above ≈ 450 pA its plateaus fire the soma tonically and BP falls
    /// again (docs/xor_cortical.md).
    pub limits: (f64, f64),
}

impl TeacherRule {
    /// The current for a neuron with event-rate trace `ebar` (Hz) and target `t`, A
    /// (spec/experiments.md §5.1 teacher table). With e_min = 2, e_max = 10, tolerance 1 Hz and
    /// A = 1000 pA:
    ///
    /// | target | Ē ≥ 9 Hz | 3 < Ē < 9 Hz | Ē ≤ 3 Hz |
    /// |---|---|---|---|
    /// | 0 | −A | −A·1 Hz/(10 Hz − Ē) | 0 |
    /// | 1 | 0 | +A·1 Hz/(Ē − 2 Hz) | +A |
    ///
    /// then clipped to `limits`.
    pub fn current(&self, ebar: f64, target: f64) -> f64 {
        self.unclipped(ebar, target)
            .clamp(self.limits.0, self.limits.1)
    }

    fn unclipped(&self, ebar: f64, target: f64) -> f64 {
        let RateBand { e_min, e_max } = self.band;
        let (hi, lo) = (e_max - self.tolerance, e_min + self.tolerance);
        if target >= 0.5 {
            if ebar >= hi {
                0.0
            } else if ebar > lo {
                self.amplitude / (ebar - e_min)
            } else {
                self.amplitude
            }
        } else if ebar >= hi {
            -self.amplitude
        } else if ebar > lo {
            -self.amplitude / (e_max - ebar)
        } else {
            0.0
        }
    }
}

/// The pass criterion on one test block: every example with a target is classified correctly
/// by its output event rate (`rates`, Hz, keyed by example name). False when an example with a
/// target has no rate.
pub fn solved(band: &RateBand, rates: &BTreeMap<String, f64>, targets: &[(String, f64)]) -> bool {
    !targets.is_empty()
        && targets.iter().all(|(name, t)| {
            rates
                .get(name)
                .is_some_and(|&r| r.is_finite() && band.correct(r, *t))
        })
}

/// Epochs to solve: the first epoch (1-based) from which every later training epoch classifies
/// all examples correctly (`correct[e]` = all examples of epoch e correct, judged on the
/// output event rate in the scoring window, which is teacher-free only in two-phase
/// protocols), provided the post-test is solved too. `None` when the last
/// epoch is wrong or the post-test fails.
pub fn epochs_to_solve(correct: &[bool], post_test_solved: bool) -> Option<u64> {
    if !post_test_solved || !correct.last().copied().unwrap_or(false) {
        return None;
    }
    let first_good = correct
        .iter()
        .rposition(|&c| !c)
        .map_or(0, |last_bad| last_bad + 1);
    Some(first_good as u64 + 1)
}

/// Epochs to solve judged on teacher-free tests: the epoch of the first interim test
/// (`(epoch, solved)` in training order) from which every later interim test passes, given
/// that the post-test passes. `None` without interim tests, when the last one fails, or when
/// the post-test fails. Unlike [`epochs_to_solve`], this holds for single-phase protocols,
/// whose training rates are measured with the teacher on.
pub fn test_epochs_to_solve(
    tests: impl Iterator<Item = (u64, bool)>,
    post_test_solved: bool,
) -> Option<u64> {
    if !post_test_solved {
        return None;
    }
    let mut first = None;
    for (epoch, solved) in tests {
        first = match (solved, first) {
            (false, _) => None,
            (true, None) => Some(epoch),
            (true, kept) => kept,
        };
    }
    first
}

/// What learning.png shows besides the summary: output ER per example and ΣW per plastic
/// projection at the end of every training epoch, read from learning.csv.
#[derive(Clone, Debug, Default)]
pub struct LearningCurves {
    /// Example names, in order of first appearance in learning.csv (protocol order when the
    /// run has a pre-test or a fixed order).
    pub examples: Vec<String>,
    /// Per example: (epoch, output ER over its scoring window, Hz).
    pub output_er: Vec<Vec<(f64, f64)>>,
    /// Per plastic projection (name below): (epoch, ΣW).
    pub weights: Vec<Vec<(f64, f64)>>,
    pub projection_names: Vec<String>,
}

impl LearningCurves {
    /// The curves of a finished (or interrupted) run, read back from its learning.csv: the
    /// training rows' output ER per example and the ΣW columns at the end of each epoch.
    pub fn from_csv(path: &Path) -> Result<Self> {
        let bad = |message: String| Error::Parse {
            file: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut lines = text.lines();
        let header: Vec<&str> = lines
            .next()
            .ok_or_else(|| bad("empty file".into()))?
            .split(',')
            .collect();
        let col = |name: &str| {
            header
                .iter()
                .position(|h| *h == name)
                .ok_or_else(|| bad(format!("no `{name}` column")))
        };
        let (block, epoch, example, er) =
            (col("block")?, col("epoch")?, col("example")?, col("er_hz")?);
        let w_cols: Vec<(usize, &str)> = header
            .iter()
            .enumerate()
            .filter_map(|(k, h)| Some((k, h.strip_prefix("w_")?)))
            .collect();
        let mut curves = LearningCurves {
            projection_names: w_cols.iter().map(|(_, n)| n.to_string()).collect(),
            weights: vec![Vec::new(); w_cols.len()],
            ..Default::default()
        };
        let mut last: Option<(f64, Vec<f64>)> = None;
        for (n, line) in lines.enumerate() {
            let f: Vec<&str> = line.split(',').collect();
            let num = |k: usize| -> Result<f64> {
                f.get(k).and_then(|v| v.parse().ok()).ok_or_else(|| {
                    bad(format!(
                        "row {}: column {} is not a number",
                        n + 2,
                        header[k]
                    ))
                })
            };
            let name = f.get(example).copied().unwrap_or_default();
            if !curves.examples.iter().any(|e| e == name) {
                curves.examples.push(name.to_string());
                curves.output_er.push(Vec::new());
            }
            if f.get(block) != Some(&"train") {
                continue;
            }
            let e = curves
                .examples
                .iter()
                .position(|x| x == name)
                .expect("added above");
            let ep = num(epoch)?;
            curves.output_er[e].push((ep, num(er)?));
            let ws = w_cols
                .iter()
                .map(|&(k, _)| num(k))
                .collect::<Result<Vec<_>>>()?;
            if let Some((prev, w)) = last.take() {
                if prev != ep {
                    push_weights(&mut curves, prev, &w);
                }
            }
            last = Some((ep, ws));
        }
        if let Some((ep, w)) = last {
            push_weights(&mut curves, ep, &w);
        }
        Ok(curves)
    }
}

/// The learning curves and XOR summary of the `learn` run in `dir` (learning.csv and the "xor"
/// object of summary.json), for redrawing its figures.
pub fn read_run(dir: &Path) -> Result<(LearningCurves, XorSummary)> {
    let path = dir.join("summary.json");
    let bad = |message: String| Error::Parse {
        file: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let mut v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("not valid JSON: {e}")))?;
    let xor: XorSummary = serde_json::from_value(v["xor"].take()).map_err(|e| {
        bad(format!(
            "no valid \"xor\" object ({e}); is this a `learn` run?"
        ))
    })?;
    Ok((LearningCurves::from_csv(&dir.join("learning.csv"))?, xor))
}

fn push_weights(curves: &mut LearningCurves, epoch: f64, w: &[f64]) {
    for (curve, &x) in curves.weights.iter_mut().zip(w) {
        curve.push((epoch, x));
    }
}

/// Draws learning.png: the epoch cost, the output ER per example during training with the
/// threshold, the output ER per input pattern in the pre- and post-test, and ΣW per plastic
/// projection.
pub fn learning_figure(
    path: &Path,
    name: &str,
    curves: &LearningCurves,
    xor: &XorSummary,
) -> Result<()> {
    let epochs: Vec<f64> = (1..=xor.epoch_costs.len()).map(|e| e as f64).collect();
    let threshold = |x: &[f64]| threshold_series(x, xor.threshold_hz);
    let mut training: Vec<Series> = curves
        .examples
        .iter()
        .zip(&curves.output_er)
        .map(|(n, pts)| Series::new(format!("input {n}"), pts.clone()))
        .collect();
    training.push(threshold(&epochs));
    let patterns: Vec<f64> = (0..curves.examples.len()).map(|i| i as f64).collect();
    let tests = |m: &BTreeMap<String, f64>| pattern_points(&curves.examples, m);
    let weights = curves
        .weights
        .iter()
        .zip(&curves.projection_names)
        .map(|(pts, n)| Series::new(n.clone(), pts.clone()))
        .collect();
    let panels = vec![
        Panel {
            title: "epoch cost (sum over examples; chance 4 ln 2 = 2.77)".into(),
            x_label: "epoch".into(),
            y_label: "cost".into(),
            series: vec![Series::new(
                "cost",
                epochs
                    .iter()
                    .copied()
                    .zip(xor.epoch_costs.iter().copied())
                    .collect(),
            )],
        },
        Panel {
            title: "output event rate during training (scoring window before the cost point)"
                .into(),
            x_label: "epoch".into(),
            y_label: "ER (Hz)".into(),
            series: training,
        },
        Panel {
            title: "output ER per input before/after learning".into(),
            x_label: pattern_label(&curves.examples),
            y_label: "ER (Hz)".into(),
            series: vec![
                Series::new("pre-test", tests(&xor.pre_rates_hz)).points(5),
                Series::new("post-test", tests(&xor.post_rates_hz)).points(5),
                threshold(&patterns),
            ],
        },
        Panel {
            title: "ΣW of the plastic projections".into(),
            x_label: "epoch".into(),
            y_label: "ΣW".into(),
            series: weights,
        },
    ];
    save_png(&Figure::titled(format!("{name}: learning"), panels), path)
}

/// A horizontal line at `y` over the range of `x`.
fn threshold_series(x: &[f64], y: f64) -> Series {
    let (a, b) = (
        x.first().copied().unwrap_or(0.0),
        x.last().copied().unwrap_or(1.0),
    );
    Series::new("threshold", vec![(a, y), (b, y)])
}

/// (pattern index, rate) for each example of `examples` that `rates` holds.
fn pattern_points(examples: &[String], rates: &BTreeMap<String, f64>) -> Vec<(f64, f64)> {
    examples
        .iter()
        .enumerate()
        .filter_map(|(i, n)| rates.get(n).map(|&r| (i as f64, r)))
        .collect()
}

/// The x label of a per-pattern panel: "input pattern (0 = 00, 1 = 10, ...)".
fn pattern_label(examples: &[String]) -> String {
    let names: Vec<String> = examples
        .iter()
        .enumerate()
        .map(|(k, e)| format!("{k} = {e}"))
        .collect();
    format!("input pattern ({})", names.join(", "))
}

/// Mean ± SD across seeds of curves sampled at the same x (epochs), over the x's all share.
fn across(curves: &[Vec<(f64, f64)>], name: String) -> Series {
    let n = curves.iter().map(Vec::len).min().unwrap_or(0);
    let (points, band): (Vec<(f64, f64)>, Vec<f64>) = (0..n)
        .map(|i| {
            let v: Vec<f64> = curves.iter().map(|c| c[i].1).collect();
            let (m, sd) = crate::analysis::readouts::mean_sd(&v);
            ((curves[0][i].0, m), sd)
        })
        .unzip();
    Series::new(name, points).with_band(band)
}

/// Draws seeds.png of a `learn --seeds` directory: epoch cost and output ER per example during
/// training as mean ± SD across seeds, and every seed's pre- and post-test output ER per pattern.
pub fn learning_seeds_figure(
    path: &Path,
    name: &str,
    runs: &[(LearningCurves, XorSummary)],
) -> Result<()> {
    let Some((first, xor0)) = runs.first() else {
        return Ok(());
    };
    let costs: Vec<Vec<(f64, f64)>> = runs
        .iter()
        .map(|(_, x)| {
            x.epoch_costs
                .iter()
                .enumerate()
                .map(|(e, &c)| ((e + 1) as f64, c))
                .collect()
        })
        .collect();
    let epochs: Vec<f64> = costs[0].iter().map(|p| p.0).collect();
    let mut training: Vec<Series> = first
        .examples
        .iter()
        .enumerate()
        .map(|(e, n)| {
            let per_seed: Vec<Vec<(f64, f64)>> =
                runs.iter().map(|(c, _)| c.output_er[e].clone()).collect();
            across(&per_seed, format!("input {n}"))
        })
        .collect();
    training.push(threshold_series(&epochs, xor0.threshold_hz));
    let tests = |pick: fn(&XorSummary) -> &BTreeMap<String, f64>| -> Vec<(f64, f64)> {
        runs.iter()
            .flat_map(|(_, x)| pattern_points(&first.examples, pick(x)))
            .collect()
    };
    let patterns: Vec<f64> = (0..first.examples.len()).map(|i| i as f64).collect();
    let solved = runs.iter().filter(|(_, x)| x.solved).count();
    let panels = vec![
        Panel {
            title: "epoch cost, mean ± SD across seeds".into(),
            x_label: "epoch".into(),
            y_label: "cost".into(),
            series: vec![across(&costs, format!("{} seeds", runs.len()))],
        },
        Panel {
            title: "output ER during training, mean ± SD across seeds".into(),
            x_label: "epoch".into(),
            y_label: "ER (Hz)".into(),
            series: training,
        },
        Panel {
            title: format!(
                "pre- and post-test output ER, every seed ({solved} of {} solved)",
                runs.len()
            ),
            x_label: pattern_label(&first.examples),
            y_label: "ER (Hz)".into(),
            series: vec![
                Series::new("pre-test", tests(|x| &x.pre_rates_hz)).points(4),
                Series::new("post-test", tests(|x| &x.post_rates_hz)).points(4),
                threshold_series(&patterns, xor0.threshold_hz),
            ],
        },
    ];
    save_png(
        &Figure::titled(format!("{name}: learning across seeds"), panels),
        path,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learning_curves_read_back_from_learning_csv() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("learning.csv");
        std::fs::write(
            &path,
            "block,epoch,example,er_hz,w_a,w_b\n\
             pre_test,0,00,1.0,5,6\npre_test,0,11,2.0,5,6\n\
             train,1,00,3.0,7,8\ntrain,1,11,4.0,9,10\n\
             train,2,00,5.0,11,12\ntrain,2,11,6.0,13,14\npost_test,0,00,7.0,13,14\n",
        )
        .unwrap();
        let c = LearningCurves::from_csv(&path).unwrap();
        assert_eq!(c.examples, ["00", "11"]);
        assert_eq!(c.output_er[1], [(1.0, 4.0), (2.0, 6.0)]);
        assert_eq!(c.projection_names, ["a", "b"]);
        assert_eq!(
            c.weights[1],
            [(1.0, 10.0), (2.0, 14.0)],
            "ΣW at each epoch's end"
        );
        std::fs::write(&path, "block,epoch,example,er_hz\ntrain,x,00,1\n").unwrap();
        let e = LearningCurves::from_csv(&path).unwrap_err().to_string();
        assert!(e.contains("learning.csv") && e.contains("epoch"), "{e}");
    }

    const BAND: RateBand = RateBand {
        e_min: 2.0,
        e_max: 10.0,
    };

    #[test]
    fn teacher_table() {
        let t = TeacherRule {
            band: BAND,
            tolerance: 1.0,
            amplitude: 1e-9,
            limits: (f64::NEG_INFINITY, f64::INFINITY),
        };
        assert_eq!(t.current(9.5, 0.0), -1e-9);
        assert!((t.current(6.0, 0.0) + 0.25e-9).abs() < 1e-21);
        assert_eq!(t.current(3.0, 0.0), 0.0);
        assert_eq!(t.current(9.0, 1.0), 0.0);
        assert!((t.current(6.0, 1.0) - 0.25e-9).abs() < 1e-21);
        assert_eq!(t.current(3.0, 1.0), 1e-9);
        assert_eq!(t.current(0.0, 1.0), 1e-9);
        let clipped = TeacherRule {
            limits: (-0.4e-9, 0.25e-9),
            ..t
        };
        assert_eq!(clipped.current(9.5, 0.0), -0.4e-9);
        assert!((clipped.current(6.0, 0.0) + 0.25e-9).abs() < 1e-21);
        assert_eq!(clipped.current(3.0, 1.0), 0.25e-9);
        assert!((clipped.current(8.0, 1.0) - 1e-9 / 6.0).abs() < 1e-21);
        assert_eq!(clipped.current(3.0, 0.0), 0.0);
    }

    #[test]
    fn cost_and_threshold() {
        assert_eq!(BAND.threshold(), 6.0);
        assert!((BAND.cost(6.0, 1.0) - 2f64.ln()).abs() < 1e-12);
        assert!((BAND.cost(6.0, 0.0) - 2f64.ln()).abs() < 1e-12);
        assert!((BAND.cost(20.0, 1.0) + 0.99f64.ln()).abs() < 1e-12);
        assert!((BAND.cost(0.0, 1.0) + 0.01f64.ln()).abs() < 1e-12);
        assert!(BAND.correct(6.5, 1.0) && !BAND.correct(6.5, 0.0));
        assert!(BAND.correct(5.5, 0.0) && !BAND.correct(5.5, 1.0));
    }

    #[test]
    fn pass_criterion_on_synthetic_rates() {
        let targets: Vec<(String, f64)> = [("00", 0.0), ("10", 1.0), ("01", 1.0), ("11", 0.0)]
            .iter()
            .map(|(n, t)| (n.to_string(), *t))
            .collect();
        let rates = |v: [f64; 4]| -> BTreeMap<String, f64> {
            ["00", "10", "01", "11"]
                .iter()
                .zip(v)
                .map(|(n, r)| (n.to_string(), r))
                .collect()
        };
        assert!(solved(&BAND, &rates([3.0, 8.0, 7.0, 5.9]), &targets));
        // The threshold itself is not above it.
        assert!(!solved(&BAND, &rates([3.0, 8.0, 6.0, 5.9]), &targets));
        assert!(!solved(&BAND, &rates([3.0, 8.0, 5.0, 4.0]), &targets));
        assert!(!solved(&BAND, &rates([6.1, 8.0, 7.0, 4.0]), &targets));
        assert!(!solved(&BAND, &rates([3.0, 8.0, f64::NAN, 4.0]), &targets));
        let mut missing = rates([3.0, 8.0, 7.0, 4.0]);
        missing.remove("11");
        assert!(!solved(&BAND, &missing, &targets));
    }

    #[test]
    fn epochs_to_solve_counts_from_the_last_failure() {
        assert_eq!(
            epochs_to_solve(&[false, true, false, true, true], true),
            Some(4)
        );
        assert_eq!(epochs_to_solve(&[true, true], true), Some(1));
        assert_eq!(epochs_to_solve(&[true, false], true), None);
        assert_eq!(epochs_to_solve(&[true, true], false), None);
        assert_eq!(epochs_to_solve(&[], true), None);
    }

    #[test]
    fn test_epochs_to_solve_counts_from_the_last_failed_test() {
        fn t(v: &[(u64, bool)]) -> impl Iterator<Item = (u64, bool)> + '_ {
            v.iter().copied()
        }
        assert_eq!(
            test_epochs_to_solve(t(&[(10, true), (20, false), (30, true), (40, true)]), true),
            Some(30)
        );
        assert_eq!(
            test_epochs_to_solve(t(&[(10, true), (20, true)]), true),
            Some(10)
        );
        assert_eq!(
            test_epochs_to_solve(t(&[(10, true), (20, false)]), true),
            None
        );
        assert_eq!(test_epochs_to_solve(t(&[(10, true)]), false), None);
        assert_eq!(test_epochs_to_solve(t(&[]), true), None);
    }
}
