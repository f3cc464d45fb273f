//! Running an experiment: output directory, network build, the step loop with progress,
//! interruption and instability checks, recordings and `summary.json`.

use super::network::Network;
use crate::analysis::readouts::Series;
use crate::config::Experiment;
use crate::error::{Error, Result};
use crate::plasticity::RuleSums;
use crate::recording::edges::WeightFile;
use crate::recording::summary::{Summary, WeightSummary};
use crate::recording::Recorder;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Steps between checks of the interrupt flag, numerical state and progress bar.
const CHECK_EVERY: u64 = 1000;

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Run directory (created; replaced only with `force`).
    pub out: PathBuf,
    /// Worker threads; 0 = one per core.
    pub threads: usize,
    /// Replace an existing run directory.
    pub force: bool,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// Creates the run directory, refusing to touch an existing one unless `force`.
pub fn prepare_dir(dir: &Path, force: bool) -> Result<()> {
    if dir.exists() {
        if !force {
            return Err(Error::OutputExists(dir.to_path_buf()));
        }
        std::fs::remove_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))
}

/// The experiment as run (after `--set`, with its seed), as written to the run's config.toml.
pub fn config_text(exp: &Experiment) -> String {
    let mut resolved = exp.resolved.clone();
    resolved.insert("seed".into(), toml::Value::Integer(exp.seed as i64));
    toml::to_string(&resolved).unwrap_or_default()
}

/// Runs `exp` and writes everything into `opts.out`. `interrupt`, when set (by Ctrl-C), stops
/// the run after the current step; the files are closed and the summary says "interrupted".
pub fn run(exp: &Experiment, opts: &RunOptions, interrupt: &AtomicBool) -> Result<Summary> {
    let total = (exp.duration / exp.network.dt).round() as u64;
    in_pool(opts, |threads| {
        let mut session = Session::open(exp, opts, threads, total)?;
        let mut stop = None;
        while session.net.step < total {
            session.step(true, &mut |_, _| {});
            if let Err(e) = session.check(interrupt) {
                stop = Some(e);
                break;
            }
        }
        let (summary, result) = session.finish(stop)?;
        summary.write(&opts.out.join("summary.json"))?;
        draw_figures(exp, opts, &summary);
        result.map(|()| summary)
    })
}

/// Draws the figures of a run whose recordings were closed ("complete" or "interrupted").
/// A figure that cannot be drawn does not invalidate the run's data, so failures are warnings.
pub fn draw_figures(exp: &Experiment, opts: &RunOptions, summary: &Summary) {
    if summary.status == "failed" {
        return;
    }
    if let Err(e) = crate::analysis::figures::plot_run(&opts.out, exp) {
        eprintln!(
            "warning: figures of {} were not drawn: {e}",
            opts.out.display()
        );
    }
}

/// Runs `f` with the number of worker threads inside a rayon pool of that size
/// (`opts.threads`, 0 = one per core).
pub fn in_pool<T: Send>(opts: &RunOptions, f: impl FnOnce(usize) -> Result<T> + Send) -> Result<T> {
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        opts.threads
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::config("--threads", "threads", e.to_string()))?;
    pool.install(|| f(threads))
}

/// One run in progress: the run directory, the network, the recorder and the progress bar.
/// Plain runs ([`run`]) and protocols (crate::experiment) drive it step by step.
pub struct Session<'a> {
    pub exp: &'a Experiment,
    pub opts: &'a RunOptions,
    pub threads: usize,
    pub net: Network,
    pub recorder: Recorder,
    /// weights.h5, when the network has plastic projections.
    weights: Option<WeightFile>,
    build_s: f64,
    initial_weights: Vec<Option<f64>>,
    total: u64,
    bar: ProgressBar,
    started: Instant,
    /// Steps handed to the recorder from `exp.summary_start` on: the window of the population
    /// figures of the summary.
    counted_steps: u64,
}

impl<'a> Session<'a> {
    /// Prepares the run directory (writes config.toml), builds the network and opens the
    /// recordings; `total` steps are expected (for the progress bar). Call inside [`in_pool`].
    pub fn open(
        exp: &'a Experiment,
        opts: &'a RunOptions,
        threads: usize,
        total: u64,
    ) -> Result<Self> {
        prepare_dir(&opts.out, opts.force)?;
        let config_path = opts.out.join("config.toml");
        std::fs::write(&config_path, config_text(exp)).map_err(|e| Error::io(&config_path, e))?;
        let t0 = Instant::now();
        let mut net = Network::build(&exp.network);
        net.parallel = threads > 1;
        if let Some(init) = &exp.initial_weights {
            for (k, e) in &init.projections {
                net.set_plastic_weights(*k, &e.sources, &e.targets, &e.weights)
                    .map_err(|m| {
                        Error::config(
                            &exp.file,
                            "initial_weights.file",
                            format!(
                                "{} (snapshot {}) does not fit projection `{}`: {m}",
                                init.path.display(),
                                init.snapshot,
                                net.projections[*k].spec.name
                            ),
                        )
                    })?;
            }
        }
        let build_s = t0.elapsed().as_secs_f64();
        let recorder = Recorder::create(&opts.out, &exp.record, exp.summary_start, &net)?;
        let weights = WeightFile::create(&opts.out.join("weights.h5"), &net)?;
        let initial_weights = (0..net.projections.len())
            .map(|k| net.weight_sum(k))
            .collect();
        let duration = total as f64 * net.dt;
        Ok(Session {
            exp,
            opts,
            threads,
            net,
            recorder,
            weights,
            build_s,
            initial_weights,
            total,
            bar: progress_bar(total, duration, opts.progress),
            started: Instant::now(),
            counted_steps: 0,
        })
    }

