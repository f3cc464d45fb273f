//! Small runs of the shipped experiments: calibration band, transfer-curve shape, determinism
//! across thread counts and seeds, and the layout of the files a run writes (issue 2).

mod common;

use burstccn::recording::sonata::{SonataReader, Sorting};
use common::run;

#[test]
fn calibration_population_is_in_the_published_band() {
    let dir = tempfile::tempdir().unwrap();
    let s = run(
        "experiments/calibration.toml",
        dir.path(),
        &["--threads", "2"],
    );
    let pyr = &s["populations"]["pyr"];
    let er = pyr["event_rate_hz"].as_f64().unwrap();
    let bp = pyr["burst_probability"].as_f64().unwrap();
    // spec/experiments.md §1: suggested band ER 3.5–5.5 Hz, BP 10–17 %.
    assert!((3.5..=5.5).contains(&er), "event rate {er} Hz");
    assert!((0.10..=0.17).contains(&bp), "burst probability {bp}");
    assert_eq!(s["status"], "complete");
    for key in [
        "seed",
        "threads",
        "dt_ms",
        "simulated_s",
        "wall_s",
        "build_s",
        "synapses",
    ] {
        assert!(!s[key].is_null(), "summary.json lacks {key}");
    }
}

#[test]
fn transfer_curve_bp_is_sigmoidal_while_er_changes_less() {
    let dir = tempfile::tempdir().unwrap();
    // The shipped file, scaled down: 1000 neurons per population.
    let mut sets = Vec::new();
    for p in [
        "w0_is0",
        "w0_is100",
        "w0_is200",
        "w02_is0",
        "w02_is100",
        "w02_is200",
    ] {
        sets.push("--set".to_string());
        sets.push(format!("populations.{p}.size=1000"));
    }
    let args: Vec<&str> = sets.iter().map(String::as_str).collect();
    let s = run("experiments/transfer_curves.toml", dir.path(), &args);
    for curve in ["curve_w0_is0", "curve_w02_is100", "curve_w0_is200"] {
        let c = &s["readouts"][curve];
        let bp: Vec<f64> = c["burst_probability"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        let er: Vec<f64> = c["event_rate_hz"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(bp.len(), 10);
        // Rises (allowing noise of 2 points at the saturated top), from low to saturation.
        assert!(
            bp.windows(2).all(|w| w[1] > w[0] - 0.02),
            "{curve}: BP not monotonic: {bp:?}"
        );
        assert!(bp[0] < 0.10 && bp[9] > 0.90, "{curve}: BP range {bp:?}");
        // Sigmoidal: steepest in the middle, flat at both ends.
        let steps: Vec<f64> = bp.windows(2).map(|w| w[1] - w[0]).collect();
        let mid = steps[3..6].iter().cloned().fold(f64::MIN, f64::max);
        assert!(
            mid > 2.0 * steps[0] && mid > 2.0 * steps[8],
            "{curve}: not sigmoidal: {steps:?}"
        );
        // BP changes tenfold or more, ER by less than a factor of 2.5.
        let (er_min, er_max) = er
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
        assert!(
            er_max / er_min < 2.5 && bp[9] / bp[0] > 10.0,
            "{curve}: ER {er:?}"
        );
    }
    // Somatic current raises ER but leaves the BP curve nearly unchanged (multiplexing).
    let mid_bp = |c: &str| s["readouts"][c]["burst_probability"][4].as_f64().unwrap();
    let er0 = |c: &str| s["readouts"][c]["event_rate_hz"][0].as_f64().unwrap();
    assert!(er0("curve_w0_is200") > 1.5 * er0("curve_w0_is0"));
    assert!((mid_bp("curve_w0_is200") - mid_bp("curve_w0_is0")).abs() < 0.15);
}

/// All spikes of a file, population by population.
fn spikes(path: &std::path::Path) -> Vec<(String, Vec<f64>, Vec<u64>)> {
    let r = SonataReader::open(path).unwrap();
    r.populations()
        .iter()
        .map(|p| {
            let (t, n) = r.read_all(&p.name).unwrap();
            (p.name.clone(), t, n)
        })
        .collect()
}

#[test]
fn spikes_are_identical_for_one_and_two_threads_and_differ_by_seed() {
    let dir = tempfile::tempdir().unwrap();
    let short = ["--set", "duration_s=1"];
    let one = dir.path().join("one");
    let two = dir.path().join("two");
    let other = dir.path().join("seed2");
    run(
        "experiments/calibration.toml",
        &one,
        &[&short[..], &["--threads", "1"]].concat(),
    );
    run(
        "experiments/calibration.toml",
        &two,
        &[&short[..], &["--threads", "2"]].concat(),
    );
    run(
        "experiments/calibration.toml",
        &other,
        &[&short[..], &["--threads", "2", "--seed", "2"]].concat(),
    );
    let (a, b, c) = (
        spikes(&one.join("spikes.h5")),
        spikes(&two.join("spikes.h5")),
        spikes(&other.join("spikes.h5")),
    );
    assert!(a[0].1.len() > 1000, "too few spikes to compare");
    assert_eq!(a, b);
    assert_ne!(a, c);
}

/// Static synapses with weights drawn per synapse (crate::synapses::weights): the spikes repeat
/// for one and two threads over three target chunks, and differ from those of fixed weights.
#[test]
fn drawn_static_weights_do_not_depend_on_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let spikes_with = |name: &str, weight: &str, threads: &str| {
        let out = dir.path().join(name);
        let weight = format!("projections.exc_soma.weight={weight}");
        let size = "populations.pyr.size=2500";
        let args = ["--set", "duration_s=0.5", "--set", size, "--set", &weight];
        run(
            "experiments/calibration.toml",
            &out,
            &[&args[..], &["--threads", threads]].concat(),
        );
        spikes(&out.join("spikes.h5"))
    };
    let drawn = "{ dist = \"uniform\", min = 0.12, max = 0.22 }";
    let one = spikes_with("one", drawn, "1");
    assert!(one[0].1.len() > 1000, "too few spikes to compare");
    assert_eq!(one, spikes_with("two", drawn, "2"));
    // 0.17 is the file's own weight, the mean of the draws.
    assert_ne!(one, spikes_with("fixed", "0.17", "2"));
}

/// `burstccn info` counts the 4 bytes per synapse that drawn weights need and a fixed weight
/// does not.
#[test]
fn info_counts_the_memory_of_drawn_weights() {
    let mib = |w: &str| -> (f64, f64) {
        let set = format!("projections.exc_soma.weight={w}");
        let o = common::burstccn(&["info", "experiments/calibration.toml", "--set", &set]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = String::from_utf8(o.stdout).unwrap();
        // "memory estimate: 1.3 MiB" and "exc_soma   100151 synapses  ...".
        let field = |prefix: &str, n: usize| -> f64 {
            let line = text
                .lines()
                .map(str::trim_start)
                .find(|l| l.starts_with(prefix));
            let line = line.unwrap_or_else(|| panic!("no {prefix} line in {text}"));
            line.split_whitespace().nth(n).unwrap().parse().unwrap()
        };
        (field("memory estimate:", 2), field("exc_soma", 1))
    };
    let (fixed, synapses) = mib("0.17");
    let (drawn, _) = mib("{ dist = \"uniform\", min = 0.12, max = 0.22 }");
    let expected = synapses * 4.0 / (1 << 20) as f64;
    assert!(
        (drawn - fixed - expected).abs() < 0.1,
        "{fixed} MiB fixed, {drawn} MiB drawn, {synapses} synapses"
    );
}

#[test]
fn run_directory_holds_sonata_spikes_rates_traces_and_config() {
    let dir = tempfile::tempdir().unwrap();
    let s = run(
        "experiments/demo.toml",
        dir.path(),
        &["--set", "duration_s=0.5"],
    );
    let r = SonataReader::open(&dir.path().join("spikes.h5")).unwrap();
    assert_eq!(r.sorting("pyr").unwrap(), Sorting::ByTime);
    let (t, ids) = r.read_all("pyr").unwrap();
    assert_eq!(
        t.len() as u64,
        s["populations"]["pyr"]["spikes"].as_u64().unwrap()
    );
    assert!(t.windows(2).all(|w| w[0] <= w[1]) && t.iter().all(|&x| (0.0..500.0).contains(&x)));
    assert!(ids.iter().all(|&i| i < 1000));

    let h5 = hdf5::File::open(dir.path().join("recordings.h5")).unwrap();
    let er = h5
        .dataset("rates/pyr/event_rate")
        .unwrap()
        .read_raw::<f64>()
        .unwrap();
    assert_eq!(er.len(), 10, "0.5 s in 50-ms bins");
    let v = h5.dataset("traces/pyr/v_soma").unwrap();
    assert_eq!(v.shape(), vec![5000, 5], "0.5 s at 0.1 ms for 5 neurons");
    let config = std::fs::read_to_string(dir.path().join("config.toml")).unwrap();
    assert!(
        config.contains("duration_s = 0.5"),
        "config.toml holds the resolved values"
    );
    for png in ["rates.png", "raster.png"] {
        let bytes = std::fs::read(dir.path().join(png)).unwrap();
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
            "{png} is a drawn PNG"
        );
    }
}
