//! Seconds per MNIST epoch of the rate model (BurstCCN and backprop, 1 and 2 threads) and the
//! machine's sgemm throughput for comparison. Run: `cargo bench --bench rate`.
//! Epoch time = measured time per training step × 1875 steps + a measured test pass.
//! `BENCH_STEPS` sets the steps timed per configuration (default 300).

use burstccn::rate::linalg::{matmul, Threads, View};
use burstccn::rate::mnist::{self, one_hot, Split, PIXELS};
use burstccn::rate::{train, Algorithm, ModelSpec, Network};
use burstccn::Real;
use std::time::Instant;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/mnist");

fn data() -> (Split, Split) {
    match mnist::load(std::path::Path::new(DATA)) {
        Ok(d) => (d.train, d.test),
        Err(e) => {
            eprintln!("{e}; timing on synthetic inputs instead");
            let mk = |n: usize| Split {
                images: (0..n * PIXELS)
                    .map(|i| ((i * 7919) % 256) as Real / 255.0)
                    .collect(),
                labels: (0..n).map(|i| (i % 10) as u8).collect(),
            };
            (mk(60_000), mk(10_000))
        }
    }
}

/// Multiply-add FLOPs of one training step (2 per multiply-add).
fn step_flops(spec: &ModelSpec, b: usize) -> f64 {
    let s = &spec.sizes;
    let l = s.len() - 1;
    let ff: usize = (0..l).map(|k| s[k] * s[k + 1]).sum();
    let fb: usize = (0..l - 1).map(|k| s[k + 1] * s[k + 2]).sum();
    let feedback_products = match spec.algorithm {
        Algorithm::BurstCcn => 3, // Y and Q products, plus the Q update
        _ => 1,
    };
    2.0 * b as f64 * (2 * ff + feedback_products * fb) as f64
}

fn gemm_gflops(m: usize, k: usize, n: usize, threads: usize) -> f64 {
    let a = vec![0.5 as Real; m * k];
    let b = vec![0.25 as Real; k * n];
    let mut c = vec![0.0 as Real; m * n];
    let flops = 2.0 * (m * n * k) as f64;
    let reps = ((2e10 / flops) as usize).clamp(3, 20_000);
    let start = Instant::now();
    for _ in 0..reps {
        matmul(
            &mut c,
            View::new(&a, m, k),
            View::new(&b, k, n),
            0.0,
            1.0,
            Threads(threads),
        );
    }
    flops * reps as f64 / start.elapsed().as_secs_f64() / 1e9
}

fn main() {
    let steps: usize = std::env::var("BENCH_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let (train_set, test_set) = data();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.to_string())
        })
        .unwrap_or_default();
    println!(
        "{cpu}; {} logical cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("| model | threads | s/step (ms) | s/epoch | GFLOP/s in the step |");
    println!("|---|---|---|---|---|");
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        for alg in [Algorithm::BurstCcn, Algorithm::Backprop] {
            let mut spec = ModelSpec::burstccn(vec![784, 500, 500, 500, 10]);
            spec.algorithm = alg;
            let b = 32;
            let flops = step_flops(&spec, b);
            let mut net = Network::new(spec, 1, threads).unwrap();
            let (t_step, t_test) = pool.install(|| {
                let run = |net: &mut Network, n: usize| {
                    for i in 0..n {
                        let j = (i * b) % (train_set.len() - b);
                        let x = &train_set.images[j * PIXELS..(j + b) * PIXELS];
                        let t = one_hot(&train_set.labels[j..j + b]);
                        net.train_step(x, Some(&t), b, false);
                    }
                };
                run(&mut net, 20);
                let start = Instant::now();
                run(&mut net, steps);
                let t_step = start.elapsed().as_secs_f64() / steps as f64;
                let start = Instant::now();
                train::evaluate(&mut net, &test_set, 1000);
                (t_step, start.elapsed().as_secs_f64())
            });
            println!(
                "| {alg:?} | {threads} | {:.2} | {:.1} | {:.1} |",
                1e3 * t_step,
                t_step * 1875.0 + t_test,
                flops / t_step / 1e9
            );
        }
    }
    println!("\nsgemm throughput (GFLOP/s), gemm crate:");
    println!("| shape m×k·k×n | 1 thread | 2 threads |");
    println!("|---|---|---|");
    for (m, k, n) in [
        (32, 784, 500),
        (32, 500, 500),
        (500, 32, 784),
        (1024, 1024, 1024),
    ] {
        let g1 = gemm_gflops(m, k, n, 1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let g2 = pool.install(|| gemm_gflops(m, k, n, 2));
        println!("| {m}×{k}·{k}×{n} | {g1:.1} | {g2:.1} |");
    }
}
