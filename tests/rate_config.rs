//! Experiment files: `--set` overrides and unknown-key errors.

use burstccn::rate::config;
use std::path::Path;

fn write(dir: &Path, text: &str) -> std::path::PathBuf {
    let p = dir.join("exp.toml");
    std::fs::write(&p, text).unwrap();
    p
}

const BASE: &str = "epochs = 50\nalgorithm = \"burstccn\"\nlr = 0.3\n";

#[test]
fn shipped_experiments_are_valid() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/experiments");
    for f in std::fs::read_dir(dir).unwrap() {
        let p = f.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("mnist_")
        {
            config::load(&p, &[]).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        }
    }
}

#[test]
fn set_overrides_before_validation() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), BASE);
    let exp = config::load(
        &p,
        &[
            "epochs=2".into(),
            "data_dir=/tmp/some where/mnist".into(),
            "lr=0.1".into(),
            "y_mode=tied".into(),
        ],
    )
    .unwrap();
    assert_eq!(exp.epochs, 2);
    assert_eq!(exp.data_dir, Path::new("/tmp/some where/mnist"));
    assert!((exp.model.lr - 0.1).abs() < 1e-7);
    assert_eq!(exp.model.y_mode, burstccn::rate::YMode::Tied);
    assert_eq!(exp.name, "exp");
    let default = config::load(&p, &[]).unwrap();
    assert_eq!(default.data_dir, Path::new("data/mnist"));
}

#[test]
fn unknown_keys_name_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), &format!("{BASE}lerning_rate = 2\n"));
    let err = config::load(&p, &[]).unwrap_err().to_string();
    assert!(
        err.contains("exp.toml") && err.contains("lerning_rate") && err.contains("unknown key"),
        "{err}"
    );
    let p = write(dir.path(), BASE);
    let err = config::load(&p, &["epoch=2".into()])
        .unwrap_err()
        .to_string();
    assert!(err.contains("exp.toml") && err.contains("`epoch`"), "{err}");
}

#[test]
fn bad_values_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), BASE);
    let err = config::load(&p, &["epochs=two".into()])
        .unwrap_err()
        .to_string();
    assert!(err.contains("`epochs`"), "{err}");
    let err = config::load(&p, &["algorithm=sgd".into()])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`algorithm`") && err.contains("burstprop"),
        "{err}"
    );
    let err = config::load(&p, &["p_baseline=0.3".into()])
        .unwrap_err()
        .to_string();
    assert!(err.contains("p_baseline"), "{err}");
    let err = config::load(&p, &["noequals".into()])
        .unwrap_err()
        .to_string();
    assert!(err.contains("KEY=VALUE"), "{err}");
}
