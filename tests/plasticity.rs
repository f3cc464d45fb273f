//! Burst-dependent plasticity in a running network (issue 5): with a constant baseline equal to
//! the postsynaptic population's own burst probability and no teacher, the weights do not drift;
//! and on prescribed spike trains, a plastic projection that transmits every spike through
//! depressing STP learns exactly as the event-only one.

mod common;

use common::{read_edges, run};

const NETWORK: &str = r#"
duration_s = 6.0
seed = 3

[populations.pre]
model = "pyramidal"
size = 400
params = { v_init = "random" }
background.soma = { rate = "500 Hz", excitatory = 0.35, inhibitory = 0.35 }
background.dendrite = { rate = "500 Hz", excitatory = 0.05, inhibitory = 0.05 }

[populations.post]
model = "pyramidal"
size = 400
params = { v_init = "random" }
background.soma = { rate = "500 Hz", excitatory = 0.35, inhibitory = 0.35 }
background.dendrite = { rate = "500 Hz", excitatory = 0.05, inhibitory = 0.05 }

[projections.plastic]
pre = "pre"
post = "post"
target = "soma"
receptor = "excitatory"
connectivity = "pairwise"
p = 0.2
weight = 0.05
transmission = "events_only"
plasticity = { eta = 1e-6, tau_pre = "100 ms", tau_avg = "2 s", baseline = "constant", p_b = 0.0, w_max = 1.0 }

[record]
spikes = []
"#;

/// ΣW change, the post population's BP and the run's rule baseline A/C with `p_b`.
fn drift(dir: &std::path::Path, p_b: f64) -> (f64, f64, f64) {
    let file = dir.join(format!("net_{p_b}.toml"));
    std::fs::write(&file, NETWORK.replace("p_b = 0.0", &format!("p_b = {p_b}"))).unwrap();
    let s = run(file.to_str().unwrap(), &dir.join(format!("run_{p_b}")), &[]);
    let w = &s["plastic_weights"]["plastic"];
    let d = w["final_sum"].as_f64().unwrap() - w["initial_sum"].as_f64().unwrap();
    let bp = &s["populations"]["post"]["burst_probability"];
    (
        d,
        bp.as_f64().unwrap(),
        w["rule_baseline"].as_f64().unwrap(),
    )
}

#[test]
fn constant_baseline_at_the_actual_burst_probability_gives_no_drift() {
    let dir = tempfile::tempdir().unwrap();
    let (d0, bp, rule_bp) = drift(dir.path(), 0.0);
    assert!(
        d0 > 0.0,
        "with p_b = 0 every burst potentiates and nothing depresses"
    );
    assert!((0.05..0.6).contains(&bp), "post burst probability {bp}");
    let (d1, _, rule_bp1) = drift(dir.path(), 1.0);
    assert!(d1 < 0.0, "with p_b = 1 events outweigh bursts");
    // The learning rate is too small to change the activity, so the run repeats with p_b = BP.
    let (d_bp, bp2, _) = drift(dir.path(), bp);
    assert!((bp2 - bp).abs() < 1e-3);
    assert!(
        d_bp.abs() < 0.05 * d0.abs().min(d1.abs()),
        "drift {d_bp} vs {d0} (p_b = 0) and {d1} (p_b = 1)"
    );
    // The rule's own baseline A/C, read from the same runs, is where the burst term cancels:
    // ΣW changes by η(A − p_b·C), so the drift there is zero up to rounding.
    assert!((rule_bp - rule_bp1).abs() < 1e-3, "{rule_bp} vs {rule_bp1}");
    let (d_rule, _, _) = drift(dir.path(), rule_bp);
    assert!(
        d_rule.abs() < 1e-3 * d0.abs().min(d1.abs()),
        "drift {d_rule} at the rule baseline {rule_bp} (BP {bp}), {d_bp} at the BP"
    );
}

