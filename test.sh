#!/usr/bin/env bash
# The test suite: the field's own reader (libsonata) on a spike file and a weight file the
# simulator wrote, then unit and integration tests in release mode.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/deps.sh --python
# HDF5 1.10 locks files; tests that run the binary in parallel read files a child has just
# closed, and a stale lock would fail them spuriously.
export HDF5_USE_FILE_LOCKING=FALSE
cargo build --release --locked 2>/dev/null || cargo build --release
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
./target/release/burstccn run experiments/demo.toml --set duration_s=0.5 --out "$tmp/run" --quiet
# One epoch of the quick BurstCCN XOR: its weights.h5 holds every plastic synapse.
./target/release/burstccn learn experiments/xor_burstccn_single_phase.toml --quick \
  --set protocol.epochs=1 --out "$tmp/learn" --quiet
bash .ci/check_sonata.sh "$tmp/run/spikes.h5" "$tmp/learn/weights.h5"
cargo test --release
