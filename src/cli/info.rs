//! `burstccn info`: what an experiment builds, without running it.

use burstccn::config;
use burstccn::engine::Network;
use clap::Args;
use std::path::PathBuf;

/// Arguments of `burstccn info`.
#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Experiment file (TOML).
    pub experiment: PathBuf,
    /// Edit the experiment before validation (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
}

/// Prints populations, projections with synapse counts, and a memory estimate.
pub fn info(args: &InfoArgs) -> anyhow::Result<()> {
    let exp = config::load(&args.experiment, &args.sets)?;
    let net = Network::build(&exp.network);
    println!("{}: {}", exp.name, exp.description);
    println!(
        "duration {} s, dt {} ms, seed {}",
        exp.duration,
        net.dt * 1e3,
        exp.seed
    );
    println!("populations:");
    let mut bytes = 0usize;
    for p in &net.populations {
        let b = p.size * p.model.bytes_per_neuron();
        bytes += b;
        println!("  {:<24} {:>8} × {:<14}", p.name, p.size, p.model_name);
    }
    println!("projections:");
    for proj in &net.projections {
        let s = &proj.spec;
        let syn = proj.synapses();
        let table_bytes: usize = proj.tables.iter().map(|t| t.bytes()).sum();
        // Drawn and plastic weights are stored per synapse; a fixed weight is one number.
        let per_synapse = proj.weights.is_some() || proj.plastic.is_some();
        let weight_bytes = if per_synapse {
            syn as usize * std::mem::size_of::<burstccn::Real>()
        } else {
            0
        };
        bytes += table_bytes + weight_bytes;
        println!(
            "  {:<24} {:>10} synapses  {} → {} {} {:?}, w = {}, delay {} steps{}",
            s.name,
            syn,
            net.populations[s.pre].name,
            net.populations[s.post].name,
            s.compartment.name(),
            s.receptor,
            s.weight,
            s.delay,
            if s.stp.is_some() { ", STP" } else { "" }
        );
    }
    if !exp.network.drives.is_empty() {
        println!("private Poisson drives (one source per neuron):");
        for d in &exp.network.drives {
            println!(
                "  {:<24} {} {:?}, {} Hz, w = {}",
                net.populations[d.population].name,
                d.compartment.name(),
                d.receptor,
                d.rate,
                d.weight
            );
        }
    }
    println!("synapses: {}", net.synapses());
    println!(
        "memory estimate: {:.1} MiB",
        bytes as f64 / (1 << 20) as f64
    );
    Ok(())
}
