//! `burstccn analyze` (issue 4, item 2): the offline ISI classifier on hand-made trains, the
//! streaming pass against a naive reference on a file larger than one read chunk (by_time and
//! by_id), a file with several populations through the binary, bad input, and agreement with
//! the online monitor of a simulator run.

mod common;

use burstccn::analysis::bursts::{IsiRule, SpikeClass};
use burstccn::analysis::offline::{self, Accumulator, Options, SpikeCounts};
use burstccn::recording::h5::write_scalar_attr;
use burstccn::recording::sonata::{SonataWriter, Sorting, SPIKE_CHUNK};
use common::burstccn;
use serde_json::Value;
use std::path::Path;

/// Serialises the tests of this file. HDF5 holds an flock on every open file, and a child
/// process spawned by another test thread (the binary) shares the descriptor, and so the lock,
/// from its fork at least until its exec: a file written here then fails to reopen (EAGAIN).
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Spike time of simulation step `n` as the recorder computes it (dt = 0.1 ms), ms.
fn t(n: u64) -> f64 {
    n as f64 * 1e-4 * 1e3
}

#[test]
fn classifier_on_hand_made_trains() {
    let _serial = serial();
    use SpikeClass::*;
    let rule = IsiRule::default();
    assert_eq!(
        rule.classify_train(&[]),
        Vec::<SpikeClass>::new(),
        "empty train"
    );
    assert_eq!(
        rule.classify_train(&[3.0, 50.0, 120.0]),
        vec![Event, Event, Event],
        "isolated spikes"
    );
    assert_eq!(
        rule.classify_train(&[10.0, 15.0, 100.0, 110.0]),
        vec![Event, Burst, Event, Burst],
        "two doublets"
    );
    assert_eq!(
        rule.classify_train(&[0.0, 4.0, 8.0, 12.0, 16.0, 20.0]),
        vec![
            Event,
            Burst,
            WithinBurst,
            WithinBurst,
            WithinBurst,
            WithinBurst
        ],
        "a six-spike burst counts once"
    );
    // Boundary: an ISI of exactly 16 ms is not an event, 16.1 ms is, with times as n·dt.
    for start in [0, 3, 9_999, 123_457] {
        assert_eq!(
            rule.classify_train(&[t(start), t(start + 160)]),
            vec![Event, Burst]
        );
        assert_eq!(
            rule.classify_train(&[t(start), t(start + 161)]),
            vec![Event, Event]
        );
    }
    // A burst continues while ISIs stay ≤ 16 ms, however long it gets.
    let long: Vec<f64> = (0..10).map(|k| t(160 * k)).collect();
    let classes = rule.classify_train(&long);
    assert_eq!(&classes[..2], &[Event, Burst]);
    assert!(classes[2..].iter().all(|&c| c == WithinBurst));
    // 18 ms after a doublet: an event offline (the online trace rule ignores it,
    // spec/plasticity.md §1.3), and the next spike 5 ms later is a burst.
    assert_eq!(
        rule.classify_train(&[0.0, 5.0, 23.0, 28.0]),
        vec![Event, Burst, Event, Burst]
    );
    // Another threshold.
    assert_eq!(
        IsiRule::new(8.0).classify_train(&[0.0, 8.0, 16.1, 30.0]),
        vec![Event, Burst, Event, Event]
    );
}

