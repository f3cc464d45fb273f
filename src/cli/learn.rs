//! `burstccn learn`: run an experiment with a `[protocol]` (spec/experiments.md §5), for one
//! seed or several, at full scale or at the `[quick]` scale.

use super::run::{interrupt_flag, CommonArgs};
use super::seeds::parse_seeds;
use anyhow::{bail, Context};
use burstccn::analysis::readouts::mean_sd;
use burstccn::config;
use burstccn::engine::runner::RunOptions;
use burstccn::experiment::xor::{learning_seeds_figure, read_run};
use burstccn::experiment::{self, XorSummary};
use clap::Args;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Arguments of `burstccn learn`.
#[derive(Args, Debug)]
pub struct LearnArgs {
    /// Experiment file (TOML) with a [protocol] table.
    pub experiment: PathBuf,
    /// Seeds: one (3), an inclusive range (1..5) or a list (1,4,7) [default: the file's seed].
    /// A seed whose directory already holds a complete run of the same configuration is not
    /// rerun (unless --force); its results join seeds.json.
    #[arg(long, value_name = "SEEDS")]
    pub seeds: Option<String>,
    /// Apply the file's [quick] table (fewer epochs, shorter examples) before --set.
    #[arg(long)]
    pub quick: bool,
    /// Seeds run at the same time, on one thread each unless --threads is given. The XOR network
    /// is too small for a second thread to pay off, so on two cores `--jobs 2` roughly doubles
    /// the seeds per hour.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// One seed's line of seeds.json.
#[derive(Serialize)]
struct SeedResult {
    seed: u64,
    dir: PathBuf,
    wall_s: f64,
    speed: f64,
    xor: XorSummary,
}

/// The figures across seeds, written as seeds.json.
#[derive(Serialize)]
struct AcrossSeeds {
    experiment: String,
    quick: bool,
    seeds: usize,
    solved: usize,
    /// Epochs to solve of the seeds that solved it.
    epochs_to_solve: Vec<u64>,
    /// Test epochs to solve (interim tests) of the seeds that solved it.
    test_epochs_to_solve: Vec<u64>,
    /// Mean and SD of the post-test output event rate per example across seeds, Hz.
    post_rates_hz: BTreeMap<String, (f64, f64)>,
    runs: Vec<SeedResult>,
}

/// Runs `burstccn learn`.
pub fn learn(args: &LearnArgs) -> anyhow::Result<()> {
    let file = args.experiment.display().to_string();
    let text = std::fs::read_to_string(&args.experiment)
        .map_err(|e| burstccn::Error::io(&args.experiment, e))?;
    let raw: toml::Table = toml::from_str(&text).map_err(|e| burstccn::Error::Parse {
        file: file.clone(),
        message: format!("not valid TOML: {}", e.to_string().trim()),
    })?;
    let mut sets = if args.quick {
        experiment::quick_sets(&file, &raw)?
    } else {
        Vec::new()
    };
    sets.extend(args.common.sets.iter().cloned());
    let seeds = match &args.seeds {
        Some(s) => Some(parse_seeds(s)?),
        None => None,
    };
    // Validate once before any run starts, so a typo fails fast.
    let first = config::load(&args.experiment, &sets)?;
    if first.protocol.is_none() {
        bail!(burstccn::Error::config(
            file,
            "protocol",
            "this experiment has no [protocol]; run it with `burstccn run`"
        ));
    }
    let base = args.common.out.clone().unwrap_or_else(|| {
        let name = if args.quick {
            format!("{}_quick", first.name)
        } else {
            first.name.clone()
        };
        PathBuf::from("output").join(name)
    });
    let flag = interrupt_flag();
    let seed_list = seeds.clone().unwrap_or_else(|| vec![first.seed]);
    let jobs = args.jobs.clamp(1, seed_list.len());
    // Parallel seeds each run on one thread unless --threads says otherwise.
    let threads = match (jobs, args.common.threads) {
        (1, t) => t,
        (_, 0) => 1,
        (_, t) => t,
    };
    let one = |seed: u64| -> anyhow::Result<SeedResult> {
        let mut s = sets.clone();
        s.push(format!("seed={seed}"));
        let exp = config::load(&args.experiment, &s)?;
        let protocol = exp.protocol.as_ref().expect("validated above");
        let out = match &seeds {
            Some(_) => base.join(format!("seed{seed}")),
            None => base.clone(),
        };
        if !args.common.force {
            if let Some(done) = complete_run(&out, &exp) {
                println!("seed {seed}: reusing the complete run in {}", out.display());
                return Ok(done);
            }
        }
        let opts = RunOptions {
            out: out.clone(),
            threads,
            force: args.common.force,
            progress: !args.common.quiet && jobs == 1,
        };
        let t0 = std::time::Instant::now();
        let xor = experiment::protocol::run(&exp, protocol, &opts, &flag)
            .with_context(|| format!("running {} (seed {seed})", args.experiment.display()))?;
        let wall_s = t0.elapsed().as_secs_f64();
        let simulated = protocol.total_steps() as f64 * exp.network.dt;
        print_seed(seed, &out, &xor, simulated, wall_s);
        Ok(SeedResult {
            seed,
            dir: out,
            wall_s,
            speed: simulated / wall_s.max(1e-9),
            xor,
        })
    };
    // `jobs` workers take the seeds in order; results are put back in seed order.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<(usize, anyhow::Result<SeedResult>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let Some(&seed) = seed_list.get(k) else {
                            break;
                        };
                        let r = one(seed);
                        let failed = r.is_err();
                        done.push((k, r));
                        if failed {
                            // Later seeds of this worker are skipped; the error is reported.
                            next.store(seed_list.len(), std::sync::atomic::Ordering::SeqCst);
                            break;
                        }
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a seed worker panicked"))
            .collect()
    });
    let mut results = results;
    results.sort_by_key(|(k, _)| *k);
    let runs = results
        .into_iter()
        .map(|(_, r)| r)
        .collect::<anyhow::Result<Vec<_>>>()?;
    if seeds.is_some() {
        write_across(&base, &first.name, args.quick, runs)?;
    }
    Ok(())
}

