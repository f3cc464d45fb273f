//! The training driver: epochs of shuffled mini-batches, test evaluation, angle logging,
//! `metrics.csv`, `summary.json`, learning-curve PNG, per-epoch checkpoints and resume.
//!
//! Determinism: the example order of epoch n comes from `stream(seed, Protocol, [n])` and the
//! initial weights from `stream(seed, Init, …)`, so a run and a resumed run give identical
//! results for a given seed and thread count.

use super::config::Experiment;
use super::mnist::{one_hot, Mnist, Split, CLASSES, PIXELS};
use super::network::{Angles, Network};
use crate::engine::rng::{stream, Purpose};
use crate::error::{Error, Result};
use crate::plot::{self, Figure, Panel, Series};
use crate::Real;
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where and how to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub out: PathBuf,
    pub threads: usize,
    pub resume: bool,
    pub force: bool,
    /// Show a progress bar on the terminal.
    pub progress: bool,
}

/// What one epoch measured. Errors are fractions; losses are the mean squared output error
/// per sample (mean over the 10 outputs); angles are in degrees, averaged over the epoch's
/// measurements (NaN when none was taken).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EpochMetrics {
    pub epoch: usize,
    pub train_loss: f64,
    pub train_error: f64,
    pub test_loss: f64,
    pub test_error: f64,
    /// Wall time of the epoch's training and test passes (s).
    pub seconds: f64,
    pub bp_angle_global: f64,
    pub fa_angle_global: f64,
    pub bp_angles: Vec<f64>,
    pub fa_angles: Vec<f64>,
    /// Angle between W_(l+1) and Y_l, and between Q_l and Y_l, at the end of the epoch.
    pub wy_angles: Vec<f64>,
    pub qy_angles: Vec<f64>,
    /// Mean |apical potential| per hidden layer without teacher, averaged over the angle
    /// measurements (what Q learning drives to zero [G22 Fig 4]).
    #[serde(default)]
    pub apical_abs: Vec<f64>,
}

/// The contents of `summary.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Summary {
    pub name: String,
    pub algorithm: String,
    pub layers: Vec<usize>,
    /// Test error (fraction) after the last epoch.
    pub test_error: f64,
    pub best_test_error: f64,
    pub best_epoch: usize,
    pub train_error: f64,
    pub epochs: usize,
    pub seconds_per_epoch: f64,
    pub seed: u64,
    pub threads: usize,
}

#[derive(Serialize, Deserialize)]
struct CheckpointHeader {
    epoch: usize,
    /// The experiment table without `epochs`, to refuse resuming a different experiment.
    experiment: String,
    threads: usize,
    history: Vec<EpochMetrics>,
    lengths: Vec<usize>,
}

const CHECKPOINT: &str = "checkpoint.bin";
const MAGIC: &[u8; 8] = b"BCNRATE1";

fn experiment_fingerprint(exp: &Experiment) -> String {
    let mut t = exp.table.clone();
    t.remove("epochs");
    t.remove("data_dir");
    toml::to_string(&t).unwrap_or_default()
}

fn write_checkpoint(
    dir: &Path,
    exp: &Experiment,
    net: &mut Network,
    history: &[EpochMetrics],
    threads: usize,
) -> Result<()> {
    let state = net.state_mut();
    let header = CheckpointHeader {
        epoch: history.len(),
        experiment: experiment_fingerprint(exp),
        threads,
        history: history.to_vec(),
        lengths: state.iter().map(|v| v.len()).collect(),
    };
    let json = serde_json::to_vec(&header).map_err(|e| Error::io(dir, std::io::Error::other(e)))?;
    let tmp = dir.join("checkpoint.bin.tmp");
    let io = |e| Error::io(&tmp, e);
    let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(io)?);
    f.write_all(MAGIC).map_err(io)?;
    f.write_all(&(json.len() as u64).to_le_bytes())
        .map_err(io)?;
    f.write_all(&json).map_err(io)?;
    for v in state {
        for x in v.iter() {
            f.write_all(&x.to_le_bytes()).map_err(io)?;
        }
    }
    f.into_inner()
        .map_err(|e| io(e.into_error()))?
        .sync_all()
        .map_err(io)?;
    let dest = dir.join(CHECKPOINT);
    std::fs::rename(&tmp, &dest).map_err(|e| Error::io(&dest, e))
}