/// Initial weights drawn per synapse (crate::synapses::weights) enter the plastic store clipped
/// to [0, w_max], and neither they nor what is learned from them depends on the thread count.
#[test]
fn drawn_initial_weights_are_clipped_to_w_max_and_do_not_depend_on_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    // Three target chunks, so that the chunks draw and learn in parallel with two threads.
    let net = NETWORK
        .replace("duration_s = 6.0", "duration_s = 0.5")
        .replace(
            "[populations.post]\nmodel = \"pyramidal\"\nsize = 400",
            "[populations.post]\nmodel = \"pyramidal\"\nsize = 2500",
        )
        .replace(
            "weight = 0.05",
            "weight = { dist = \"uniform\", min = 0.0, max = 0.2 }",
        )
        .replace("eta = 1e-6", "eta = 1e-3")
        .replace("w_max = 1.0", "w_max = 0.1");
    let file = dir.path().join("drawn.toml");
    std::fs::write(&file, net).unwrap();
    let sums = |threads: &str| {
        let out = dir.path().join(threads);
        let s = run(file.to_str().unwrap(), &out, &["--threads", threads]);
        let w = &s["plastic_weights"]["plastic"];
        let n = s["synapses"].as_f64().unwrap();
        let sum = |k: &str| w[k].as_f64().unwrap();
        let edges = read_edges(&out.join("weights.h5"), "plastic");
        ((sum("initial_sum"), sum("final_sum"), n), edges.weights)
    };
    let ((initial, last, n), weights) = sums("1");
    assert!(n > 150_000.0, "{n} synapses");
    // E[min(U(0, 0.2), 0.1)] = 0.075; the standard error over n synapses is below 1e-4.
    let mean = initial / n;
    assert!((mean - 0.075).abs() < 1e-3, "initial mean weight {mean}");
    assert!(last != initial, "nothing was learned");
    let two = sums("2");
    assert_eq!(two.0, (initial, last, n));
    // Synapse by synapse, in weights.h5.
    assert_eq!(two.1, weights);
}

/// weights.h5 lists every synapse of a plastic projection under its own node ids, whatever
/// target chunk holds it, with the initial and final weights whose sums the summary reports.
#[test]
fn weight_file_names_each_plastic_synapse_by_its_node_ids() {
    let dir = tempfile::tempdir().unwrap();
    // One-to-one onto three target chunks: every edge must join neuron i to neuron i.
    let net = NETWORK
        .replace("duration_s = 6.0", "duration_s = 0.5")
        .replace("size = 400", "size = 2500")
        .replace(
            "connectivity = \"pairwise\"\np = 0.2",
            "connectivity = \"one_to_one\"",
        )
        .replace(
            "weight = 0.05",
            "weight = { dist = \"uniform\", min = 0.0, max = 0.2 }",
        )
        .replace("eta = 1e-6", "eta = 1e-3");
    let file = dir.path().join("one_to_one.toml");
    std::fs::write(&file, net).unwrap();
    let out = dir.path().join("run");
    let s = run(file.to_str().unwrap(), &out, &[]);
    let e = read_edges(&out.join("weights.h5"), "plastic");
    assert_eq!(e.targets, (0..2500).collect::<Vec<u64>>());
    assert_eq!(e.sources, e.targets);
    assert_eq!(
        (e.source_population.as_str(), e.target_population.as_str()),
        ("pre", "post")
    );
    let names: Vec<&str> = e.weights.keys().map(String::as_str).collect();
    assert_eq!(names, ["syn_weight", "syn_weight_initial"]);
    let w = &s["plastic_weights"]["plastic"];
    for (name, key) in [
        ("syn_weight_initial", "initial_sum"),
        ("syn_weight", "final_sum"),
    ] {
        let sum: f64 = e.weights[name].iter().map(|&x| x as f64).sum();
        let want = w[key].as_f64().unwrap();
        assert!(
            (sum - want).abs() < 1e-9 * want.abs().max(1.0),
            "{name}: {sum} vs {want}"
        );
    }
    let changed = e.weights["syn_weight"]
        .iter()
        .zip(&e.weights["syn_weight_initial"])
        .filter(|(a, b)| a != b)
        .count();
    assert!(changed > 100, "only {changed} weights changed");

    // [initial_weights] starts a new run from them: its weights as built are the first run's
    // final weights, synapse by synapse.
    let file_set = format!(
        "initial_weights.file=\"{}\"",
        out.join("weights.h5").display()
    );
    let again = dir.path().join("again");
    run(file.to_str().unwrap(), &again, &["--set", &file_set]);
    let e2 = read_edges(&again.join("weights.h5"), "plastic");
    assert_eq!(e2.weights["syn_weight_initial"], e.weights["syn_weight"]);
    // An earlier snapshot by name.
    let initial = dir.path().join("initial");
    run(
        file.to_str().unwrap(),
        &initial,
        &[
            "--set",
            &file_set,
            "--set",
            "initial_weights.snapshot=\"syn_weight_initial\"",
        ],
    );
    let e3 = read_edges(&initial.join("weights.h5"), "plastic");
    assert_eq!(
        e3.weights["syn_weight_initial"],
        e.weights["syn_weight_initial"]
    );
    // Clear errors: a snapshot the file lacks, other synapses, a projection this experiment
    // does not have.
    let fails = |extra: &[&str], fragments: &[&str]| {
        let mut args = vec![
            "run",
            file.to_str().unwrap(),
            "--quiet",
            "--force",
            "--set",
            &file_set,
        ];
        args.extend_from_slice(extra);
        let o = common::burstccn(
            &[
                &args[..],
                &["--out", dir.path().join("bad").to_str().unwrap()],
            ]
            .concat(),
        );
        assert!(!o.status.success());
        let msg = String::from_utf8_lossy(&o.stderr);
        for f in fragments {
            assert!(msg.contains(f), "{f:?} not in: {msg}");
        }
    };
    fails(
        &["--set", "initial_weights.snapshot=\"syn_weight_epoch_9\""],
        &[
            "initial_weights",
            "syn_weight_epoch_9",
            "snapshots: syn_weight, syn_weight_initial",
        ],
    );
    fails(
        &[
            "--set",
            "projections.plastic.plasticity.eta=0",
            "--set",
            "projections.plastic.connectivity=\"pairwise\"",
            "--set",
            "projections.plastic.p=0.1",
        ],
        &[
            "initial_weights.file",
            "other populations, connectivity or seed",
        ],
    );
    // The same number of synapses, joined differently: the first one that differs is named.
    let shuffled = dir.path().join("shuffled.h5");
    std::fs::copy(out.join("weights.h5"), &shuffled).unwrap();
    {
        let f = hdf5::File::open_rw(&shuffled).unwrap();
        let reversed: Vec<u64> = (0..2500).rev().collect();
        f.dataset("edges/plastic/source_node_id")
            .unwrap()
            .write_raw(&reversed)
            .unwrap();
    }
    let shuffled_set = format!("initial_weights.file=\"{}\"", shuffled.display());
    fails(
        &["--set", &shuffled_set],
        &["its synapse 0 is 0 → 0 here but 2499 → 0 in the file"],
    );
    let renamed = dir.path().join("renamed.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &renamed,
        text.replace("[projections.plastic]", "[projections.other]"),
    )
    .unwrap();
    let o = common::burstccn(&[
        "run",
        renamed.to_str().unwrap(),
        "--quiet",
        "--set",
        &file_set,
        "--out",
        dir.path().join("bad2").to_str().unwrap(),
    ]);
    let msg = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        msg.contains("`plastic`, which is not a plastic projection of this experiment"),
        "{msg}"
    );
}

