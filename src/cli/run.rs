//! `burstccn run`.

use anyhow::Context;
use burstccn::config;
use burstccn::engine::runner::{self, RunOptions};
use clap::Args;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Arguments of `burstccn run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Experiment file (TOML).
    pub experiment: PathBuf,
    /// Run directory [default: output/<experiment name>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Master seed (overrides the file's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads [default: one per core].
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Edit the experiment before validation, e.g. --set duration_s=2 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Replace an existing run directory.
    #[arg(long)]
    pub force: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Interrupt flag set by Ctrl-C; the run loop checks it and closes its files.
pub fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    // If a handler is already installed (a second run in one process), keep the old one.
    let _ = ctrlc::set_handler(move || f.store(true, std::sync::atomic::Ordering::SeqCst));
    flag
}

/// Runs `burstccn run`.
pub fn run(args: &RunArgs) -> anyhow::Result<()> {
    let mut sets = args.sets.clone();
    if let Some(seed) = args.seed {
        sets.push(format!("seed={seed}"));
    }
    let exp = config::load(&args.experiment, &sets)?;
    if exp.protocol.is_some() {
        anyhow::bail!(burstccn::Error::config(
            args.experiment.display().to_string(),
            "protocol",
            "this experiment has a [protocol]; run it with `burstccn learn`"
        ));
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("output").join(&exp.name));
    let opts = RunOptions {
        out: out.clone(),
        threads: args.threads,
        force: args.force,
        progress: !args.quiet,
    };
    let flag = interrupt_flag();
    let summary = runner::run(&exp, &opts, &flag)
        .with_context(|| format!("running {}", args.experiment.display()))?;
    println!(
        "{}: {:.2} s simulated in {:.2} s ({:.2}× real time, {} threads); results in {}",
        exp.name,
        summary.simulated_s,
        summary.wall_s,
        summary.speed,
        summary.threads,
        out.display()
    );
    for (name, p) in &summary.populations {
        if let (Some(er), Some(bp)) = (p.event_rate_hz, p.burst_probability) {
            println!(
                "  {name:<12} {:>6} neurons  rate {:6.2} Hz  events {:6.2} Hz  bursts {:6.2} Hz  BP {:5.1} %",
                p.size,
                p.rate_hz,
                er,
                p.burst_rate_hz.unwrap_or(0.0),
                bp * 100.0
            );
        }
    }
    Ok(())
}
