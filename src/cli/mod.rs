//! The `burstccn` command line (clap derive): one file per subcommand.

pub mod analyze;
pub mod bench;
pub mod info;
pub mod learn;
pub mod plot;
pub mod protocols;
pub mod run;
pub mod seeds;

use clap::{Parser, Subcommand};

/// Simulator of cortical spiking networks that learn with bursts.
#[derive(Parser, Debug)]
#[command(name = "burstccn", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a spiking experiment (TOML) and write spikes.h5, recordings.h5, config.toml, summary.json.
    Run(run::RunArgs),
    /// Run an experiment with a [protocol] (learning, XOR): learning.csv and summary.json with
    /// "xor"; several seeds with --seeds 1..5, the quick scale with --quick.
    Learn(learn::LearnArgs),
    /// Print populations, synapse counts and a memory estimate without running.
    Info(info::InfoArgs),
    /// List the neuron models and presets.
    Models,
    /// Time benchmark workloads at several thread counts (Markdown table for BENCHMARKS.md).
    Bench(bench::BenchArgs),
    /// Classify the spikes of a SONATA file as events/bursts (ISI rule) and bin ER, BR and BP.
    Analyze(analyze::AnalyzeArgs),
    /// Single-synapse plasticity-protocol curves ([P21] Fig 2B–D, [G22] Fig 1B): CSV files,
    /// summary.json and protocols.png.
    Protocols(protocols::ProtocolsArgs),
    /// Redraw the figures of a run directory (rates.png, correlations.png, levels.png).
    Plot(plot::PlotArgs),
    /// Train a rate model (BurstCCN, backprop, feedback alignment, Burstprop) on MNIST.
    Train(burstccn::rate::cli::TrainArgs),
    /// Obtain and verify a data set (MNIST).
    Data(burstccn::rate::cli::DataArgs),
}

/// Runs the parsed command line.
pub fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Learn(args) => learn::learn(&args),
        Command::Info(args) => info::info(&args),
        Command::Bench(args) => bench::bench(&args),
        Command::Analyze(args) => analyze::analyze(&args),
        Command::Plot(args) => plot::plot(&args),
        Command::Protocols(args) => protocols::protocols(&args),
        Command::Train(args) => burstccn::rate::cli::train(&args),
        Command::Data(args) => burstccn::rate::cli::data(&args),
        Command::Models => {
            println!("models:");
            for m in burstccn::neurons::MODELS {
                println!("  {:<14} {}", m.name, m.description);
            }
            println!(
                "presets (models/neurons/*.toml): {}",
                burstccn::config::presets::names().join(", ")
            );
            Ok(())
        }
    }
}