/// One synapse: a presynaptic doublet at 10/15 ms (one event); a postsynaptic event at ~20 ms and
/// an event/burst pair at ~60/67 ms, made by 0.5-ms current pulses into a LIF neuron that the
/// synapse itself is far too weak to fire.
const PAIR: &str = r#"
duration_s = 0.1

[populations.gen]
model = "spike_generator"
size = 1
params = { times = ["10 ms", "15 ms"], neurons = [0, 0] }

[populations.post]
model = "lif_coba"
size = 1
params = { v_init = "rest" }

[projections.p]
pre = "gen"
post = "post"
receptor = "excitatory"
connectivity = "one_to_one"
weight = 0.01
TRANSMISSION
plasticity = { eta = 1e-3, tau_pre = "100 ms", tau_avg = "2 s", baseline = "constant", p_b = 0.4, e_min = "2 Hz" }

[[inputs]]
population = "post"
kind = "schedule"
times = ["20 ms", "20.5 ms", "60 ms", "60.5 ms", "67 ms", "67.5 ms"]
values = ["20 nA", "0 nA", "20 nA", "0 nA", "20 nA", "0 nA"]

[record]
spikes = ["post"]
rate_populations = []
rate_bin = "0.1 ms"

[[record.traces]]
population = "post"
neurons = [0]
variables = ["g_exc"]
"#;

struct PairRun {
    /// (step, ΔW) at every step where the weight changed.
    dw: Vec<(u64, f64)>,
    /// Steps whose connection phase added conductance, with the size of the jump.
    g_jumps: Vec<(u64, f64)>,
    post_spikes: Vec<f64>,
}