#[test]
fn interleaved_neurons_are_classified_independently() {
    let _serial = serial();
    let trains: [&[f64]; 3] = [
        &[1.0, 5.0, 9.0, 40.0],
        &[2.0, 30.0, 46.0, 47.0],
        &[3.0, 4.0, 21.0, 22.0, 23.0],
    ];
    let mut spikes: Vec<(f64, u64)> = trains
        .iter()
        .enumerate()
        .flat_map(|(i, tr)| tr.iter().map(move |&t| (t, i as u64)))
        .collect();
    spikes.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (times, ids): (Vec<f64>, Vec<u64>) = spikes.into_iter().unzip();
    let mut acc = Accumulator::new(IsiRule::default(), 0.0, 10.0, Some(5), Some(4), 0.5, 400);
    // Fed one spike at a time: chunking does not matter.
    for (t, id) in times.iter().zip(&ids) {
        acc.push(&[*t], &[*id]).unwrap();
    }
    let (bins, neurons, isi) = acc.finish();
    for (i, train) in trains.iter().enumerate() {
        let c = IsiRule::default().classify_train(train);
        let count = |k| c.iter().filter(|&&x| x == k).count() as u64;
        assert_eq!(
            neurons[i],
            SpikeCounts {
                spikes: train.len() as u64,
                events: count(SpikeClass::Event),
                bursts: count(SpikeClass::Burst),
                within_burst: count(SpikeClass::WithinBurst),
            },
            "neuron {i}"
        );
    }
    assert_eq!(neurons[3], SpikeCounts::default(), "a silent neuron");
    // Bins of 10 ms: the burst markers at 5, 4, 46 (ISI exactly 16 ms) and 22 ms fall in bins
    // 0, 0, 4 and 2.
    let bursts: Vec<u64> = bins.iter().map(|b| b.bursts).collect();
    assert_eq!(bursts, [2, 0, 1, 0, 1]);
    // Neuron 0's third spike belongs to its burst at 5 ms (bin 0), whatever its own time.
    assert_eq!(bins[0].within_burst, 1);
    assert_eq!(isi.counts.iter().sum::<u64>() + isi.overflow, 10);
    assert_eq!(isi.counts[2], 4, "four ISIs of 1 ms, in the 1–1.5 ms bin");
    assert_eq!(isi.counts[32], 1, "one ISI of 16 ms");
}

/// A deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Spikes (step, node) of `neurons` bursting neurons over `steps` steps, sorted by time then
/// node: gaps of 1–300 ms between bursts, 1–6 spikes per burst with ISIs of 2–16.1 ms
/// (many at exactly 16 ms).
fn synthetic(neurons: u64, steps: u64, seed: u64) -> Vec<(u64, u64)> {
    let mut rng = Rng(seed | 1);
    let mut spikes = Vec::new();
    for id in 0..neurons {
        let mut s = rng.below(3000);
        while s < steps {
            let len = 1 + rng.below(6);
            for k in 0..len {
                if k > 0 {
                    s += match rng.below(4) {
                        0 => 160,
                        1 => 161,
                        _ => 20 + rng.below(140),
                    };
                }
                if s < steps {
                    spikes.push((s, id));
                }
            }
            s += 10 + rng.below(3000);
        }
    }
    spikes.sort();
    spikes
}

/// Naive reference on integer steps: per-bin and per-neuron counts over bins of `bin` steps
/// from step `from`, and the ISI histogram in bins of 5 steps up to 2000 steps.
fn reference(
    spikes: &[(u64, u64)],
    neurons: usize,
    from: u64,
    bin: u64,
    n_bins: usize,
) -> (Vec<SpikeCounts>, Vec<SpikeCounts>, Vec<u64>, u64) {
    let mut bins = vec![SpikeCounts::default(); n_bins];
    let mut per = vec![SpikeCounts::default(); neurons];
    let mut hist = vec![0u64; 400];
    let mut overflow = 0;
    let mut trains = vec![Vec::new(); neurons];
    for &(s, id) in spikes {
        trains[id as usize].push(s);
    }
    for (id, train) in trains.iter().enumerate() {
        let mut last_event = false;
        let mut burst_bin: Option<usize> = None;
        for (k, &s) in train.iter().enumerate() {
            let bin_of = (s >= from)
                .then(|| ((s - from) / bin) as usize)
                .filter(|&b| b < n_bins);
            let n = &mut per[id];
            if k == 0 || s - train[k - 1] > 160 {
                last_event = true;
                if let Some(b) = bin_of {
                    bins[b].events += 1;
                    n.events += 1;
                }
            } else if last_event {
                last_event = false;
                burst_bin = bin_of;
                if let Some(b) = bin_of {
                    bins[b].bursts += 1;
                    n.bursts += 1;
                }
            } else if let Some(b) = burst_bin {
                bins[b].within_burst += 1;
                n.within_burst += 1;
            }
            if let Some(b) = bin_of {
                bins[b].spikes += 1;
                n.spikes += 1;
                if k > 0 {
                    match hist.get_mut(((s - train[k - 1]) / 5) as usize) {
                        Some(c) => *c += 1,
                        None => overflow += 1,
                    }
                }
            }
        }
    }
    (bins, per, hist, overflow)
}