fn read_checkpoint(dir: &Path, exp: &Experiment, net: &mut Network) -> Result<Vec<EpochMetrics>> {
    let path = dir.join(CHECKPOINT);
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let corrupt = |m: &str| Error::Parse {
        file: path.display().to_string(),
        message: format!(
            "{m}; the checkpoint is damaged: start again without --resume (with --force)"
        ),
    };
    if bytes.len() < 16 || &bytes[..8] != MAGIC {
        return Err(corrupt("not a rate-model checkpoint"));
    }
    let hlen = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes")) as usize;
    let body = bytes
        .get(16..16 + hlen)
        .ok_or_else(|| corrupt("truncated header"))?;
    let header: CheckpointHeader =
        serde_json::from_slice(body).map_err(|_| corrupt("unreadable header"))?;
    if header.experiment != experiment_fingerprint(exp) {
        return Err(Error::config(
            &exp.file,
            "(experiment)",
            format!(
                "differs from the one that wrote {} (only `epochs` and `data_dir` may change on --resume); \
                 use another --out or drop --resume and pass --force",
                path.display()
            ),
        ));
    }
    let state = net.state_mut();
    if state.iter().map(|v| v.len()).collect::<Vec<_>>() != header.lengths {
        return Err(corrupt("parameter shapes do not match the experiment"));
    }
    let mut rest = &bytes[16 + hlen..];
    for v in state {
        let n = v.len() * 4;
        let chunk = rest
            .get(..n)
            .ok_or_else(|| corrupt("truncated parameters"))?;
        for (x, b) in v.iter_mut().zip(chunk.chunks_exact(4)) {
            *x = Real::from_le_bytes(b.try_into().expect("4 bytes"));
        }
        rest = &rest[n..];
    }
    Ok(header.history)
}

/// Prepares `out`: refuses an existing directory unless `force` (replace) or `resume`.
fn prepare_dir(out: &Path, resume: bool, force: bool) -> Result<()> {
    if resume {
        if !out.join(CHECKPOINT).is_file() {
            return Err(Error::io(
                out.join(CHECKPOINT),
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no checkpoint to resume from; run without --resume first",
                ),
            ));
        }
        return Ok(());
    }
    if out.exists() {
        if !force {
            return Err(Error::OutputExists(out.to_path_buf()));
        }
        std::fs::remove_dir_all(out).map_err(|e| Error::io(out, e))?;
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))
}

/// Loads MNIST from the experiment's `data_dir` and truncates to the configured subsets.
pub fn load_data(exp: &Experiment) -> Result<Mnist> {
    let mut data = super::mnist::load(&exp.data_dir)?;
    data.train.truncate(exp.train_subset);
    data.test.truncate(exp.test_subset);
    Ok(data)
}

/// Test-set loss and error (fractions) in batches of `batch` examples.
pub fn evaluate(net: &mut Network, split: &Split, batch: usize) -> (f64, f64) {
    let n = split.len();
    let (mut loss, mut errors) = (0.0, 0usize);
    let mut start = 0;
    while start < n {
        let rows = batch.min(n - start);
        net.forward(&split.images[start * PIXELS..(start + rows) * PIXELS], rows);
        let t = one_hot(&split.labels[start..start + rows]);
        let (l, e) = net.loss_and_errors(&t);
        loss += l;
        errors += e;
        start += rows;
    }
    (loss / n.max(1) as f64, errors as f64 / n.max(1) as f64)
}

#[derive(Default)]
struct AngleSums {
    count: usize,
    bp: Vec<f64>,
    fa: Vec<f64>,
    bp_global: f64,
    fa_global: f64,
}

impl AngleSums {
    fn add(&mut self, a: &Angles) {
        if self.count == 0 {
            self.bp = vec![0.0; a.bp.len()];
            self.fa = vec![0.0; a.fa.len()];
        }
        self.count += 1;
        self.bp.iter_mut().zip(&a.bp).for_each(|(s, x)| *s += x);
        self.fa.iter_mut().zip(&a.fa).for_each(|(s, x)| *s += x);
        self.bp_global += a.bp_global;
        self.fa_global += a.fa_global;
    }

