//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the `burstccn` binary with `args` in the crate root.
pub fn burstccn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_burstccn"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the burstccn binary runs")
}

/// Runs an experiment file with extra arguments into `out`; panics with stderr on failure.
pub fn run(experiment: &str, out: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["run", experiment, "--quiet", "--force"];
    args.extend_from_slice(extra);
    summary(&args, out)
}

/// Runs `burstccn ARGS --out OUT` and returns OUT/summary.json; panics with stderr on failure.
pub fn summary(args: &[&str], out: &Path) -> serde_json::Value {
    let mut args = args.to_vec();
    args.extend(["--out", out.to_str().unwrap()]);
    let o = burstccn(&args);
    assert!(
        o.status.success(),
        "burstccn {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(out.join("summary.json")).expect("summary.json");
    serde_json::from_str(&text).expect("summary.json is JSON")
}

/// One edge population of a run's weights.h5 (SONATA edges layout): node ids, their
/// populations, and every weight snapshot of group `0` by dataset name.
pub struct Edges {
    pub sources: Vec<u64>,
    pub targets: Vec<u64>,
    pub source_population: String,
    pub target_population: String,
    pub weights: std::collections::BTreeMap<String, Vec<f32>>,
}

/// Reads projection `proj` of the weight file `path`, checking the SONATA root attributes and
/// the group columns every edges file has.
pub fn read_edges(path: &Path, proj: &str) -> Edges {
    let f = hdf5::File::open(path).expect("weights.h5 opens");
    assert_eq!(
        f.attr("magic").unwrap().read_scalar::<u32>().unwrap(),
        0x0A7A
    );
    let g = f
        .group(&format!("edges/{proj}"))
        .expect("an edge population");
    let ids = |name: &str| g.dataset(name).unwrap().read_raw::<u64>().unwrap();
    let population = |name: &str| {
        g.dataset(name)
            .unwrap()
            .attr("node_population")
            .unwrap()
            .read_scalar::<hdf5::types::VarLenUnicode>()
            .unwrap()
            .to_string()
    };
    let (sources, targets) = (ids("source_node_id"), ids("target_node_id"));
    let n = sources.len();
    assert_eq!(ids("edge_group_index"), (0..n as u64).collect::<Vec<_>>());
    assert_eq!(g.dataset("edge_group_id").unwrap().size(), n);
    assert_eq!(g.dataset("edge_type_id").unwrap().size(), n);
    let attrs = g.group("0").unwrap();
    let weights = attrs
        .member_names()
        .unwrap()
        .into_iter()
        .map(|name| {
            let w = attrs.dataset(&name).unwrap().read_raw::<f32>().unwrap();
            assert_eq!(w.len(), n, "{name}");
            (name, w)
        })
        .collect();
    Edges {
        sources,
        targets,
        source_population: population("source_node_id"),
        target_population: population("target_node_id"),
        weights,
    }
}