/// Writes one population's spikes (step, node) in the given order, then sets `sorting`.
fn write_population(path: &Path, name: &str, spikes: &[(u64, u64)], sorting: Sorting) {
    let mut w = SonataWriter::create(path, &[name]).unwrap();
    let times: Vec<f64> = spikes.iter().map(|s| t(s.0)).collect();
    let ids: Vec<u64> = spikes.iter().map(|s| s.1).collect();
    w.append(0, &times, &ids).unwrap();
    w.close().unwrap();
    let f = hdf5::File::open_rw(path).unwrap();
    let g = f.group(&format!("spikes/{name}")).unwrap();
    write_scalar_attr(&g, "sorting", &sorting).unwrap();
}

#[test]
fn streaming_pass_matches_a_naive_reference_in_any_chunking_and_sorting() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    // 500 neurons over 20 s: about 190 000 spikes, several read chunks and HDF5 chunks.
    let spikes = synthetic(500, 200_000, 7);
    assert!(spikes.len() > 2 * SPIKE_CHUNK, "{} spikes", spikes.len());
    let by_time = dir.path().join("by_time.h5");
    write_population(&by_time, "pyr", &spikes, Sorting::ByTime);
    let mut by_node = spikes.clone();
    by_node.sort_by_key(|&(s, id)| (id, s));
    let by_id = dir.path().join("by_id.h5");
    write_population(&by_id, "pyr", &by_node, Sorting::ById);

    // Window 2.5–17.5 s in 50-ms bins: spikes before it still set the neurons' state.
    let (bins, per, hist, overflow) = reference(&spikes, 500, 25_000, 500, 300);
    for (path, chunk) in [
        (&by_time, offline::READ_CHUNK),
        (&by_time, 4093),
        (&by_id, 1 << 20),
        (&by_id, 999),
    ] {
        let opts = Options {
            from_s: Some(2.5),
            to_s: Some(17.5),
            n_neurons: [("pyr".to_owned(), 500)].into(),
            isi_max_ms: 200.0,
            chunk_len: chunk,
            ..Options::default()
        };
        let a = offline::analyze(path, &opts).unwrap();
        let p = &a.populations[0];
        assert_eq!(p.bins, bins, "{} chunk {chunk}", path.display());
        assert_eq!(p.neurons, per);
        assert_eq!(p.isi.counts, hist);
        assert_eq!(p.isi.overflow, overflow);
        assert_eq!(p.n_neurons_source, "--n-neurons");
        assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    }
    // Unsorted (sorting = none, neurons out of time order): sorted externally in runs of 10 000
    // spikes, with the same result.
    let mut shuffled = spikes.clone();
    let mut rng = Rng(99);
    for i in (1..shuffled.len()).rev() {
        shuffled.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let unsorted = dir.path().join("none.h5");
    write_population(&unsorted, "pyr", &shuffled, Sorting::None);
    let opts = Options {
        from_s: Some(2.5),
        to_s: Some(17.5),
        n_neurons: [("pyr".to_owned(), 500)].into(),
        sort_run_len: 10_000,
        ..Options::default()
    };
    let a = offline::analyze(&unsorted, &opts).unwrap();
    assert_eq!(a.populations[0].bins, bins);
    assert_eq!(a.populations[0].neurons, per);
    assert_eq!(a.populations[0].isi.counts, hist);
    assert!(a.warnings[0].contains("unsorted"), "{:?}", a.warnings);
    let totals = &offline::analyze(&by_time, &Options::default())
        .unwrap()
        .populations[0];
    assert!(totals.bins.iter().map(|b| b.bursts).sum::<u64>() > 10_000);
}

/// Runs the binary and parses the JSON it wrote, or returns stderr on failure.
fn analyze_cli(args: &[&str]) -> Result<(Value, String), (Option<i32>, String)> {
    let mut all = vec!["analyze"];
    all.extend_from_slice(args);
    let o = burstccn(&all);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    if !o.status.success() {
        return Err((o.status.code(), err));
    }
    let out = args
        .windows(2)
        .find(|w| w[0] == "--out")
        .map(|w| w[1])
        .expect("tests pass --out");
    let text = std::fs::read_to_string(Path::new(out).join("analysis.json")).unwrap();
    Ok((serde_json::from_str(&text).unwrap(), err))
}

