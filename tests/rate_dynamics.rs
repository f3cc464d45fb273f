//! BurstCCN dynamics: the special states of rate_model.md §1 and Q learning [G22 Fig 4].

use burstccn::rate::linalg::angle_deg;
use burstccn::rate::mnist::{self, one_hot, PIXELS};
use burstccn::rate::{ModelSpec, Network, QMode, YMode};
use burstccn::Real;
use rand::{Rng, SeedableRng};

fn random_inputs(rows: usize, n: usize, seed: u64) -> Vec<Real> {
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..rows * n).map(|_| rng.random::<Real>()).collect()
}

#[test]
fn q_y_symmetry_without_teacher_gives_exactly_zero_apical_and_updates() {
    let mut spec = ModelSpec::burstccn(vec![30, 20, 20, 20, 10]);
    spec.y_mode = YMode::Random;
    spec.q_mode = QMode::Symmetric;
    let mut net = Network::new(spec, 7, 1).unwrap();
    let x = random_inputs(8, 30, 1);
    net.compute_updates(&x, None, 8);
    for k in 0..net.n_layers() - 1 {
        assert!(
            net.apical(k).iter().all(|&a| a == 0.0),
            "layer {k} apical not zero"
        );
    }
    for k in 0..net.n_layers() {
        assert!(
            net.grad_w(k).iter().all(|&g| g == 0.0),
            "layer {k} ΔW not zero"
        );
    }
}

#[test]
fn tied_feedback_with_small_errors_matches_p_b_times_backprop() {
    let mut spec = ModelSpec::burstccn(vec![40, 30, 30, 30, 10]);
    spec.y_mode = YMode::Tied;
    spec.y_scale = 1.0;
    spec.q_mode = QMode::Tied;
    let pb = spec.p_baseline;
    let mut net = Network::new(spec, 3, 1).unwrap();
    let rows = 16;
    let x = random_inputs(rows, 40, 2);
    let e = net.forward(&x, rows).to_vec();
    let noise = random_inputs(rows, 10, 3);
    let t: Vec<Real> = e
        .iter()
        .zip(&noise)
        .map(|(&e, &r)| e + 0.02 * (r - 0.5))
        .collect();
    let angles = net.compute_updates(&x, Some(&t), rows);
    for k in 0..net.n_layers() {
        let g = net.grad_w(k);
        let scaled: Vec<Real> = net.grad_w_bp(k).iter().map(|&v| pb * v).collect();
        let angle = angle_deg(&[g], &[&scaled]);
        let norm = |v: &[Real]| v.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt();
        let ratio = norm(g) / norm(&scaled);
        assert!(angle < 5.0, "layer {k}: {angle}° to p_b × backprop");
        assert!((ratio - 1.0).abs() < 0.05, "layer {k}: norm ratio {ratio}");
    }
    assert!(angles.bp_global < 5.0, "{angles:?}");
}

#[test]
fn q_learning_alone_lowers_apical_and_angle_to_backprop() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/mnist");
    let mut data = mnist::load(std::path::Path::new(dir)).unwrap();
    data.train.truncate(2048);
    let mut spec = ModelSpec::burstccn(vec![784, 100, 100, 100, 10]);
    spec.lr = 0.0;
    spec.y_mode = YMode::Symmetric;
    spec.y_scale = 1.0;
    spec.q_mode = QMode::Random;
    spec.q_scale = 0.1;
    spec.lr_q = 0.01;
    let mut net = Network::new(spec, 11, 1).unwrap();
    let rows = 256;
    let x_eval = data.train.images[..rows * PIXELS].to_vec();
    let t_eval = one_hot(&data.train.labels[..rows]);
    let measure = |net: &mut Network| {
        net.compute_updates(&x_eval, None, rows);
        let apical = (0..net.n_layers() - 1)
            .map(|k| net.mean_abs_apical(k))
            .sum::<f64>()
            / 3.0;
        let angle = net.compute_updates(&x_eval, Some(&t_eval), rows).bp_global;
        (apical, angle)
    };
    let (apical0, angle0) = measure(&mut net);
    let bs = 32;
    for _ in 0..3 {
        for b in 0..data.train.len() / bs {
            let x = &data.train.images[b * bs * PIXELS..(b + 1) * bs * PIXELS];
            net.train_step(x, None, bs, false);
        }
    }
    let (apical1, angle1) = measure(&mut net);
    eprintln!("mean |apical| {apical0:.4} -> {apical1:.4}; angle to backprop {angle0:.1}° -> {angle1:.1}°");
    assert!(
        apical1 < 0.5 * apical0,
        "mean |apical| {apical0} -> {apical1}"
    );
    assert!(angle1 < angle0 - 10.0, "angle {angle0} -> {angle1}");
}
