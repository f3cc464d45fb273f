//! `burstccn run`.

use super::seeds::parse_seeds;
use anyhow::Context;
use burstccn::analysis::figures::plot_seeds;
use burstccn::analysis::readouts::mean_sd;
use burstccn::config;
use burstccn::engine::runner::{self, RunOptions};
use burstccn::recording::summary::{PopulationSummary, Summary};
use clap::Args;
use serde_json::json;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

/// Options shared by the commands that run simulations (`run`, `learn`).
#[derive(Args, Debug)]
pub struct CommonArgs {
    /// Run directory [default: output/<experiment name>]; with several seeds, one
    /// sub-directory seed<N> per seed and seeds.json across seeds.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Worker threads per run [default: one per core].
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Edit the experiment before validation, e.g. --set duration_s=2 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Replace existing run directories.
    #[arg(long)]
    pub force: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Arguments of `burstccn run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Experiment file (TOML).
    pub experiment: PathBuf,
    /// Master seed (overrides the file's `seed`).
    #[arg(long, conflicts_with = "seeds")]
    pub seed: Option<u64>,
    /// Several seeds, "1..5" or "1,4,7": one run per seed in <out>/seed<N>/, then seeds.json
    /// (mean and SD of every population figure and readout) and seeds.png (mean ± 2 SD).
    #[arg(long)]
    pub seeds: Option<String>,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// The process's interrupt flag, set by Ctrl-C, SIGTERM or SIGHUP (ctrlc's `termination`
/// feature); run loops check it and close their files.
/// One handler serves every run of the process (several seeds, protocols).
pub fn interrupt_flag() -> Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        // Without a handler (another library installed one) Ctrl-C still ends the process.
        let _ = ctrlc::set_handler(move || f.store(true, std::sync::atomic::Ordering::SeqCst));
        flag
    })
    .clone()
}

/// Runs `burstccn run`.
pub fn run(args: &RunArgs) -> anyhow::Result<()> {
    let Some(seeds) = &args.seeds else {
        run_one(args, args.seed, None)?;
        return Ok(());
    };
    let seeds = parse_seeds(seeds)?;
    let exp = config::load(&args.experiment, &args.common.sets)?;
    let out = args
        .common
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("output").join(&exp.name));
    runner::prepare_dir(&out, args.common.force)?;
    let mut runs = Vec::new();
    for &seed in &seeds {
        let dir = out.join(format!("seed{seed}"));
        let summary = run_one(args, Some(seed), Some(dir.clone()))?;
        runs.push((seed, dir, summary));
    }
    let across = across_seeds(&runs);
    let path = out.join("seeds.json");
    std::fs::write(&path, serde_json::to_string_pretty(&across)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    let dirs: Vec<PathBuf> = runs.iter().map(|r| r.1.clone()).collect();
    if let Err(e) = plot_seeds(&out, &dirs, &exp) {
        eprintln!("warning: the across-seed figure was not drawn: {e}");
    }
    println!(
        "{} seeds: {} (across seeds: seeds.json, seeds.png)",
        seeds.len(),
        out.display()
    );
    for (name, v) in across["readouts"].as_object().into_iter().flatten() {
        if let (Some(m), Some(sd)) = (v["mean"].as_f64(), v["sd"].as_f64()) {
            println!("  {name:<20} {m:8.3} ± {sd:.3}");
        }
    }
    Ok(())
}

/// Mean, SD and per-seed values of every numeric population figure and readout.
fn across_seeds(runs: &[(u64, PathBuf, Summary)]) -> serde_json::Value {
    let stat = |values: Vec<f64>| {
        let (mean, sd) = mean_sd(&values);
        let finite = |x: f64| x.is_finite().then_some(x);
        json!({ "mean": finite(mean), "sd": finite(sd), "values": values.iter().map(|&x| finite(x)).collect::<Vec<_>>() })
    };
    let first = &runs[0].2;
    let mut populations = serde_json::Map::new();
    for name in first.populations.keys() {
        let field = |f: fn(&PopulationSummary) -> Option<f64>| {
            stat(
                runs.iter()
                    .map(|r| r.2.populations.get(name).and_then(f).unwrap_or(f64::NAN))
                    .collect(),
            )
        };
        populations.insert(
            name.clone(),
            json!({
                "rate_hz": field(|p| Some(p.rate_hz)),
                "event_rate_hz": field(|p| p.event_rate_hz),
                "burst_rate_hz": field(|p| p.burst_rate_hz),
                "burst_probability": field(|p| p.burst_probability),
            }),
        );
    }
    let mut readouts = serde_json::Map::new();
    for name in first.readouts.keys() {
        let values: Vec<f64> = runs
            .iter()
            .map(|r| {
                let v = &r.2.readouts[name];
                v.as_f64().or_else(|| v["r"].as_f64()).unwrap_or(f64::NAN)
            })
            .collect();
        if first.readouts[name].is_number() || first.readouts[name]["r"].is_number() {
            readouts.insert(name.clone(), stat(values));
        }
    }
    json!({
        "seeds": runs.iter().map(|r| r.0).collect::<Vec<_>>(),
        "populations": populations,
        "readouts": readouts,
    })
}

/// One run with `seed` (or the file's) into `out` (or the default directory).
fn run_one(args: &RunArgs, seed: Option<u64>, out: Option<PathBuf>) -> anyhow::Result<Summary> {
    let mut sets = args.common.sets.clone();
    if let Some(seed) = seed {
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
    let out = out
        .or_else(|| args.common.out.clone())
        .unwrap_or_else(|| PathBuf::from("output").join(&exp.name));
    let opts = RunOptions {
        out: out.clone(),
        threads: args.common.threads,
        force: args.common.force,
        progress: !args.common.quiet,
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
    Ok(summary)
}
