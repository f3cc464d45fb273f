use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "burstccn")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a rate model on MNIST.
    Train(burstccn::rate::cli::TrainArgs),
    /// Obtain a data set.
    Data(burstccn::rate::cli::DataArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Train(a) => burstccn::rate::cli::train(&a),
        Command::Data(a) => burstccn::rate::cli::data(&a),
    }
}