    fn mean(&self, layers: usize) -> (Vec<f64>, Vec<f64>, f64, f64) {
        if self.count == 0 {
            return (
                vec![f64::NAN; layers],
                vec![f64::NAN; layers],
                f64::NAN,
                f64::NAN,
            );
        }
        let c = self.count as f64;
        (
            self.bp.iter().map(|x| x / c).collect(),
            self.fa.iter().map(|x| x / c).collect(),
            self.bp_global / c,
            self.fa_global / c,
        )
    }
}

/// One epoch of training; returns its metrics (test fields filled by the caller).
fn train_epoch(
    net: &mut Network,
    exp: &Experiment,
    train: &Split,
    epoch: usize,
    bar: &indicatif::ProgressBar,
) -> EpochMetrics {
    let n = train.len();
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = stream(exp.seed, Purpose::Protocol, &[epoch as u64]);
    for i in (1..n).rev() {
        let j = rng.random_range(0..=i);
        order.swap(i, j);
    }
    let bs = exp.batch_size;
    let mut x = vec![0.0 as Real; bs * PIXELS];
    let mut t = vec![0.0 as Real; bs * CLASSES];
    let (mut loss, mut errors) = (0.0, 0usize);
    let mut sums = AngleSums::default();
    let mut apical: Vec<f64> = Vec::new();
    for (b, idx) in order.chunks(bs).enumerate() {
        let rows = idx.len();
        t[..rows * CLASSES].iter_mut().for_each(|v| *v = 0.0);
        for (r, &i) in idx.iter().enumerate() {
            x[r * PIXELS..(r + 1) * PIXELS]
                .copy_from_slice(&train.images[i * PIXELS..(i + 1) * PIXELS]);
            t[r * CLASSES + train.labels[i] as usize] = 1.0;
        }
        let measure = exp.angle_interval > 0 && b % exp.angle_interval == 0;
        if measure {
            net.compute_updates(&x[..rows * PIXELS], None, rows);
            let hidden = net.n_layers() - 1;
            apical.resize(hidden, 0.0);
            for (k, a) in apical.iter_mut().enumerate() {
                *a += net.mean_abs_apical(k);
            }
        }
        let stats = net.train_step(
            &x[..rows * PIXELS],
            Some(&t[..rows * CLASSES]),
            rows,
            measure,
        );
        loss += stats.loss_sum;
        errors += stats.errors;
        if let Some(a) = &stats.angles {
            sums.add(a);
        }
        bar.inc(1);
        if b % 50 == 0 {
            bar.set_message(format!(
                "train error {:.2} %",
                100.0 * errors as f64 / ((b * bs + rows) as f64)
            ));
        }
    }
    let (bp_angles, fa_angles, bp_angle_global, fa_angle_global) = sums.mean(net.n_layers());
    let (wy_angles, qy_angles) = net.weight_angles();
    let apical_abs = if sums.count > 0 {
        apical.iter().map(|a| a / sums.count as f64).collect()
    } else {
        vec![f64::NAN; net.n_layers() - 1]
    };
    EpochMetrics {
        epoch,
        train_loss: loss / n.max(1) as f64,
        train_error: errors as f64 / n.max(1) as f64,
        bp_angles,
        fa_angles,
        bp_angle_global,
        fa_angle_global,
        wy_angles,
        qy_angles,
        apical_abs,
        ..EpochMetrics::default()
    }
}

fn write_metrics_csv(path: &Path, history: &[EpochMetrics]) -> Result<()> {
    let Some(first) = history.first() else {
        return Ok(());
    };
    let mut s = String::from(
        "epoch,train_loss,train_error,test_loss,test_error,seconds,bp_angle_global,fa_angle_global",
    );
    let cols = |s: &mut String, prefix: &str, n: usize| {
        for l in 1..=n {
            s.push_str(&format!(",{prefix}_l{l}"));
        }
    };
    cols(&mut s, "bp_angle", first.bp_angles.len());
    cols(&mut s, "fa_angle", first.fa_angles.len());
    cols(&mut s, "wy_angle", first.wy_angles.len());
    cols(&mut s, "qy_angle", first.qy_angles.len());
    cols(&mut s, "apical_abs", first.apical_abs.len());
    s.push('\n');
    for m in history {
        s.push_str(&format!(
            "{},{:.6},{:.6},{:.6},{:.6},{:.3},{:.4},{:.4}",
            m.epoch,
            m.train_loss,
            m.train_error,
            m.test_loss,
            m.test_error,
            m.seconds,
            m.bp_angle_global,
            m.fa_angle_global
        ));
        for v in m
            .bp_angles
            .iter()
            .chain(&m.fa_angles)
            .chain(&m.wy_angles)
            .chain(&m.qy_angles)
            .chain(&m.apical_abs)
        {
            s.push_str(&format!(",{v:.4}"));
        }
        s.push('\n');
    }
    std::fs::write(path, s).map_err(|e| Error::io(path, e))
}

