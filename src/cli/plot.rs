//! `burstccn plot RUN_DIR`: redraws a run's figures from its files (with learning.png for a
//! `learn` run); for a multi-seed directory (`seedN/` subdirectories), each seed's figures and
//! the across-seed `seeds.png`.

use anyhow::Context;
use burstccn::analysis::figures::{plot_run, plot_seeds};
use burstccn::config;
use burstccn::experiment::xor::{learning_figure, learning_seeds_figure, read_run};
use clap::Args;
use std::path::{Path, PathBuf};

/// Arguments of `burstccn plot`.
#[derive(Args, Debug)]
pub struct PlotArgs {
    /// A run directory (holds config.toml and recordings.h5), or the output directory of
    /// `run --seeds` (holds seedN/ directories).
    pub run_dir: PathBuf,
}

/// Redraws the figures.
pub fn plot(args: &PlotArgs) -> anyhow::Result<()> {
    let seeds = seed_dirs(&args.run_dir)?;
    if seeds.is_empty() {
        for file in plot_one(&args.run_dir)? {
            println!("{}", file.display());
        }
        return Ok(());
    }
    for dir in &seeds {
        for file in plot_one(dir)? {
            println!("{}", file.display());
        }
    }
    let exp = config::load(&seeds[0].join("config.toml"), &[])
        .with_context(|| format!("reading the run in {}", seeds[0].display()))?;
    // Learning runs record in windows only: their across-seed figure is the learning curves.
    let png = if seeds.iter().all(|d| d.join("learning.csv").exists()) {
        let runs = seeds
            .iter()
            .map(|d| read_run(d))
            .collect::<Result<Vec<_>, _>>()?;
        let png = args.run_dir.join("seeds.png");
        learning_seeds_figure(&png, &exp.name, &runs)?;
        png
    } else {
        plot_seeds(&args.run_dir, &seeds, &exp)?
    };
    println!("{}", png.display());
    Ok(())
}

fn plot_one(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let exp = config::load(&dir.join("config.toml"), &[])
        .with_context(|| format!("reading the run in {}", dir.display()))?;
    let mut files = plot_run(dir, &exp)?;
    if dir.join("learning.csv").exists() {
        files.push(plot_learning(dir, &exp.name)?);
    }
    Ok(files)
}

/// learning.png of a `learn` run, from its learning.csv and summary.json.
fn plot_learning(dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let (curves, xor) = read_run(dir)?;
    let png = dir.join("learning.png");
    learning_figure(&png, name, &curves, &xor)?;
    Ok(png)
}

/// The `seedN` subdirectories holding a run, in seed order; empty for a single run.
fn seed_dirs(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if dir.join("config.toml").exists() {
        return Ok(Vec::new());
    }
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("reading the directory {}", dir.display()))?;
    let mut seeds: Vec<(u64, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let seed = name.strip_prefix("seed")?.parse().ok()?;
            e.path()
                .join("config.toml")
                .exists()
                .then(|| (seed, e.path()))
        })
        .collect();
    seeds.sort();
    Ok(seeds.into_iter().map(|s| s.1).collect())
}