#[test]
fn file_with_several_populations() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spikes.h5");
    let mut w = SonataWriter::create(&path, &["l5", "pv", "sst"]).unwrap();
    // l5 (4 neurons): node 0 doublet at 10/15 ms, node 1 triplet 60/64/68 ms, node 2 one
    // spike at 120 ms and a doublet 140/150 ms (bursts at 15, 64 and 150 ms).
    w.append(
        0,
        &[10.0, 15.0, 60.0, 64.0, 68.0, 120.0, 140.0, 150.0],
        &[0, 0, 1, 1, 1, 2, 2, 2],
    )
    .unwrap();
    w.append(1, &[1.0, 2.0, 3.0], &[0, 1, 2]).unwrap();
    // sst: neuron 1 only, one spike per 50-ms bin: events only.
    w.append(2, &[5.0, 55.0, 105.0, 155.0], &[1, 1, 1, 1])
        .unwrap();
    w.close().unwrap();
    let out = dir.path().join("out");
    let out_s = out.to_str().unwrap();
    let (j, stderr) = analyze_cli(&[
        path.to_str().unwrap(),
        "--population",
        "l5",
        "--population",
        "sst",
        "-p",
        "l5",
        "--n-neurons",
        "l5=4",
        "--to",
        "0.2",
        "--out",
        out_s,
    ])
    .unwrap();
    // sst's size is inferred from its node ids (max + 1 = 2), with a warning.
    assert!(stderr.contains("max node id + 1"), "{stderr}");
    let l5 = &j["populations"]["l5"];
    assert_eq!(l5["spikes"], 8);
    assert_eq!(l5["events"], 4);
    assert_eq!(l5["bursts"], 3);
    assert_eq!(l5["within_burst_spikes"], 1);
    assert_eq!(l5["burst_probability"].as_f64(), Some(0.75));
    // 4 events / (4 neurons · 0.2 s) = 5 Hz.
    assert!((l5["event_rate_hz"].as_f64().unwrap() - 5.0).abs() < 1e-12);
    assert!((l5["spikes_per_burst"].as_f64().unwrap() - 7.0 / 3.0).abs() < 1e-12);
    // Per-bin BP: bins 0, 1, 2 have B/E = 1/1, 1/1, 0/2; bin 3 has the burst at 150 ms (its
    // event at 140 ms is in bin 2) and no event, so it has no BP.
    let bin_mean = l5["burst_probability_bin_mean"].as_f64().unwrap();
    assert!((bin_mean - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(l5["bins_with_events"], 3);
    assert_eq!(l5["n_neurons_source"], "--n-neurons");
    let sst = &j["populations"]["sst"];
    assert_eq!(sst["n_neurons"], 2);
    assert_eq!(sst["burst_probability"].as_f64(), Some(0.0));
    assert!(j["populations"]["pv"].is_null(), "pv was not asked for");
    assert_eq!(j["bins"], 4);

    let h5 = hdf5::File::open(out.join("analysis.h5")).unwrap();
    let col = |p: &str| h5.dataset(p).unwrap().read_raw::<f64>().unwrap();
    assert_eq!(col("l5/binned/time"), [0.05, 0.1, 0.15, 0.2]);
    assert_eq!(col("l5/binned/event_rate"), [5.0, 5.0, 10.0, 0.0]);
    assert_eq!(col("l5/binned/burst_rate"), [5.0, 5.0, 0.0, 5.0]);
    assert_eq!(col("sst/binned/event_rate"), [10.0; 4]);
    let bp = col("l5/neurons/burst_probability");
    assert_eq!(&bp[..3], &[1.0, 1.0, 0.5]);
    assert!(bp[3].is_nan(), "a silent neuron has no BP");
    let isi = h5
        .dataset("l5/isi/counts")
        .unwrap()
        .read_raw::<u64>()
        .unwrap();
    assert_eq!(isi.len(), 400);
    assert_eq!(
        (isi[8], isi[10], isi[20], isi[40]),
        (2, 1, 1, 1),
        "ISIs 4, 4, 5, 10 and 20 ms"
    );
    let csv = std::fs::read_to_string(out.join("l5_bins.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5);
    assert!(csv.starts_with("time_start_s,time_end_s,spikes,events,bursts"));
    let neurons = std::fs::read_to_string(out.join("l5_neurons.csv")).unwrap();
    assert_eq!(neurons.lines().nth(4), Some("3,0,0,0,0,0,0,0,"));
    assert!(out.join("sst_isi.csv").exists() && !out.join("pv_bins.csv").exists());
}

/// Runs the binary expecting exit code 2 and stderr containing every fragment.
fn fails_with(args: &[&str], fragments: &[&str]) {
    let out = tempfile::tempdir().unwrap();
    let mut all = args.to_vec();
    all.extend(["--out", out.path().to_str().unwrap()]);
    match analyze_cli(&all) {
        Ok(_) => panic!("{args:?} should fail"),
        Err((code, err)) => {
            assert_eq!(code, Some(2), "{args:?}: {err}");
            assert!(!err.contains("panicked"), "{err}");
            for f in fragments {
                assert!(err.contains(f), "{args:?}: expected {f:?} in: {err}");
            }
        }
    }
}

#[test]
fn bad_input_is_a_clear_error_with_exit_code_2() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("spikes.h5");
    write_population(
        &good,
        "pyr",
        &[(0, 0), (100, 1), (5000, 0)],
        Sorting::ByTime,
    );
    let good_s = good.to_str().unwrap();
    let text = dir.path().join("notes.h5");
    std::fs::write(&text, "not HDF5").unwrap();
    let plain = dir.path().join("plain.h5");
    hdf5::File::create(&plain)
        .unwrap()
        .create_group("rates")
        .unwrap();
    let missing = dir.path().join("missing.h5");

    fails_with(&[missing.to_str().unwrap()], &["missing.h5", "not found"]);
    fails_with(
        &[text.to_str().unwrap()],
        &["notes.h5", "not a readable HDF5"],
    );
    fails_with(&[plain.to_str().unwrap()], &["not a SONATA spike file"]);
    fails_with(
        &[good_s, "--population", "sst"],
        &["no spike population `sst`", "the file has: pyr"],
    );
    fails_with(
        &[good_s, "--n-neurons", "pv=10"],
        &["--n-neurons", "no spike population `pv`"],
    );
    fails_with(
        &[good_s, "--to", "1", "--bin-ms", "2000"],
        &["--bin-ms", "longer than the 1000 ms window"],
    );
    fails_with(&[good_s, "--from", "2", "--to", "1"], &["window is empty"]);
    fails_with(&[good_s, "--from", "1", "--to", "1"], &["window is empty"]);
    fails_with(&[good_s, "--bin-ms", "0"], &["--bin-ms", "positive"]);
    fails_with(&[good_s, "--burst-isi-ms=-16"], &["--burst-isi-ms"]);
    fails_with(
        &[good_s, "--n-neurons", "pyr=1"],
        &[
            "node id 1 is not below the population size 1",
            "--n-neurons",
        ],
    );
    fails_with(&[good_s, "--n-neurons", "pyr"], &["POP=N"]);

    // A file that claims by_time but is not.
    let liar = dir.path().join("liar.h5");
    write_population(&liar, "pyr", &[(500, 0), (100, 0)], Sorting::ByTime);
    fails_with(
        &[liar.to_str().unwrap()],
        &[
            "node 0 has a spike at 10",
            "after one at 50",
            "sorting = by_time",
        ],
    );
    // The same spikes in a file that says sorting = none are sorted externally, with a warning.
    let unsorted = dir.path().join("unsorted.h5");
    write_population(&unsorted, "pyr", &[(500, 0), (100, 0)], Sorting::None);
    let out = dir.path().join("unsorted_out");
    let (j, stderr) =
        analyze_cli(&[unsorted.to_str().unwrap(), "--out", out.to_str().unwrap()]).unwrap();
    assert!(stderr.contains("unsorted (sorting = none)"), "{stderr}");
    assert_eq!(j["populations"]["pyr"]["events"], 2);
    // sorting = none is streamed directly when each neuron's spikes are in time order.
    let mixed = dir.path().join("mixed.h5");
    write_population(
        &mixed,
        "pyr",
        &[(500, 0), (100, 1), (600, 0)],
        Sorting::None,
    );
    let out = dir.path().join("mixed_out");
    let (j, _) = analyze_cli(&[mixed.to_str().unwrap(), "--out", out.to_str().unwrap()]).unwrap();
    assert_eq!(j["populations"]["pyr"]["bursts"], 1);
}

/// Events and bursts per bin of `bin` steps under the online trace rule (spec/plasticity.md
/// §1.2: event iff the 16-ms trace of earlier spikes is below e^(−1), with the detector's
/// rounding margin), from population `pyr` of a simulator spike file (dt = 0.1 ms).
fn trace_rule_counts(path: &Path, neurons: usize, bin: u64, bins: usize) -> (Vec<u64>, Vec<u64>) {
    let r = burstccn::recording::sonata::SonataReader::open(path).unwrap();
    let (times, ids) = r.read_all("pyr").unwrap();
    let decay = (-0.1f64 / 16.0).exp();
    let mut trace = vec![(0.0f64, 0u64, false); neurons];
    let (mut events, mut bursts) = (vec![0; bins], vec![0; bins]);
    for (&t, &id) in times.iter().zip(&ids) {
        let step = (t * 10.0).round() as u64;
        let (value, since, last_was_event) = &mut trace[id as usize];
        let now = *value * decay.powi((step - *since) as i32);
        let b = (step / bin) as usize;
        if now < (-1.0f64).exp() * (1.0 - 1e-9) {
            *last_was_event = true;
            events[b] += 1;
        } else if *last_was_event {
            *last_was_event = false;
            bursts[b] += 1;
        }
        (*value, *since) = (now + 1.0, step);
    }
    (events, bursts)
}

#[test]
fn offline_analysis_agrees_with_the_online_monitor_of_a_run() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let s = common::run(
        "experiments/calibration.toml",
        &run,
        &["--threads", "2", "--set", "duration_s=2.5"],
    );
    let out = dir.path().join("analysis");
    let spikes = run.join("spikes.h5");
    // The run's summary window starts at 1 s; the size and the end come from summary.json.
    let (j, stderr) = analyze_cli(&[
        spikes.to_str().unwrap(),
        "--from",
        "1",
        "--out",
        out.to_str().unwrap(),
    ])
    .unwrap();
    assert!(!stderr.contains("warning"), "{stderr}");
    let online = &s["populations"]["pyr"];
    let offline = &j["populations"]["pyr"];
    assert_eq!(offline["n_neurons_source"], "summary.json");
    assert_eq!(j["to_s"].as_f64(), Some(2.5));
    assert_eq!(offline["spikes"], online["spikes"]);
    let f = |v: &Value, k: &str| v[k].as_f64().unwrap();
    let (er_on, er_off) = (f(online, "event_rate_hz"), f(offline, "event_rate_hz"));
    let (bp_on, bp_off) = (
        f(online, "burst_probability"),
        f(offline, "burst_probability"),
    );
    // spec/plasticity.md §1.3: the ISI rule counts at least the events of the trace rule.
    assert!(
        er_off >= er_on && er_off <= 1.03 * er_on,
        "ER offline {er_off} online {er_on}"
    );
    assert!(
        (bp_off - bp_on).abs() <= 0.02,
        "BP offline {bp_off} online {bp_on}"
    );

    // Bin by bin (50 ms, bin end in s): the same bins, the same spikes.
    let rec = hdf5::File::open(run.join("recordings.h5")).unwrap();
    let ana = hdf5::File::open(out.join("analysis.h5")).unwrap();
    let read = |f: &hdf5::File, p: &str| f.dataset(p).unwrap().read_raw::<f64>().unwrap();
    let (t_on, t_off) = (read(&rec, "rates/pyr/time"), read(&ana, "pyr/binned/time"));
    assert_eq!(t_off.len(), 30);
    let first = t_on.iter().position(|&x| x > 1.0 + 1e-9).unwrap();
    for (k, &time) in t_off.iter().enumerate() {
        assert!((t_on[first + k] - time).abs() < 1e-9, "bin {k}");
    }
    // The whole difference is the rule: the trace rule of §1.2 applied to the same spike file
    // reproduces the online events and bursts of every bin exactly.
    let (er_on_all, br_on_all) = (
        read(&rec, "rates/pyr/event_rate"),
        read(&rec, "rates/pyr/burst_rate"),
    );
    let (events, bursts) = trace_rule_counts(&spikes, 1000, 500, er_on_all.len());
    for k in 0..er_on_all.len() {
        // Rates are counts / (1000 neurons · 0.05 s).
        assert_eq!((er_on_all[k] * 50.0).round() as u64, events[k], "bin {k}");
        assert_eq!((br_on_all[k] * 50.0).round() as u64, bursts[k], "bin {k}");
    }
    let (rate_on, rate_off) = (read(&rec, "rates/pyr/rate"), read(&ana, "pyr/binned/rate"));
    let (er_on, er_off) = (
        read(&rec, "rates/pyr/event_rate"),
        read(&ana, "pyr/binned/event_rate"),
    );
    for k in 0..t_off.len() {
        assert!((rate_on[first + k] - rate_off[k]).abs() < 1e-9, "bin {k}");
        assert!(
            er_off[k] >= er_on[first + k] - 1e-9 && er_off[k] <= 1.1 * er_on[first + k],
            "bin {k}: ER offline {} online {}",
            er_off[k],
            er_on[first + k]
        );
    }
}
