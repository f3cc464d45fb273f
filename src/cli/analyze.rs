//! `burstccn analyze`: offline event/burst analysis of a SONATA spike file
//! (spec/plasticity.md §1.1; see `burstccn::analysis::offline`).

use burstccn::analysis::offline::{self, Options};
use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Arguments of `burstccn analyze`.
#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    /// SONATA spike file (e.g. a run's spikes.h5).
    pub spikes: PathBuf,
    /// Population to analyse (repeatable) [default: all in the file].
    #[arg(long = "population", short = 'p', value_name = "P")]
    pub populations: Vec<String>,
    /// Time bin, ms.
    #[arg(long, default_value_t = offline::DEFAULT_BIN_MS)]
    pub bin_ms: f64,
    /// Burst threshold: a spike is an event iff its ISI exceeds this, ms.
    #[arg(long, default_value_t = burstccn::analysis::bursts::BURST_ISI_MS)]
    pub burst_isi_ms: f64,
    /// Start of the window, s [default: 0].
    #[arg(long, value_name = "S")]
    pub from: Option<f64>,
    /// End of the window, s [default: the run's duration from summary.json/config.toml next to
    /// the file, else the last bin holding a spike].
    #[arg(long, value_name = "S")]
    pub to: Option<f64>,
    /// Population size (repeatable); spike files do not store it [default: summary.json or
    /// config.toml next to the file, else max node id + 1].
    #[arg(long = "n-neurons", value_name = "POP=N", value_parser = parse_size)]
    pub n_neurons: Vec<(String, usize)>,
    /// ISI histogram bin width, ms.
    #[arg(long, default_value_t = offline::DEFAULT_ISI_BIN_MS)]
    pub isi_bin_ms: f64,
    /// Upper edge of the ISI histogram, ms (longer ISIs are counted as overflow).
    #[arg(long, default_value_t = offline::DEFAULT_ISI_MAX_MS)]
    pub isi_max_ms: f64,
    /// Output directory [default: analysis/ next to the spike file].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print nothing but warnings and errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Parses `POP=N` (N ≥ 1).
fn parse_size(s: &str) -> Result<(String, usize), String> {
    let (pop, n) = s
        .split_once('=')
        .ok_or_else(|| format!("expected POP=N, got `{s}`"))?;
    let n: usize = n
        .trim()
        .parse()
        .map_err(|_| format!("expected a whole number of neurons after `=`, got `{n}`"))?;
    if pop.trim().is_empty() || n == 0 {
        return Err(format!(
            "expected POP=N with a population name and N ≥ 1, got `{s}`"
        ));
    }
    Ok((pop.trim().to_owned(), n))
}

/// Runs `burstccn analyze`.
pub fn analyze(args: &AnalyzeArgs) -> anyhow::Result<()> {
    let mut n_neurons = BTreeMap::new();
    for (pop, n) in &args.n_neurons {
        n_neurons.insert(pop.clone(), *n);
    }
    let opts = Options {
        populations: args.populations.clone(),
        bin_ms: args.bin_ms,
        burst_isi_ms: args.burst_isi_ms,
        from_s: args.from,
        to_s: args.to,
        n_neurons,
        isi_bin_ms: args.isi_bin_ms,
        isi_max_ms: args.isi_max_ms,
        ..Options::default()
    };
    let started = std::time::Instant::now();
    let analysis = offline::analyze(&args.spikes, &opts)?;
    let elapsed = started.elapsed().as_secs_f64();
    for w in &analysis.warnings {
        eprintln!("warning: {w}");
    }
    let out = args.out.clone().unwrap_or_else(|| {
        args.spikes
            .parent()
            .map_or_else(|| PathBuf::from("analysis"), |d| d.join("analysis"))
    });
    analysis.write(&out)?;
    if args.quiet {
        return Ok(());
    }
    let spikes: u64 = analysis.populations.iter().map(|p| p.spikes_in_file).sum();
    println!(
        "{}: {} spikes analysed in {:.2} s ({:.1} M spikes/s); window {}–{} s in {} bins of \
         {} ms; burst ISI ≤ {} ms; results in {}",
        args.spikes.display(),
        spikes,
        elapsed,
        spikes as f64 / elapsed.max(1e-9) / 1e6,
        analysis.from_ms / 1e3,
        analysis.to_ms / 1e3,
        analysis.n_bins(),
        analysis.bin_ms,
        analysis.burst_isi_ms,
        out.display()
    );
    let pct =
        |x: Option<f64>| x.map_or_else(|| "    –".to_owned(), |v| format!("{:5.1}", v * 100.0));
    for p in &analysis.populations {
        let t = p.totals(analysis.window_s());
        println!(
            "  {:<12} {:>7} neurons  rate {:6.2} Hz  events {:6.2} Hz  bursts {:6.2} Hz  \
             BP {} % (bin mean {} %)  {} spikes/burst",
            p.name,
            p.n_neurons,
            t.rate_hz,
            t.event_rate_hz,
            t.burst_rate_hz,
            pct(t.burst_probability),
            pct(t.burst_probability_bin_mean),
            t.spikes_per_burst
                .map_or_else(|| "–".to_owned(), |v| format!("{v:.2}"))
        );
    }
    Ok(())
}
