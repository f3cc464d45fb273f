//! `burstccn bench`: runs benchmark workloads in fresh processes (so peak memory is per run)
//! at several thread counts and prints a Markdown table for BENCHMARKS.md.

use anyhow::{bail, Context};
use clap::Args;
use std::path::PathBuf;
use std::process::Command;

/// Arguments of `burstccn bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Experiment files to run [default: experiments/multiplexing.toml experiments/coba.toml].
    pub experiments: Vec<PathBuf>,
    /// Thread counts to compare, comma-separated.
    #[arg(long, default_value = "1,2", value_delimiter = ',')]
    pub threads: Vec<usize>,
    /// Override each experiment's duration, s.
    #[arg(long)]
    pub duration: Option<f64>,
    /// Also record spikes (by default only the binned rates are recorded, to time the simulation).
    #[arg(long)]
    pub record: bool,
    /// Repetitions per configuration; the fastest is reported.
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
}

/// Runs the benchmark.
pub fn bench(args: &BenchArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("locating the burstccn executable")?;
    let experiments = if args.experiments.is_empty() {
        vec![
            PathBuf::from("experiments/multiplexing.toml"),
            PathBuf::from("experiments/coba.toml"),
        ]
    } else {
        args.experiments.clone()
    };
    let tmp = std::env::temp_dir().join(format!("burstccn-bench-{}", std::process::id()));
    println!("| workload | threads | simulated s | wall s per simulated s | simulated s per wall s | synaptic events per s | synapses | peak memory (MiB) |");
    println!("|---|---|---|---|---|---|---|---|");
    for exp in &experiments {
        for &threads in &args.threads {
            let mut best: Option<serde_json::Value> = None;
            for _ in 0..args.repeat.max(1) {
                let mut cmd = Command::new(&exe);
                cmd.arg("run")
                    .arg(exp)
                    .args([
                        "--threads",
                        &threads.to_string(),
                        "--quiet",
                        "--force",
                        "--out",
                    ])
                    .arg(&tmp);
                if let Some(d) = args.duration {
                    cmd.args(["--set", &format!("duration_s={d}")]);
                }
                if !args.record {
                    cmd.args(["--set", "record.spikes=[]"]);
                }
                let status = cmd
                    .stdout(std::process::Stdio::null())
                    .status()
                    .with_context(|| format!("running {}", exp.display()))?;
                if !status.success() {
                    bail!("{} failed ({status})", exp.display());
                }
                let text = std::fs::read_to_string(tmp.join("summary.json"))?;
                let s: serde_json::Value = serde_json::from_str(&text)?;
                let faster = |a: &serde_json::Value, b: &serde_json::Value| {
                    a["wall_s"].as_f64() < b["wall_s"].as_f64()
                };
                if best.as_ref().is_none_or(|b| faster(&s, b)) {
                    best = Some(s);
                }
            }
            let s = best.expect("at least one repetition ran");
            let f = |k: &str| s[k].as_f64().unwrap_or(f64::NAN);
            println!(
                "| {} | {} | {:.1} | {:.3} | {:.2} | {:.3e} | {} | {:.0} |",
                s["experiment"].as_str().unwrap_or("?"),
                threads,
                f("simulated_s"),
                f("wall_s") / f("simulated_s"),
                f("speed"),
                f("synaptic_events_per_s"),
                s["synapses"],
                f("peak_rss_mib"),
            );
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}
