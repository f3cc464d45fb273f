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