/// The results of a finished run of exactly `exp` in `dir` (summary.json says "complete" and
/// config.toml is what this run would write), so that `--seeds` can add seeds to a directory
/// over several sessions without rerunning the finished ones.
fn complete_run(dir: &Path, exp: &burstccn::config::Experiment) -> Option<SeedResult> {
    let config = std::fs::read_to_string(dir.join("config.toml")).ok()?;
    if config != burstccn::engine::runner::config_text(exp) {
        return None;
    }
    let text = std::fs::read_to_string(dir.join("summary.json")).ok()?;
    let mut summary: serde_json::Value = serde_json::from_str(&text).ok()?;
    if summary["status"] != "complete" {
        return None;
    }
    Some(SeedResult {
        seed: exp.seed,
        dir: dir.to_path_buf(),
        wall_s: summary["wall_s"].as_f64()?,
        speed: summary["speed"].as_f64()?,
        xor: serde_json::from_value(summary["xor"].take()).ok()?,
    })
}

fn print_seed(seed: u64, out: &Path, xor: &XorSummary, simulated: f64, wall_s: f64) {
    let rates = |m: &BTreeMap<String, f64>| {
        m.iter()
            .map(|(k, v)| format!("{k} {v:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "seed {seed}: solved {} (epochs to solve {}); {simulated:.0} s simulated in {wall_s:.0} s ({:.1}× real time); results in {}",
        xor.solved,
        xor.epochs_to_solve.map_or("-".into(), |e| e.to_string()),
        simulated / wall_s.max(1e-9),
        out.display()
    );
    if !xor.interim_tests.is_empty() {
        let solved: Vec<u64> = xor
            .interim_tests
            .iter()
            .filter(|t| t.solved)
            .map(|t| t.epoch)
            .collect();
        println!(
            "  interim tests solved after epochs {solved:?}; test epochs to solve {}",
            xor.test_epochs_to_solve
                .map_or("-".into(), |e| e.to_string())
        );
    }
    if !xor.pre_rates_hz.is_empty() {
        println!("  pre-test output ER (Hz):  {}", rates(&xor.pre_rates_hz));
    }
    if !xor.post_rates_hz.is_empty() {
        println!("  post-test output ER (Hz): {}", rates(&xor.post_rates_hz));
    }
    if let (Some(a), Some(b)) = (xor.cost_first10_mean, xor.cost_last50_mean) {
        println!("  epoch cost: first 10 mean {a:.3}, last 50 mean {b:.3}");
    }
}

fn write_across(base: &Path, name: &str, quick: bool, runs: Vec<SeedResult>) -> anyhow::Result<()> {
    let mut post: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for r in &runs {
        for (k, v) in &r.xor.post_rates_hz {
            post.entry(k.clone()).or_default().push(*v);
        }
    }
    let across = AcrossSeeds {
        experiment: name.to_string(),
        quick,
        seeds: runs.len(),
        solved: runs.iter().filter(|r| r.xor.solved).count(),
        epochs_to_solve: runs.iter().filter_map(|r| r.xor.epochs_to_solve).collect(),
        test_epochs_to_solve: runs
            .iter()
            .filter_map(|r| r.xor.test_epochs_to_solve)
            .collect(),
        post_rates_hz: post.iter().map(|(k, v)| (k.clone(), mean_sd(v))).collect(),
        runs,
    };
    println!(
        "{name}: solved in {} of {} seeds; epochs to solve {:?}",
        across.solved, across.seeds, across.epochs_to_solve
    );
    let path = base.join("seeds.json");
    let text = serde_json::to_string_pretty(&across)?;
    std::fs::write(&path, text + "\n").map_err(|e| burstccn::Error::io(&path, e))?;
    // The figure is a convenience: a failure to draw it is reported, not fatal.
    let figure = across
        .runs
        .iter()
        .map(|r| read_run(&r.dir))
        .collect::<burstccn::Result<Vec<_>>>()
        .and_then(|curves| learning_seeds_figure(&base.join("seeds.png"), name, &curves));
    if let Err(e) = figure {
        eprintln!("warning: seeds.png not drawn: {e}");
    }
    Ok(())
}
