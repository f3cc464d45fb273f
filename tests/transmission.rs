//! Spike delivery end to end, with prescribed spike trains: delays, event-only and burst-only
//! transmission (spec/synapses.md §2, §4) and short-term-plasticity efficacies (§3), of static
//! and plastic projections, read from the recorded conductance of passive targets (issue 2).

mod common;

use common::run;

/// Generator neuron 0: isolated spikes at 10 and 100 ms, a doublet at 200/205 ms and a triplet at
/// 300/305/310 ms. Neuron 1: a triplet at ISI 5 ms from 500 ms, for the STP efficacies.
const NETWORK: &str = r#"
duration_s = 0.6

[populations.gen]
model = "spike_generator"
size = 2
params = { times = ["10 ms", "100 ms", "200 ms", "205 ms", "300 ms", "305 ms", "310 ms", "500 ms", "505 ms", "510 ms"], neurons = [0, 0, 0, 0, 0, 0, 0, 1, 1, 1] }

[populations.target]
model = "lif_coba"
size = 2
params = { v_th = "0 mV" }    # passive: the conductances never make it fire

[projections.PROJ]
pre = "gen"
post = "target"
receptor = "excitatory"
connectivity = "one_to_one"
weight = 0.01
EXTRA

[record]
spikes = []
rate_populations = []

[[record.traces]]
population = "target"
neurons = [0, 1]
variables = ["g_exc"]
STP_RECORD
"#;

/// Runs the network with a projection configured by `extra`; returns the conductance jumps of
/// each target as (time in ms of the step that received it, size).
fn jumps(extra: &str) -> Vec<Vec<(f64, f64)>> {
    let dir = tempfile::tempdir().unwrap();
    let h5 = simulate(dir.path(), extra, "");
    conductance_jumps(&h5)
}

/// Runs the network and opens its recordings.
fn simulate(dir: &std::path::Path, extra: &str, stp_record: &str) -> hdf5::File {
    let file = dir.join("net.toml");
    let text = NETWORK
        .replace("PROJ", "p")
        .replace("EXTRA", extra)
        .replace("STP_RECORD", stp_record);
    std::fs::write(&file, text).unwrap();
    let out = dir.join("run");
    run(file.to_str().unwrap(), &out, &[]);
    hdf5::File::open(out.join("recordings.h5")).unwrap()
}

fn conductance_jumps(h5: &hdf5::File) -> Vec<Vec<(f64, f64)>> {
    let g = h5
        .dataset("traces/target/g_exc")
        .unwrap()
        .read_2d::<f32>()
        .unwrap();
    let decay = (-0.1f64 / 5.0).exp();
    (0..2)
        .map(|k| {
            let mut out = Vec::new();
            let mut prev = 0.0f64;
            for (n, row) in g.rows().into_iter().enumerate() {
                let x = row[k] as f64;
                let jump = x - prev * decay;
                if jump > 1e-6 {
                    out.push((n as f64 * 0.1, jump));
                }
                prev = x;
            }
            out
        })
        .collect()
}

fn times(j: &[(f64, f64)]) -> Vec<f64> {
    j.iter().map(|&(t, _)| (t * 10.0).round() / 10.0).collect()
}

#[test]
fn standard_connections_deliver_every_spike_after_the_axonal_delay() {
    let j = jumps("");
    // Delivered in the connection phase 8 steps (0.8 ms) after emission.
    assert_eq!(
        times(&j[0]),
        vec![10.8, 100.8, 200.8, 205.8, 300.8, 305.8, 310.8]
    );
    assert!(j[0].iter().all(|&(_, w)| (w - 0.01).abs() < 1e-6));
}

#[test]
fn events_only_transmits_first_spikes_immediately() {
    let j = jumps("transmission = \"events_only\"");
    assert_eq!(times(&j[0]), vec![10.0, 100.0, 200.0, 300.0]);
    assert_eq!(times(&j[1]), vec![500.0]);
}

