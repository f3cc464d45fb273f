//! `burstccn protocols`: the single-synapse plasticity-protocol curves of [P21] Fig 2B–D and
//! [G22] Fig 1B (spec/plasticity.md §6; see `burstccn::plasticity::protocols`), written as one
//! CSV per protocol, `summary.json` and `protocols.png`.

use burstccn::plasticity::protocols::{
    burst_poisson, periodic, poisson, run_burst_poisson, run_constant_baseline, run_periodic,
    run_poisson, BurstPoisson, BurstPoissonCurve, ConstantBaseline, ConstantBaselineCurve,
    Periodic, PeriodicCurve, Poisson, PoissonCurve,
};
use burstccn::plot::{save_png, Figure, Panel, Series};
use burstccn::Error;
use clap::Args;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Upper limit of `--realisations`: 10 000 runs of 100 s per point take hours.
const MAX_REALISATIONS: usize = 10_000;

/// Arguments of `burstccn protocols`.
#[derive(Args, Debug)]
pub struct ProtocolsArgs {
    /// Output directory (created if missing; the files of an earlier run in it are replaced).
    #[arg(long, default_value = "output/protocols")]
    pub out: PathBuf,
    /// Master seed of the random spike trains.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Realisations per point of the stochastic protocols [default: as published, 20 for
    /// Poisson and burst-Poisson, 5 for the constant baseline].
    #[arg(long, value_name = "N")]
    pub realisations: Option<usize>,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// The four curves.
struct Curves {
    periodic: PeriodicCurve,
    poisson: Vec<PoissonCurve>,
    burst_poisson: Vec<BurstPoissonCurve>,
    constant_baseline: ConstantBaselineCurve,
}

/// Runs `burstccn protocols`.
pub fn protocols(args: &ProtocolsArgs) -> anyhow::Result<()> {
    if let Some(n) = args
        .realisations
        .filter(|n| !(1..=MAX_REALISATIONS).contains(n))
    {
        return Err(Error::config(
            "--realisations",
            format!("--realisations {n}"),
            format!("expected 1 to {MAX_REALISATIONS} realisations per point"),
        )
        .into());
    }
    let mut poisson = Poisson::default();
    let mut burst = BurstPoisson::default();
    let mut baseline = ConstantBaseline::default();
    if let Some(n) = args.realisations {
        (
            poisson.realisations,
            burst.realisations,
            baseline.realisations,
        ) = (n, n, n);
    }
    let started = std::time::Instant::now();
    let curves = Curves {
        periodic: run_periodic(&Periodic::default())?,
        poisson: run_poisson(&poisson, args.seed)?,
        burst_poisson: run_burst_poisson(&burst, args.seed)?,
        constant_baseline: run_constant_baseline(&baseline, args.seed)?,
    };
    let wall_s = started.elapsed().as_secs_f64();
    std::fs::create_dir_all(&args.out).map_err(|e| Error::io(&args.out, e))?;
    write_csvs(&args.out, &curves)?;
    let summary = summary(
        &curves,
        args.seed,
        [
            poisson.realisations,
            burst.realisations,
            baseline.realisations,
        ],
        wall_s,
    );
    let path = args.out.join("summary.json");
    let text = serde_json::to_string_pretty(&summary)?;
    std::fs::write(&path, text + "\n").map_err(|e| Error::io(&path, e))?;
    save_png(&figure(&curves), &args.out.join("protocols.png"))?;
    if !args.quiet {
        print_summary(&summary, &args.out);
    }
    Ok(())
}

/// An optional number as JSON (null when absent).
fn num(x: Option<f64>) -> Value {
    x.map_or(Value::Null, Value::from)
}

/// Largest |a − b| over the pairs.
fn max_abs_diff(pairs: impl Iterator<Item = (f64, f64)>) -> f64 {
    pairs.map(|(a, b)| (a - b).abs()).fold(0.0, f64::max)
}

fn summary(c: &Curves, seed: u64, realisations: [usize; 3], wall_s: f64) -> Value {
    let p = &c.periodic;
    let reference = periodic::REFERENCE.iter().map(|r| r.1);
    let poisson: Vec<Value> = c
        .poisson
        .iter()
        .zip(&poisson::REFERENCE_CLOSED_FORM)
        .map(|(curve, (_, table))| {
            // How far the simulated means lie from the closed form, in units of their SD
            // (undefined with one realisation, whose SD is 0).
            let z = curve
                .mean
                .iter()
                .zip(&curve.closed_form)
                .zip(&curve.sd)
                .map(|((m, cf), sd)| (m - cf).abs() / sd)
                .try_fold(0.0, |acc: f64, z| z.is_finite().then(|| acc.max(z)));
            json!({
                "initial_burst_probability": curve.initial_burst_probability,
                "crossover_closed_form_hz": num(curve.crossover_closed_form),
                "crossover_simulated_hz": num(curve.crossover_simulated),
                "closed_form_max_abs_deviation_from_reference": max_abs_diff(curve.closed_form.iter().copied().zip(table.iter().copied())),
                "simulated_max_abs_deviation_from_closed_form_in_sd": num(z),
            })
        })
        .collect();
    let burst: Vec<Value> = c
        .burst_poisson
        .iter()
        .map(|curve| {
            json!({
                "event_rate_hz": curve.event_rate,
                "zero_crossing_p": num(curve.zero_crossing),
                "slope_per_unit_p": curve.slope,
            })
        })
        .collect();
    let cb = &c.constant_baseline;
    let (min_at, min) = cb
        .rates
        .iter()
        .zip(&cb.mean)
        .min_by(|a, b| a.1.total_cmp(b.1))
        .map_or((f64::NAN, f64::NAN), |(r, m)| (*r, *m));
    let at_60 = cb.rates.iter().position(|&r| r == 60.0).map(|i| cb.mean[i]);
    json!({
        "seed": seed,
        "realisations": {
            "poisson": realisations[0],
            "burst_poisson": realisations[1],
            "constant_baseline": realisations[2],
        },
        "wall_s": wall_s,
        "periodic": {
            "switch_frequency_hz": num(p.switch_frequency),
            "max_abs_deviation_from_reference": max_abs_diff(p.delta_w.iter().copied().zip(reference)),
        },
        "poisson": poisson,
        "burst_poisson": burst,
        "constant_baseline": {
            "crossover_hz": num(cb.crossover),
            "crossover_expected_hz": num(cb.crossover_expected),
            "min_delta_w": min,
            "min_at_hz": min_at,
            "delta_w_at_60_hz": num(at_60),
        },
    })
}

/// A number with `digits` decimals, or "–" when absent.
fn fmt(x: Option<f64>, digits: usize) -> String {
    x.map_or_else(|| "–".to_owned(), |v| format!("{v:.digits$}"))
}

fn print_summary(s: &Value, out: &Path) {
    let f = |v: &Value, digits: usize| fmt(v.as_f64(), digits);
    println!(
        "plasticity protocols in {} s; results in {}",
        f(&s["wall_s"], 1),
        out.display()
    );
    let p = &s["periodic"];
    println!(
        "  (a) periodic: LTD → LTP at {} Hz; largest deviation from the reference table {}",
        f(&p["switch_frequency_hz"], 2),
        f(&p["max_abs_deviation_from_reference"], 4)
    );
    for c in s["poisson"].as_array().into_iter().flatten() {
        println!(
            "  (b) Poisson, P̄(0) = {}: crossover {} Hz (closed form {} Hz); means within {} SD \
             of the closed form",
            f(&c["initial_burst_probability"], 2),
            f(&c["crossover_simulated_hz"], 1),
            f(&c["crossover_closed_form_hz"], 1),
            f(&c["simulated_max_abs_deviation_from_closed_form_in_sd"], 2)
        );
    }
    for c in s["burst_poisson"].as_array().into_iter().flatten() {
        println!(
            "  (c) burst-Poisson, ER = {} Hz: ΔW = 0 at p = {}, slope {} per unit p",
            f(&c["event_rate_hz"], 0),
            f(&c["zero_crossing_p"], 3),
            f(&c["slope_per_unit_p"], 2)
        );
    }
    let cb = &s["constant_baseline"];
    println!(
        "  (d) constant baseline: crossover {} Hz (expected {} Hz), minimum {} at {} Hz, {} at \
         60 Hz",
        f(&cb["crossover_hz"], 1),
        f(&cb["crossover_expected_hz"], 1),
        f(&cb["min_delta_w"], 3),
        f(&cb["min_at_hz"], 0),
        f(&cb["delta_w_at_60_hz"], 3)
    );
}

/// Writes `header` and `rows` to `path`.
fn write_csv(
    path: &Path,
    header: &str,
    rows: impl Iterator<Item = String>,
) -> burstccn::Result<()> {
    let mut text = String::from(header);
    text.push('\n');
    for row in rows {
        text.push_str(&row);
        text.push('\n');
    }
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

fn write_csvs(dir: &Path, c: &Curves) -> burstccn::Result<()> {
    let p = &c.periodic;
    write_csv(
        &dir.join("periodic.csv"),
        "frequency_hz,delta_w,reference_delta_w",
        p.frequencies
            .iter()
            .zip(&p.delta_w)
            .zip(&periodic::REFERENCE)
            .map(|((f, dw), r)| format!("{f},{dw},{}", r.1)),
    )?;
    write_csv(
        &dir.join("poisson.csv"),
        "initial_burst_probability,rate_hz,mean_delta_w,sd_delta_w,closed_form_delta_w,reference_closed_form_delta_w",
        c.poisson.iter().zip(&poisson::REFERENCE_CLOSED_FORM).flat_map(|(curve, (_, table))| {
            (0..curve.rates.len()).map(move |i| {
                format!(
                    "{},{},{},{},{},{}",
                    curve.initial_burst_probability, curve.rates[i], curve.mean[i], curve.sd[i], curve.closed_form[i], table[i]
                )
            })
        }),
    )?;
    write_csv(
        &dir.join("burst_poisson.csv"),
        "event_rate_hz,burst_probability,mean_delta_w,sd_delta_w,reference_delta_w",
        c.burst_poisson.iter().flat_map(|curve| {
            (0..curve.burst_probabilities.len()).map(move |j| {
                let p = curve.burst_probabilities[j];
                // The reference tabulates 4 of the 10 probabilities; the others stay empty.
                let reference = burst_poisson::REFERENCE
                    .iter()
                    .filter(|(er, _)| *er == curve.event_rate)
                    .flat_map(|(_, table)| table.iter())
                    .find(|(q, _)| (q - p).abs() < 1e-9)
                    .map_or(String::new(), |(_, dw)| dw.to_string());
                format!(
                    "{},{p},{},{},{reference}",
                    curve.event_rate, curve.mean[j], curve.sd[j]
                )
            })
        }),
    )?;
    let cb = &c.constant_baseline;
    write_csv(
        &dir.join("constant_baseline.csv"),
        "rate_hz,mean_delta_w,sd_delta_w,expected_delta_w",
        (0..cb.rates.len()).map(|i| {
            format!(
                "{},{},{},{}",
                cb.rates[i], cb.mean[i], cb.sd[i], cb.expected[i]
            )
        }),
    )
}

/// Points (x, y) of two parallel slices.
fn points(xs: &[f64], ys: &[f64]) -> Vec<(f64, f64)> {
    xs.iter().copied().zip(ys.iter().copied()).collect()
}

/// Four panels: the simulated curves (mean ± SD bands), the closed form or expected value, and
/// the spec's reference values as dots.
fn figure(c: &Curves) -> Figure {
    let p = &c.periodic;
    let periodic = Panel {
        title: "(a) periodic pairing [P21 Fig 2B]".into(),
        x_label: "pairing frequency (Hz)".into(),
        y_label: "ΔW".into(),
        series: vec![
            Series::new("simulated", points(&p.frequencies, &p.delta_w)),
            Series::new("reference", periodic::REFERENCE.to_vec()).points(4),
        ],
    };
    let mut poisson_series = Vec::new();
    for (curve, (_, table)) in c.poisson.iter().zip(&poisson::REFERENCE_CLOSED_FORM) {
        let pct = curve.initial_burst_probability * 100.0;
        poisson_series.push(
            Series::new(
                format!("P̄(0) = {pct:.0} %, mean ± SD"),
                points(&curve.rates, &curve.mean),
            )
            .with_band(curve.sd.clone()),
        );
        poisson_series.push(Series::new(
            format!("closed form, {pct:.0} %"),
            points(&curve.rates, &curve.closed_form),
        ));
        poisson_series.push(
            Series::new(
                format!("reference, {pct:.0} %"),
                points(&curve.rates, table),
            )
            .points(4),
        );
    }
    let mut burst_series = Vec::new();
    for curve in &c.burst_poisson {
        burst_series.push(
            Series::new(
                format!("ER = {} Hz, mean ± SD", curve.event_rate),
                points(&curve.burst_probabilities, &curve.mean),
            )
            .with_band(curve.sd.clone()),
        );
        if let Some((_, table)) = burst_poisson::REFERENCE
            .iter()
            .find(|(er, _)| *er == curve.event_rate)
        {
            burst_series.push(
                Series::new(
                    format!("reference, {} Hz", curve.event_rate),
                    table.to_vec(),
                )
                .points(4),
            );
        }
    }
    let cb = &c.constant_baseline;
    let baseline = Panel {
        title: "(d) constant baseline p_b = 0.5 [G22 Fig 1B]".into(),
        x_label: "pre and post rate (Hz)".into(),
        y_label: "ΔW".into(),
        series: vec![
            Series::new("mean ± SD", points(&cb.rates, &cb.mean)).with_band(cb.sd.clone()),
            Series::new("expected", points(&cb.rates, &cb.expected)),
        ],
    };
    Figure {
        title: Some(
            "Burst-dependent plasticity: single-synapse protocols (spec/plasticity.md §6)".into(),
        ),
        panels: vec![
            periodic,
            Panel {
                title: "(b) Poisson pre and post [P21 Fig 2C]".into(),
                x_label: "pre and post rate (Hz)".into(),
                y_label: "ΔW".into(),
                series: poisson_series,
            },
            Panel {
                title: "(c) burst-Poisson pre and post [P21 Fig 2D]".into(),
                x_label: "burst probability p".into(),
                y_label: "ΔW".into(),
                series: burst_series,
            },
            baseline,
        ],
        columns: 2,
        ..Figure::default()
    }
}
