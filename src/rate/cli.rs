//! Command-line entry points of the rate model, wired into `burstccn train` and
//! `burstccn data mnist` by the binary.

use super::{config, mnist, train};
use anyhow::Context as _;
use std::path::PathBuf;

/// `burstccn train EXPERIMENT.toml [--out DIR] [--seed N] [--threads N] [--set K=V]... [--resume] [--force]`
#[derive(clap::Args, Debug, Clone)]
pub struct TrainArgs {
    /// Experiment file (e.g. experiments/mnist_burstccn.toml).
    pub experiment: PathBuf,
    /// Output directory [default: `output/<experiment name>`].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Master seed (overrides the file's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads for the matrix products [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Override a key of the experiment file, e.g. --set epochs=2 --set data_dir=PATH (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Continue from the last checkpoint in the output directory.
    #[arg(long)]
    pub resume: bool,
    /// Replace an existing output directory.
    #[arg(long)]
    pub force: bool,
}

/// `burstccn data mnist --dir DIR [--from PATH]`
#[derive(clap::Args, Debug, Clone)]
pub struct DataArgs {
    /// Data set to obtain (only `mnist`).
    #[arg(value_parser = ["mnist"])]
    pub dataset: String,
    /// Directory to put the files in.
    #[arg(long, default_value = "data/mnist")]
    pub dir: PathBuf,
    /// Import local copies from this directory instead of downloading.
    #[arg(long)]
    pub from: Option<PathBuf>,
}

/// Runs `burstccn train`.
pub fn train(args: &TrainArgs) -> anyhow::Result<()> {
    let mut sets = args.set.clone();
    if let Some(seed) = args.seed {
        sets.push(format!("seed={seed}"));
    }
    let exp = config::load(&args.experiment, &sets)?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("output").join(&exp.name));
    let opts = train::RunOptions {
        out: out.clone(),
        threads,
        resume: args.resume,
        force: args.force,
        progress: true,
    };
    let data = train::load_data(&exp)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("could not start the worker threads")?;
    if exp.sweep_layers.is_empty() {
        let s = pool.install(|| train::run(&exp, &data, &opts))?;
        println!(
            "{}: test error {:.2} % (best {:.2} % at epoch {}), {:.1} s per epoch; results in {}",
            s.name,
            100.0 * s.test_error,
            100.0 * s.best_test_error,
            s.best_epoch,
            s.seconds_per_epoch,
            out.display()
        );
    } else {
        let results = pool.install(|| train::run_sweep(&exp, &data, &opts))?;
        for (layers, s) in results {
            println!(
                "{layers} layers: test error {:.2} % (best {:.2} %)",
                100.0 * s.test_error,
                100.0 * s.best_test_error
            );
        }
        println!("results in {}", out.display());
    }
    Ok(())
}

/// Runs `burstccn data mnist`.
pub fn data(args: &DataArgs) -> anyhow::Result<()> {
    let report = mnist::obtain(&args.dir, args.from.as_deref())?;
    for (name, how) in report {
        let how = match how {
            mnist::Obtained::Present => "already present".to_string(),
            mnist::Obtained::Imported(p) => format!("imported from {}", p.display()),
            mnist::Obtained::Downloaded(u) => format!("downloaded from {u}"),
        };
        println!("{name}: {how}, MD5 verified");
    }
    println!("MNIST is ready in {}", args.dir.display());
    Ok(())
}
