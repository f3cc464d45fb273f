//! Burst-dependent plasticity in a running network (issue 5): with a constant baseline equal to
//! the postsynaptic population's own burst probability and no teacher, the weights do not drift.

mod common;

use common::run;

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

fn drift(dir: &std::path::Path, p_b: f64) -> (f64, f64) {
    let file = dir.join(format!("net_{p_b}.toml"));
    std::fs::write(&file, NETWORK.replace("p_b = 0.0", &format!("p_b = {p_b}"))).unwrap();
    let s = run(file.to_str().unwrap(), &dir.join(format!("run_{p_b}")), &[]);
    let w = &s["plastic_weights"]["plastic"];
    let d = w["final_sum"].as_f64().unwrap() - w["initial_sum"].as_f64().unwrap();
    (
        d,
        s["populations"]["post"]["burst_probability"]
            .as_f64()
            .unwrap(),
    )
}

#[test]
fn constant_baseline_at_the_actual_burst_probability_gives_no_drift() {
    let dir = tempfile::tempdir().unwrap();
    let (d0, bp) = drift(dir.path(), 0.0);
    assert!(
        d0 > 0.0,
        "with p_b = 0 every burst potentiates and nothing depresses"
    );
    assert!((0.05..0.6).contains(&bp), "post burst probability {bp}");
    let (d1, _) = drift(dir.path(), 1.0);
    assert!(d1 < 0.0, "with p_b = 1 events outweigh bursts");
    // The learning rate is too small to change the activity, so the run repeats with p_b = BP.
    let (d_bp, bp2) = drift(dir.path(), bp);
    assert!((bp2 - bp).abs() < 1e-3);
    assert!(
        d_bp.abs() < 0.05 * d0.abs().min(d1.abs()),
        "drift {d_bp} vs {d0} (p_b = 0) and {d1} (p_b = 1)"
    );
}