#[test]
fn bursts_only_transmits_once_per_burst_at_the_second_spike() {
    let j = jumps("transmission = \"bursts_only\"");
    assert_eq!(times(&j[0]), vec![205.0, 305.0]);
    assert_eq!(times(&j[1]), vec![505.0]);
}

#[test]
fn depressing_and_facilitating_efficacies_reach_the_target() {
    // From (x, u) = (1, U), a triplet at ISI 5 ms, with the presets' f = U (src/synapses/stp.rs;
    // spec/synapses.md §3 tabulates f = 0.1, which the reference never applies).
    for (stp, want) in [
        ("depressing", [0.9000, 0.2964, 0.2238]),
        ("facilitating", [0.0200, 0.0379, 0.0530]),
    ] {
        let j = jumps(&format!("stp = \"{stp}\"\nstp_initial_u = \"U\""));
        let sizes: Vec<f64> = j[1].iter().map(|&(_, w)| w / 0.01).collect();
        assert_eq!(sizes.len(), 3, "{stp}: {j:?}");
        for (got, want) in sizes.iter().zip(want) {
            assert!(
                (got - want).abs() < 2e-3,
                "{stp}: efficacies {sizes:?}, want {want}"
            );
        }
    }
}

#[test]
fn plastic_projections_with_stp_transmit_every_spike_with_its_efficacy() {
    // transmission = "all" with plasticity: every spike, after the axonal delay, as W·ε. The
    // passive targets never spike and e_min = 0, so W stays at its initial value and the jumps
    // equal those of the same projection without plasticity, doublet and triplet included.
    let stp = "stp = \"depressing\"\nstp_initial_u = \"U\"";
    let plastic = format!(
        "{stp}\nplasticity = {{ eta = 1e-3, tau_avg = \"2 s\", baseline = \"constant\", p_b = 0.4 }}"
    );
    let (j, reference) = (jumps(&plastic), jumps(stp));
    assert_eq!(
        times(&j[0]),
        vec![10.8, 100.8, 200.8, 205.8, 300.8, 305.8, 310.8]
    );
    assert_eq!(j, reference);
    let sizes: Vec<f64> = j[1].iter().map(|&(_, w)| w / 0.01).collect();
    assert_eq!(times(&j[1]), vec![500.8, 505.8, 510.8]);
    for (got, want) in sizes.iter().zip([0.9000, 0.2964, 0.2238]) {
        assert!((got - want).abs() < 2e-3, "efficacies {sizes:?}");
    }
}

#[test]
fn stp_state_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let record = "[[record.stp]]\nprojection = \"p\"\nneurons = [1]\ninterval = \"0.1 ms\"";
    let h5 = simulate(
        dir.path(),
        "stp = \"depressing\"\nstp_initial_u = \"U\"",
        record,
    );
    let x = h5.dataset("stp/p/x").unwrap().read_2d::<f32>().unwrap();
    let u = h5.dataset("stp/p/u").unwrap().read_2d::<f32>().unwrap();
    assert_eq!(x.shape(), &[6000, 1]);
    // Before the first spike of neuron 1 (500 ms) the state rests at (1, U).
    assert!((x[[4999, 0]] - 1.0).abs() < 1e-6 && (u[[4999, 0]] - 0.9).abs() < 1e-6);
    // After it: x = 1 − U = 0.1 and u = U + f(1 − U) = 0.99 (f = U), then one Euler recovery step.
    let (x1, u1) = (0.1 + 0.005 * 0.9, 0.99 + 1e-4 * (0.9 - 0.99));
    assert!(
        (x[[5000, 0]] as f64 - x1).abs() < 1e-5,
        "x {}",
        x[[5000, 0]]
    );
    assert!(
        (u[[5000, 0]] as f64 - u1).abs() < 1e-5,
        "u {}",
        u[[5000, 0]]
    );
}