    /// Advances one step; the recorder sees it if `record`, and `monitor` always does (in the
    /// device phase, see [`Network::step`]).
    pub fn step(&mut self, record: bool, monitor: &mut dyn FnMut(&Network, u64)) {
        let recorder = &mut self.recorder;
        let start = (self.exp.summary_start / self.net.dt).round() as u64;
        if record && self.net.step >= start {
            self.counted_steps += 1;
        }
        self.net.step(&mut |net, n| {
            if record {
                recorder.record(net, n);
            }
            monitor(net, n);
        });
    }

    /// Writes the current per-synapse weights of the plastic projections to weights.h5 as
    /// dataset `name` (nothing without plastic projections).
    pub fn snapshot_weights(&mut self, name: &str) -> Result<()> {
        match &mut self.weights {
            Some(w) => w.snapshot(&self.net, name),
            None => Ok(()),
        }
    }

    /// Every [`CHECK_EVERY`] steps (and at the last one): updates the progress bar, and fails on
    /// numerical instability or a set `interrupt` flag.
    pub fn check(&mut self, interrupt: &AtomicBool) -> Result<()> {
        let net = &self.net;
        if net.step % CHECK_EVERY != 0 && net.step != self.total {
            return Ok(());
        }
        self.bar.set_position(net.step);
        let elapsed = self.started.elapsed().as_secs_f64();
        self.bar.set_message(format!(
            "t = {:.2} of {:.2} s, {:.2}× real time",
            net.time(),
            self.total as f64 * net.dt,
            net.time() / elapsed.max(1e-9)
        ));
        if let Some(p) = net.find_instability() {
            return Err(Error::Instability {
                population: net.populations[p].name.clone(),
                time_s: net.time(),
                message: "a membrane potential became NaN or infinite; reduce dt or check weights and currents".into(),
            });
        }
        if interrupt.load(Ordering::SeqCst) {
            return Err(Error::Interrupted {
                time_s: net.time(),
                dir: self.opts.out.clone(),
            });
        }
        Ok(())
    }

    /// Closes the recordings and computes the summary (not yet written). The second value is
    /// `stop`, or the first recording error, or Ok.
    pub fn finish(self, stop: Option<Error>) -> Result<(Summary, Result<()>)> {
        let Session {
            exp,
            opts,
            threads,
            net,
            recorder,
            weights,
            build_s,
            initial_weights,
            bar,
            started,
            counted_steps,
            ..
        } = self;
        bar.finish_and_clear();
        let wall_s = started.elapsed().as_secs_f64();
        let simulated_s = net.time();
        let totals = recorder.totals.clone();
        let synaptic_events = recorder.synaptic_events;
        let closed = recorder
            .close()
            .and(weights.map_or(Ok(()), |w| w.close(&net)));
        let status = match (&stop, &closed) {
            (None, Ok(())) => "complete",
            (Some(Error::Interrupted { .. }), _) => "interrupted",
            _ => "failed",
        };
        let window = counted_steps as f64 * net.dt;
        let mut readouts = std::collections::BTreeMap::new();
        if closed.is_ok() && !exp.readouts.is_empty() {
            let path = opts.out.join("recordings.h5");
            let series = Series::open(&path, &exp.input_names)?;
            for (name, r) in &exp.readouts {
                readouts.insert(name.clone(), series.compute(r)?);
            }
        }
        let summary = Summary {
            experiment: exp.name.clone(),
            status: status.into(),
            seed: exp.seed,
            threads,
            dt_ms: net.dt * 1e3,
            simulated_s,
            summary_start_s: exp.summary_start,
            wall_s,
            build_s,
            speed: simulated_s / wall_s.max(1e-9),
            neurons: net
                .populations
                .iter()
                .filter(|p| !p.model.is_source())
                .map(|p| p.size as u64)
                .sum(),
            synapses: net.synapses(),
            synaptic_events,
            synaptic_events_per_s: synaptic_events as f64 / wall_s.max(1e-9),
            peak_rss_mib: crate::recording::summary::peak_rss_mib(),
            populations: Summary::populations(&net, &totals, window),
            plastic_weights: initial_weights
                .iter()
                .enumerate()
                .filter_map(|(k, w0)| {
                    let proj = &net.projections[k];
                    let (initial_sum, final_sum) = (w0.as_ref()?, net.weight_sum(k)?);
                    let synapses = proj.synapses();
                    Some((
                        proj.spec.name.clone(),
                        WeightSummary {
                            synapses,
                            initial_sum: *initial_sum,
                            final_sum,
                            final_mean: final_sum / synapses.max(1) as f64,
                            rule_baseline: net
                                .rule_sums(k)
                                .map(RuleSums::baseline)
                                .filter(|b| b.is_finite()),
                        },
                    ))
                })
                .collect(),
            readouts,
        };
        let result = match (stop, closed) {
            (Some(e), _) | (None, Err(e)) => Err(e),
            (None, Ok(())) => Ok(()),
        };
        Ok((summary, result))
    }
}

fn progress_bar(total: u64, duration: f64, show: bool) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(total),
        if show {
            ProgressDrawTarget::stderr_with_hz(4)
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(
        ProgressStyle::with_template("{bar:30.cyan/blue} {msg}, ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(format!("t = 0 of {duration:.2} s"));
    bar
}
