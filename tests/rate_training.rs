//! Short training runs on an MNIST subset: learning, outputs, determinism and resume.
//!
//! Sigmoid networks trained on the squared error sit on a plateau for the first few hundred
//! steps, so these small runs use a larger learning rate than the full recipes.

use burstccn::rate::{config, train};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/mnist");

fn experiment(extra: &[&str]) -> burstccn::rate::Experiment {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("small.toml");
    std::fs::write(
        &p,
        "epochs = 3\nalgorithm = \"burstccn\"\nhidden_layers = 2\nhidden_units = 100\nlr = 2.0\nbatch_size = 16\n\
         y_mode = \"random\"\ny_scale = 0.5\nq_mode = \"symmetric\"\nq_learning = true\nlr_q = 7.31e-4\n\
         train_subset = 5000\ntest_subset = 1000\nangle_interval = 20\n",
    )
    .unwrap();
    let mut sets = vec![format!("data_dir={DATA}")];
    sets.extend(extra.iter().map(|s| s.to_string()));
    config::load(&p, &sets).unwrap()
}

fn opts(out: &std::path::Path) -> train::RunOptions {
    train::RunOptions {
        out: out.to_path_buf(),
        threads: 1,
        resume: false,
        force: false,
        progress: false,
    }
}

#[test]
fn short_run_learns_writes_outputs_and_resumes_identically() {
    let exp = experiment(&[]);
    let data = train::load_data(&exp).unwrap();
    assert_eq!(data.train.len(), 5000);
    let tmp = tempfile::tempdir().unwrap();
    let full = tmp.path().join("full");
    let s = train::run(&exp, &data, &opts(&full)).unwrap();
    eprintln!(
        "test error after 3 epochs on 5000 images: {:.3}",
        s.test_error
    );
    assert!(
        s.test_error < 0.3,
        "test error {} (chance 0.9)",
        s.test_error
    );
    for f in [
        "metrics.csv",
        "summary.json",
        "learning_curves.png",
        "checkpoint.bin",
        "experiment.toml",
    ] {
        assert!(full.join(f).is_file(), "{f} missing");
    }
    let summary = train::read_summary(&full.join("summary.json")).unwrap();
    assert_eq!(summary.epochs, 3);
    let csv = std::fs::read_to_string(full.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4);
    assert!(csv.lines().next().unwrap().contains("bp_angle_l1"));

    // The same directory again is refused without --force.
    let err = train::run(&exp, &data, &opts(&full))
        .unwrap_err()
        .to_string();
    assert!(err.contains("--force"), "{err}");

    // One epoch, then resume to three: identical to the uninterrupted run.
    let part = tmp.path().join("part");
    let one = experiment(&["epochs=1"]);
    train::run(&one, &data, &opts(&part)).unwrap();
    let resumed = train::run(
        &exp,
        &data,
        &train::RunOptions {
            resume: true,
            ..opts(&part)
        },
    )
    .unwrap();
    assert_eq!(resumed.test_error, s.test_error);
    assert_eq!(resumed.train_error, s.train_error);
    assert_eq!(resumed.epochs, 3);
}

#[test]
fn baselines_learn_on_a_subset() {
    for (alg, extra) in [
        ("backprop", vec![]),
        ("fa", vec![]),
        ("burstprop", vec!["p_baseline=0.2", "y_scale=1.0"]),
    ] {
        let mut sets = vec![format!("algorithm={alg}"), "q_learning=false".into()];
        sets.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = sets.iter().map(String::as_str).collect();
        let exp = experiment(&refs);
        let data = train::load_data(&exp).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let s = train::run(&exp, &data, &opts(&tmp.path().join("o"))).unwrap();
        eprintln!("{alg}: test error {:.3}", s.test_error);
        assert!(s.test_error < 0.5, "{alg}: test error {}", s.test_error);
    }
}

#[test]
fn two_threads_are_deterministic() {
    let exp = experiment(&["epochs=1"]);
    let data = train::load_data(&exp).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let run = |dir: &str| {
        let o = train::RunOptions {
            threads: 2,
            ..opts(&tmp.path().join(dir))
        };
        pool.install(|| train::run(&exp, &data, &o)).unwrap()
    };
    let (a, b) = (run("a"), run("b"));
    assert_eq!(a.test_error, b.test_error);
    assert_eq!(a.train_error, b.train_error);
    let params = |dir: &str| {
        let bytes = std::fs::read(tmp.path().join(dir).join("checkpoint.bin")).unwrap();
        let header = u64::from_le_bytes(bytes[8..16].try_into().unwrap()) as usize;
        bytes[16 + header..].to_vec()
    };
    // Same parameters bit for bit (the headers differ only in wall times).
    assert_eq!(params("a"), params("b"));
}
