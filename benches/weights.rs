//! Time to write one weight snapshot (`weights.h5`, src/recording/edges.rs): every plastic
//! synapse's weight read from the network and written as one dataset per projection, then the
//! file flushed. A run writes one at the start, one after each interim test and one at the end,
//! never in the step loop. Run: `cargo bench --bench weights`.

use burstccn::config;
use burstccn::engine::network::Network;
use burstccn::recording::edges::{epoch_snapshot, WeightFile};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::path::Path;
use std::time::Duration;

fn snapshots(c: &mut Criterion) {
    let mut group = c.benchmark_group("weights/snapshot");
    // Every iteration adds a dataset (1.2 MB for 300 k synapses) to the temporary file, so the
    // measurement is kept short: a few hundred snapshots.
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(3));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for file in [
        "experiments/xor_burstccn_single_phase.toml",
        "experiments/xor_cortical.toml",
    ] {
        let exp = config::load(&root.join(file), &[]).expect("a shipped experiment");
        let net = Network::build(&exp.network);
        let synapses: usize = (0..net.projections.len())
            .filter_map(|k| net.plastic_synapses(k))
            .map(|s| s.count())
            .sum();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut weights = WeightFile::create(&dir.path().join("weights.h5"), &net)
            .expect("a weight file")
            .expect("plastic projections");
        group.throughput(Throughput::Elements(synapses as u64));
        // Each snapshot is a new dataset, as the interim tests' are.
        let mut n = 0u64;
        group.bench_function(exp.name.as_str(), |b| {
            b.iter(|| {
                n += 1;
                weights
                    .snapshot(&net, &epoch_snapshot(n))
                    .expect("a snapshot");
            })
        });
        weights.close(&net).expect("a closed file");
    }
    group.finish();
}

criterion_group!(benches, snapshots);
criterion_main!(benches);
