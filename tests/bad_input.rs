//! Bad input gets a one-paragraph error naming the file, the key and what is expected, exit
//! code 2, no panic, and no run directory (issue 2, item 7).

mod common;

use common::burstccn;
use std::path::Path;

/// A small valid experiment; each test breaks one thing in it.
const VALID: &str = r#"
duration_s = 0.2
dt = "0.1 ms"

[populations.pyr]
model = "pyramidal"
size = 20

[populations.src]
model = "poisson"
size = 50
params = { rate = "5 Hz" }

[projections.drive]
pre = "src"
post = "pyr"
target = "soma"
receptor = "excitatory"
connectivity = "pairwise"
p = 0.2
weight = 0.1
delay = "0.8 ms"
"#;

/// Writes `text` as bad.toml in a fresh directory, runs it, and checks the failure: exit code 2,
/// a message naming the file and containing every fragment, no panic, no run directory.
fn fails_with(text: &str, fragments: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, text).unwrap();
    let out = dir.path().join("run");
    let o = burstccn(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(2),
        "exit code for {fragments:?}; stderr: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains("bad.toml"),
        "the message names the file: {err}"
    );
    for f in fragments {
        assert!(err.contains(f), "the message should contain {f:?}: {err}");
    }
    assert!(!out.exists(), "no run directory is left behind");
}

fn edit(from: &str, to: &str) -> String {
    assert!(VALID.contains(from), "{from}");
    VALID.replacen(from, to, 1)
}

#[test]
fn the_base_experiment_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ok.toml");
    std::fs::write(&file, VALID).unwrap();
    let o = burstccn(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        dir.path().join("run").to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn malformed_toml() {
    fails_with(
        &edit("duration_s = 0.2", "duration_s = = 0.2"),
        &["not valid TOML"],
    );
}

#[test]
fn unknown_keys() {
    fails_with(
        &format!("colour = \"red\"\n{VALID}"),
        &["`colour`", "unknown key"],
    );
    fails_with(
        &edit("size = 20", "size = 20\nparams = { tau_x = \"5 ms\" }"),
        &["populations.pyr.params.tau_x", "unknown key"],
    );
}

#[test]
fn unknown_population_and_model() {
    fails_with(
        &edit("pre = \"src\"", "pre = \"source\""),
        &["projections.drive.pre", "\"source\"", "src"],
    );
    fails_with(
        &edit("model = \"pyramidal\"", "model = \"pyramidall\""),
        &["populations.pyr.model", "pyramidall"],
    );
}

#[test]
fn probability_outside_unit_interval() {
    fails_with(
        &edit("p = 0.2", "p = 1.5"),
        &["projections.drive.p", "[0, 1]"],
    );
    fails_with(
        &edit("p = 0.2", "p = -0.1"),
        &["projections.drive.p", "[0, 1]"],
    );
}

#[test]
fn negative_rates_durations_and_weights() {
    fails_with(
        &edit("rate = \"5 Hz\"", "rate = \"-5 Hz\""),
        &["populations.src.params.rate", "≥ 0"],
    );
    fails_with(
        &edit("duration_s = 0.2", "duration_s = -1"),
        &["duration_s", "positive"],
    );
    fails_with(
        &edit("weight = 0.1", "weight = -0.1"),
        &["projections.drive.weight", "≥ 0"],
    );
}

#[test]
fn bad_weight_distributions() {
    let cases: [(&str, &[&str]); 5] = [
        (
            "{ dist = \"gauss\", mean = 0.1, sd = 0.01 }",
            &[
                "projections.drive.weight.dist",
                "uniform, normal, lognormal",
            ],
        ),
        (
            "{ dist = \"uniform\", min = 0.2, max = 0.1 }",
            &["projections.drive.weight.max", "below min"],
        ),
        (
            "{ dist = \"normal\", mean = 0.1, std = 0.01 }",
            &["projections.drive.weight", "sd"],
        ),
        (
            "{ dist = \"lognormal\", mean = 0, sd = 0.01 }",
            &["projections.drive.weight.mean", "> 0"],
        ),
        (
            "{ dist = \"normal\", mean = 0.1, sd = -0.01 }",
            &["projections.drive.weight.sd", "≥ 0"],
        ),
    ];
    for (weight, expected) in cases {
        fails_with(
            &edit("weight = 0.1", &format!("weight = {weight}")),
            expected,
        );
    }
}

#[test]
fn wrong_units() {
    fails_with(
        &edit("dt = \"0.1 ms\"", "dt = \"0.1 mV\""),
        &["`dt`", "expected a time"],
    );
    fails_with(
        &edit("delay = \"0.8 ms\"", "delay = 0.8"),
        &["projections.drive.delay", "no unit"],
    );
}

#[test]
fn delay_not_a_multiple_of_dt() {
    fails_with(
        &edit("delay = \"0.8 ms\"", "delay = \"0.85 ms\""),
        &["projections.drive.delay", "multiple of dt"],
    );
}

#[test]
fn plastic_projections_reject_bursts_only_and_stp_without_all() {
    let plastic = "plasticity = { eta = 1e-3, tau_avg = \"2 s\" }";
    fails_with(
        &edit(
            "delay = \"0.8 ms\"",
            &format!("transmission = \"bursts_only\"\n{plastic}"),
        ),
        &["projections.drive.transmission", "events_only", "\"all\""],
    );
    fails_with(
        &edit(
            "delay = \"0.8 ms\"",
            &format!("transmission = \"events_only\"\nstp = \"depressing\"\n{plastic}"),
        ),
        &["projections.drive.stp", "transmission = \"all\" only"],
    );
}

#[test]
fn missing_input_file() {
    let text = format!(
        "{VALID}\n[[inputs]]\npopulation = \"pyr\"\nkind = \"csv\"\nfile = \"no_such_file.csv\"\n"
    );
    fails_with(&text, &["inputs[0].file", "no_such_file.csv"]);
}

#[test]
fn existing_output_directory_is_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ok.toml");
    std::fs::write(&file, VALID).unwrap();
    let out = dir.path().join("run");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("precious.txt"), "earlier results").unwrap();
    let o = burstccn(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    assert!(Path::new(&out.join("precious.txt")).exists());
}

#[test]
fn info_reports_bad_input_too() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, edit("p = 0.2", "p = 2")).unwrap();
    let o = burstccn(&["info", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
}
