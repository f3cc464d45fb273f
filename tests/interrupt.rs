//! A run stopped by Ctrl-C (SIGINT), or by SIGTERM as batch schedulers and `kill` stop jobs,
//! closes its files: the spike file is a valid SONATA file with the spikes up to the stop,
//! summary.json says "interrupted", and the exit code is 130 (issue 2).

mod common;

use burstccn::recording::sonata::SonataReader;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn ctrl_c_leaves_valid_closed_files() {
    stop_leaves_valid_closed_files(libc::SIGINT);
}

#[test]
fn sigterm_leaves_valid_closed_files() {
    stop_leaves_valid_closed_files(libc::SIGTERM);
}

fn stop_leaves_valid_closed_files(signal: libc::c_int) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut child = Command::new(env!("CARGO_BIN_EXE_burstccn"))
        .args([
            "run",
            "experiments/calibration.toml",
            "--quiet",
            "--set",
            "duration_s=1000",
            "--out",
        ])
        .arg(&out)
        .current_dir(common::root())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the run has produced spikes (recordings.h5 exists once the loop runs).
    let start = Instant::now();
    while !out.join("recordings.h5").exists() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(child.id() as i32, signal);
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["status"], "interrupted");
    let simulated = summary["simulated_s"].as_f64().unwrap();
    assert!(simulated > 0.0 && simulated < 1000.0);
    let reader = SonataReader::open(&out.join("spikes.h5")).unwrap();
    let (t, _) = reader.read_all("pyr").unwrap();
    // The summary counts from its 1-s burn-in on; the file holds every spike.
    assert!(t.len() as u64 > summary["populations"]["pyr"]["spikes"].as_u64().unwrap());
    assert!(t.iter().all(|&x| x <= simulated * 1e3));
    hdf5::File::open(out.join("recordings.h5")).unwrap();
}