/// Runs `PAIR` with the projection's `transmission` keys into `dir/name`.
fn pair_run(dir: &std::path::Path, name: &str, transmission: &str) -> PairRun {
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, PAIR.replace("TRANSMISSION", transmission)).unwrap();
    let out = dir.join(name);
    run(file.to_str().unwrap(), &out, &[]);
    let h5 = hdf5::File::open(out.join("recordings.h5")).unwrap();
    // The sum is recorded at the end of every step n, at time (n + 1)·dt.
    let sum = h5
        .dataset("weights/p/sum")
        .unwrap()
        .read_raw::<f64>()
        .unwrap();
    let mut dw = Vec::new();
    let mut prev = 0.01f32 as f64;
    for (n, &w) in sum.iter().enumerate() {
        if w != prev {
            dw.push((n as u64, w - prev));
        }
        prev = w;
    }
    let g = h5
        .dataset("traces/post/g_exc")
        .unwrap()
        .read_raw::<f32>()
        .unwrap();
    let decay = (-0.1f64 / 5.0).exp();
    let mut g_jumps = Vec::new();
    let mut prev = 0.0f64;
    for (n, &x) in g.iter().enumerate() {
        let jump = x as f64 - prev * decay;
        if jump > 1e-6 {
            g_jumps.push((n as u64, jump));
        }
        prev = x as f64;
    }
    let spikes = hdf5::File::open(out.join("spikes.h5")).unwrap();
    let post_spikes = spikes
        .dataset("spikes/post/timestamps")
        .unwrap()
        .read_raw::<f64>()
        .unwrap();
    PairRun {
        dw,
        g_jumps,
        post_spikes,
    }
}

#[test]
fn plastic_stp_synapse_transmits_every_spike_and_learns_from_presynaptic_events_only() {
    let dir = tempfile::tempdir().unwrap();
    let all = pair_run(
        dir.path(),
        "all",
        "transmission = \"all\"\nstp = \"depressing\"\nstp_initial_u = \"U\"",
    );
    assert_eq!(
        all.post_spikes.len(),
        3,
        "post spikes {:?}",
        all.post_spikes
    );
    // Both spikes of the doublet are transmitted, 0.8 ms after emission, as W·ε with the STP
    // efficacies of a doublet at ISI 5 ms from (x, u) = (1, U) (spec/synapses.md §3 with f = U)
    // and W at the delivery step (after the homeostatic LTP of the event at 10 ms).
    let w1 = 0.01 + all.dw[0].1;
    let steps: Vec<u64> = all.g_jumps.iter().map(|j| j.0).collect();
    assert_eq!(steps, vec![108, 158]);
    for ((_, g), eff) in all.g_jumps.iter().zip([0.9000, 0.2964]) {
        assert!((g / w1 - eff).abs() < 2e-3, "jumps {:?}", all.g_jumps);
    }
    // Weight changes: homeostatic LTP η(e_min − R) at the event's emission step only (not at the
    // second spike, not at delivery), with R = 0.1 Hz decaying (τ_hom = 30 s) from step 0.
    let d = |tau: f64, k: u64| (-1e-4 / tau).exp().powi(k as i32);
    let r = 0.1 * d(30.0, 100);
    assert_eq!(all.dw.len(), 4, "weight changes {:?}", all.dw);
    assert_eq!(all.dw[0].0, 100);
    assert!(
        (all.dw[0].1 - 1e-3 * (2.0 - r)).abs() < 1e-8,
        "{:?}",
        all.dw
    );
    // Then a post event (LTD, η·p_b·Ẽ), an event (LTD) and a burst (LTP, η·Ẽ), with Ẽ the trace
    // of the one presynaptic event: Ẽ = e^(−(n − 100)·dt/τ_pre). The doublet's second spike
    // would add about 0.95 if it entered Ẽ.
    let pre = |n: u64| d(0.1, n - 100);
    let (ev1, ev2, burst) = (all.dw[1], all.dw[2], all.dw[3]);
    for ((n, got), sign) in [(ev1, -0.4), (ev2, -0.4), (burst, 1.0)] {
        let want = 1e-3 * sign * pre(n);
        assert!((got - want).abs() < 1e-8, "step {n}: ΔW {got}, want {want}");
    }
    // The rule acts at the postsynaptic spikes (ms), which follow the pulses within 0.5 ms.
    for ((n, _), (&t, onset)) in [ev1, ev2, burst]
        .iter()
        .zip(all.post_spikes.iter().zip([20.0, 60.0, 67.0]))
    {
        assert!((*n as f64 / 10.0 - t).abs() < 1e-9 && t > onset && t < onset + 0.5);
    }
    // The event-only projection learns exactly the same (it transmits the event immediately,
    // at step 100, and not the doublet's second spike).
    let events_only = pair_run(dir.path(), "events_only", "transmission = \"events_only\"");
    assert_eq!(events_only.post_spikes, all.post_spikes);
    assert_eq!(events_only.dw, all.dw);
    let steps: Vec<u64> = events_only.g_jumps.iter().map(|j| j.0).collect();
    assert_eq!(steps, vec![100]);
}
