//! `burstccn plot RUN_DIR`: redraws a run's figures from its files.

use anyhow::Context;
use burstccn::analysis::figures::plot_run;
use burstccn::config;
use clap::Args;
use std::path::PathBuf;

/// Arguments of `burstccn plot`.
#[derive(Args, Debug)]
pub struct PlotArgs {
    /// A run directory (holds config.toml and recordings.h5).
    pub run_dir: PathBuf,
}

/// Redraws the figures.
pub fn plot(args: &PlotArgs) -> anyhow::Result<()> {
    let exp = config::load(&args.run_dir.join("config.toml"), &[])
        .with_context(|| format!("reading the run in {}", args.run_dir.display()))?;
    for file in plot_run(&args.run_dir, &exp)? {
        println!("{}", file.display());
    }
    Ok(())
}
