//! Multiplexing and demultiplexing (issue 4): a scaled-down `experiments/demultiplex.toml`.
//! The source's event rate follows its somatic signal and its burst probability its dendritic
//! signal; the depressing-synapse target follows the somatic signal and not the dendritic one;
//! the facilitating-synapse target follows the source's burst rate better than its event rate.

mod common;

use common::run;

#[test]
fn std_target_follows_events_and_stf_target_follows_bursts() {
    let dir = tempfile::tempdir().unwrap();
    let s = run(
        "experiments/demultiplex.toml",
        dir.path(),
        &[
            "--set",
            "populations.source.size=500",
            "--set",
            "populations.std_target.size=200",
            "--set",
            "populations.stf_target.size=200",
            "--set",
            "projections.depressing.p=0.4",
            "--set",
            "projections.facilitating.p=0.4",
            "--set",
            "duration_s=4",
        ],
    );
    let r = |k: &str| {
        s["readouts"][k]
            .as_f64()
            .unwrap_or_else(|| panic!("readout {k}"))
    };
    // Seeds 1–3 gave 0.87–0.90 and 0.87–0.90 for the source, 0.82–0.86 vs 0.06–0.18 for the
    // STD target, and 0.90–0.92 vs 0.69–0.79 for the STF target.
    assert!(
        r("er_vs_is") > 0.8 && r("bp_vs_id") > 0.8,
        "the source multiplexes"
    );
    assert!(
        r("std_vs_is") > 0.7 && r("std_vs_id") < 0.35,
        "STD target: {} vs {}",
        r("std_vs_is"),
        r("std_vs_id")
    );
    assert!(
        r("stf_vs_source_br") > r("stf_vs_source_er") + 0.08,
        "STF target: burst rate {} vs event rate {}",
        r("stf_vs_source_br"),
        r("stf_vs_source_er")
    );
}

#[test]
fn several_seeds_give_per_seed_runs_and_statistics_across_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("seeds");
    let o = common::burstccn(&[
        "run",
        "experiments/demultiplex.toml",
        "--seeds",
        "1..3",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
        "--set",
        "duration_s=1.5",
        "--set",
        "populations.source.size=200",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for seed in 1..=3 {
        assert!(out.join(format!("seed{seed}/summary.json")).exists());
    }
    assert!(out.join("seeds.png").exists());
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("seeds.json")).unwrap()).unwrap();
    assert_eq!(s["seeds"], serde_json::json!([1, 2, 3]));
    let er = &s["populations"]["source"]["event_rate_hz"];
    let values: Vec<f64> = er["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(values.len(), 3);
    assert!(values.windows(2).any(|w| w[0] != w[1]), "seeds differ");
    let mean = values.iter().sum::<f64>() / 3.0;
    assert!((er["mean"].as_f64().unwrap() - mean).abs() < 1e-9);
    assert!(s["readouts"]["er_vs_is"]["sd"].as_f64().unwrap() >= 0.0);
    // `plot` redraws a multi-seed directory: every seed's figures, then seeds.png.
    std::fs::remove_file(out.join("seeds.png")).unwrap();
    let o = common::burstccn(&["plot", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let listed = String::from_utf8_lossy(&o.stdout);
    assert!(listed.contains("seed3") && listed.trim_end().ends_with("seeds.png"));
    assert!(out.join("seeds.png").exists());
}
