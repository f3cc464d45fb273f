//! Throughput of `burstccn analyze` (issue 4: at least 20 M spikes/s on one core for the
//! classification and binning pass).
//!
//! - `pass/synthetic`: [`Accumulator::push`] over 4 M in-memory spikes of 1000 bursting neurons
//!   (about 6 Hz, 1–6 spikes per burst), in time order, 50-ms bins.
//! - `pass/simulated`: the same pass over the spikes of a 10-s calibration run that records its
//!   two 25 000-neuron Poisson pools as well (about 2.5 M spikes in three populations).
//! - `file/simulated`: [`offline::analyze`] on that run's spikes.h5: HDF5 reads, the pass and
//!   the totals, without writing the outputs.
//!
//! Each is measured twice: in wall time (`wall/...`) and in the CPU time of the benchmark thread
//! (`cpu/...`, `CLOCK_THREAD_CPUTIME_ID`). The machine is shared, and the CPU time is what one
//! core spends whatever else runs beside it.
//!
//! Run with `cargo bench --bench analyze`; the simulated run is made, in a temporary directory,
//! before the measurements of each kind.

use burstccn::analysis::bursts::IsiRule;
use burstccn::analysis::offline::{self, Accumulator, Options};
use burstccn::engine::runner::{self, RunOptions};
use burstccn::recording::sonata::SonataReader;
use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// Spikes (ms, node) of `neurons` bursting neurons until `n` spikes, sorted by time; times on
/// the 0.1-ms grid as the simulator writes them.
fn synthetic(neurons: u64, n: usize) -> (Vec<f64>, Vec<u64>) {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move |m: u64| {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D) % m
    };
    let per = n as u64 / neurons + 1;
    let mut spikes: Vec<(u64, u64)> = Vec::with_capacity(n + 16);
    for id in 0..neurons {
        let mut step = next(3000);
        let mut count = 0;
        while count < per {
            for k in 0..1 + next(6) {
                if k > 0 {
                    step += 20 + next(150);
                }
                spikes.push((step, id));
                count += 1;
            }
            step += 200 + next(4000);
        }
    }
    spikes.sort_unstable();
    spikes.truncate(n);
    spikes
        .into_iter()
        .map(|(s, id)| (s as f64 * 1e-4 * 1e3, id))
        .unzip()
}

/// One pass over a population's spikes, as `offline::analyze` does it (50-ms bins, ISI
/// histogram of 400 half-millisecond bins).
fn pass(times: &[f64], ids: &[u64], neurons: usize, end_ms: f64) -> u64 {
    let bins = (end_ms / 50.0).ceil() as usize + 1;
    let mut acc = Accumulator::new(
        IsiRule::default(),
        0.0,
        50.0,
        Some(bins),
        Some(neurons),
        0.5,
        400,
    );
    for (t, n) in times
        .chunks(offline::READ_CHUNK)
        .zip(ids.chunks(offline::READ_CHUNK))
    {
        acc.push(t, n).expect("valid spikes");
    }
    let (bins, _, _) = acc.finish();
    bins.iter().map(|b| b.bursts).sum()
}

/// Runs the calibration experiment for 10 s with its Poisson pools recorded, into `dir`.
fn simulated_run(dir: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exp = burstccn::config::load(
        &root.join("experiments/calibration.toml"),
        &[
            "duration_s=10".into(),
            r#"record.spikes=["pyr","pool_exc","pool_inh"]"#.into(),
        ],
    )
    .expect("calibration.toml loads");
    let opts = RunOptions {
        out: dir.to_owned(),
        threads: 0,
        force: true,
        progress: false,
    };
    runner::run(&exp, &opts, &AtomicBool::new(false)).expect("the calibration run completes");
}

/// CPU time of the calling thread, ns.
fn thread_cpu_ns() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64
}

/// Criterion measurement: CPU time of the benchmark thread, ns.
struct CpuTime;

impl Measurement for CpuTime {
    type Intermediate = f64;
    type Value = f64;
    fn start(&self) -> f64 {
        thread_cpu_ns()
    }
    fn end(&self, start: f64) -> f64 {
        thread_cpu_ns() - start
    }
    fn add(&self, a: &f64, b: &f64) -> f64 {
        a + b
    }
    fn zero(&self) -> f64 {
        0.0
    }
    fn to_f64(&self, v: &f64) -> f64 {
        *v
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

/// Shows CPU times in ms and throughputs in millions per CPU second.
struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, _typical: f64, values: &mut [f64]) -> &'static str {
        values.iter_mut().for_each(|v| *v /= 1e6);
        "ms (CPU)"
    }
    fn scale_throughputs(&self, _typical: f64, t: &Throughput, values: &mut [f64]) -> &'static str {
        let n = match *t {
            Throughput::Bits(n)
            | Throughput::Bytes(n)
            | Throughput::BytesDecimal(n)
            | Throughput::Elements(n) => n,
            _ => 0,
        } as f64;
        values.iter_mut().for_each(|v| *v = n * 1e3 / *v);
        "M/s (CPU)"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

fn wall(c: &mut Criterion) {
    bench(c, "wall");
}

fn cpu(c: &mut Criterion<CpuTime>) {
    bench(c, "cpu");
}

fn bench<M: Measurement>(c: &mut Criterion<M>, kind: &str) {
    let mut group = c.benchmark_group(format!("{kind}/pass"));
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(6));
    let (times, ids) = synthetic(1000, 4_000_000);
    let end = times.last().copied().unwrap_or(0.0);
    group.throughput(Throughput::Elements(times.len() as u64));
    group.bench_function("synthetic", |b| {
        b.iter(|| pass(black_box(&times), black_box(&ids), 1000, end))
    });
    drop((times, ids));

    let dir = tempfile::tempdir().expect("a temporary directory");
    simulated_run(dir.path());
    let path = dir.path().join("spikes.h5");
    let reader = SonataReader::open(&path).expect("the run's spike file");
    let pops: Vec<(Vec<f64>, Vec<u64>, usize)> = reader
        .populations()
        .iter()
        .map(|p| {
            let (t, n) = reader.read_all(&p.name).expect("readable spikes");
            let size = if p.name == "pyr" { 1000 } else { 25_000 };
            (t, n, size)
        })
        .collect();
    let total: usize = pops.iter().map(|p| p.0.len()).sum();
    group.throughput(Throughput::Elements(total as u64));
    group.bench_function("simulated", |b| {
        b.iter(|| {
            pops.iter()
                .map(|(t, n, size)| pass(black_box(t), black_box(n), *size, 10_000.0))
                .sum::<u64>()
        })
    });
    group.finish();

    let mut group = c.benchmark_group(format!("{kind}/file"));
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(total as u64));
    group.bench_function("simulated", |b| {
        b.iter(|| {
            let a = offline::analyze(black_box(&path), &Options::default()).expect("analysis");
            a.populations
                .iter()
                .map(|p| p.totals(a.window_s()).counts.bursts)
                .sum::<u64>()
        })
    });
    group.finish();
}

criterion_group!(wall_time, wall);
criterion_group! {
    name = cpu_time;
    config = Criterion::default().with_measurement(CpuTime);
    targets = cpu
}
criterion_main!(wall_time, cpu_time);
