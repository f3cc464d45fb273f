#!/usr/bin/env bash
# The demo: builds burstccn and runs experiments/demo.toml into output/demo.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/deps.sh
cargo run --release --quiet -- run experiments/demo.toml --force "$@"