fn summarize(exp: &Experiment, history: &[EpochMetrics], threads: usize) -> Summary {
    let last = history.last().cloned().unwrap_or_default();
    let best = history
        .iter()
        .min_by(|a, b| a.test_error.total_cmp(&b.test_error))
        .cloned()
        .unwrap_or_default();
    Summary {
        name: exp.name.clone(),
        algorithm: exp
            .table
            .get("algorithm")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string(),
        layers: exp.model.sizes.clone(),
        test_error: last.test_error,
        best_test_error: best.test_error,
        best_epoch: best.epoch,
        train_error: last.train_error,
        epochs: history.len(),
        seconds_per_epoch: history.iter().map(|m| m.seconds).sum::<f64>()
            / history.len().max(1) as f64,
        seed: exp.seed,
        threads,
    }
}

fn plot_curves(path: &Path, exp: &Experiment, history: &[EpochMetrics]) -> Result<()> {
    let ep = |f: &dyn Fn(&EpochMetrics) -> f64| -> Vec<(f64, f64)> {
        history.iter().map(|m| (m.epoch as f64, f(m))).collect()
    };
    let errors = Panel {
        title: "Classification error".into(),
        x_label: "epoch".into(),
        y_label: "error (%)".into(),
        series: vec![
            Series::new("train", ep(&|m| 100.0 * m.train_error)),
            Series::new("test", ep(&|m| 100.0 * m.test_error)),
        ],
    };
    let layers = history.first().map_or(0, |m| m.bp_angles.len());
    let hidden = history.first().map_or(0, |m| m.apical_abs.len());
    let angle_panel = |title: &str,
                       global: &dyn Fn(&EpochMetrics) -> f64,
                       per: &dyn Fn(&EpochMetrics) -> &Vec<f64>| {
        let mut series = vec![Series::new("global", ep(global))];
        for l in 0..layers {
            series.push(Series::new(format!("layer {}", l + 1), ep(&|m| per(m)[l])));
        }
        Panel {
            title: title.into(),
            x_label: "epoch".into(),
            y_label: "angle (degrees)".into(),
            series,
        }
    };
    let fig = Figure {
        title: Some(format!("{} ({:?})", exp.name, exp.model.sizes)),
        panels: vec![
            errors,
            angle_panel("Angle to backprop update", &|m| m.bp_angle_global, &|m| {
                &m.bp_angles
            }),
            angle_panel(
                "Angle to feedback-alignment update",
                &|m| m.fa_angle_global,
                &|m| &m.fa_angles,
            ),
            Panel {
                title: "Mean |apical potential| without teacher".into(),
                x_label: "epoch".into(),
                y_label: "mean |u|".into(),
                series: (0..hidden)
                    .map(|k| Series::new(format!("layer {}", k + 1), ep(&|m| m.apical_abs[k])))
                    .collect(),
            },
        ],
        columns: 2,
        panel_size: (620, 420),
    };
    plot::save_png(&fig, path)
}

/// Trains `exp` on `data` into `opts.out`, resuming from its checkpoint if asked.
/// Must run inside a rayon pool of `opts.threads` threads for the thread count to hold.
pub fn run(exp: &Experiment, data: &Mnist, opts: &RunOptions) -> Result<Summary> {
    prepare_dir(&opts.out, opts.resume, opts.force)?;
    let mut net = Network::new(exp.model.clone(), exp.seed, opts.threads)?;
    let mut history = if opts.resume {
        read_checkpoint(&opts.out, exp, &mut net)?
    } else {
        Vec::new()
    };
    let cfg = opts.out.join("experiment.toml");
    std::fs::write(&cfg, toml::to_string(&exp.table).unwrap_or_default())
        .map_err(|e| Error::io(&cfg, e))?;
    let batches = data.train.len().div_ceil(exp.batch_size) as u64;
    for epoch in history.len() + 1..=exp.epochs {
        let bar = if opts.progress {
            let b = indicatif::ProgressBar::new(batches);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{prefix} [{elapsed_precise}] {bar:30} {pos}/{len} batches, {per_sec} {msg}",
                )
                .expect("the template is valid"),
            );
            b.set_prefix(format!("{} epoch {epoch}/{}", exp.name, exp.epochs));
            b
        } else {
            indicatif::ProgressBar::hidden()
        };
        net.set_lr_scale(exp.lr_schedule.factor(epoch, exp.epochs));
        let start = Instant::now();
        let mut m = train_epoch(&mut net, exp, &data.train, epoch, &bar);
        let (test_loss, test_error) = evaluate(&mut net, &data.test, exp.test_batch_size);
        m.test_loss = test_loss;
        m.test_error = test_error;
        m.seconds = start.elapsed().as_secs_f64();
        bar.finish_with_message(format!(
            "train error {:.2} %, test error {:.2} %",
            100.0 * m.train_error,
            100.0 * m.test_error
        ));
        history.push(m);
        write_checkpoint(&opts.out, exp, &mut net, &history, opts.threads)?;
        write_outputs(&opts.out, exp, &history, opts.threads)?;
    }
    write_outputs(&opts.out, exp, &history, opts.threads)?;
    Ok(summarize(exp, &history, opts.threads))
}

fn write_outputs(
    out: &Path,
    exp: &Experiment,
    history: &[EpochMetrics],
    threads: usize,
) -> Result<()> {
    write_metrics_csv(&out.join("metrics.csv"), history)?;
    let summary = summarize(exp, history, threads);
    let path = out.join("summary.json");
    let json = serde_json::to_string_pretty(&summary)
        .map_err(|e| Error::io(&path, std::io::Error::other(e)))?;
    std::fs::write(&path, json + "\n").map_err(|e| Error::io(&path, e))?;
    if !history.is_empty() {
        plot_curves(&out.join("learning_curves.png"), exp, history)?;
    }
    Ok(())
}

/// Runs the depth sweep of `exp.sweep_layers` into `opts.out/layers_N`, then writes
/// `sweep.csv` and `sweep.png` (final and best test error against depth) [G22 Fig 5B].
pub fn run_sweep(
    exp: &Experiment,
    data: &Mnist,
    opts: &RunOptions,
) -> Result<Vec<(usize, Summary)>> {
    if !opts.resume {
        prepare_dir(&opts.out, false, opts.force)?;
    }
    let mut results = Vec::new();
    for &layers in &exp.sweep_layers {
        let sub = exp.with_layers(layers);
        let dir = opts.out.join(format!("layers_{layers}"));
        let resume = opts.resume && dir.join(CHECKPOINT).is_file();
        let o = RunOptions {
            out: dir,
            resume,
            force: true,
            ..opts.clone()
        };
        results.push((layers, run(&sub, data, &o)?));
    }
    let mut csv = String::from("layers,test_error,best_test_error,epochs,seconds_per_epoch\n");
    for (l, s) in &results {
        csv.push_str(&format!(
            "{l},{:.6},{:.6},{},{:.3}\n",
            s.test_error, s.best_test_error, s.epochs, s.seconds_per_epoch
        ));
    }
    let path = opts.out.join("sweep.csv");
    std::fs::write(&path, csv).map_err(|e| Error::io(&path, e))?;
    let pts = |f: &dyn Fn(&Summary) -> f64| {
        results
            .iter()
            .map(|(l, s)| (*l as f64, 100.0 * f(s)))
            .collect()
    };
    let fig = Figure {
        title: Some(format!("{}: depth sweep", exp.name)),
        panels: vec![Panel {
            title: "Test error against depth".into(),
            x_label: "layers (input and output included)".into(),
            y_label: "test error (%)".into(),
            series: vec![
                Series::new("final", pts(&|s| s.test_error)),
                Series::new("best", pts(&|s| s.best_test_error)),
            ],
        }],
        columns: 1,
        ..Figure::default()
    };
    plot::save_png(&fig, &opts.out.join("sweep.png"))?;
    Ok(results)
}

/// Reads a `summary.json`.
pub fn read_summary(path: &Path) -> Result<Summary> {
    let mut s = String::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_string(&mut s))
        .map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&s).map_err(|e| Error::Parse {
        file: path.display().to_string(),
        message: e.to_string(),
    })
}
