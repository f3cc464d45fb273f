#!/usr/bin/env bash
# Checks that a spike file written by burstccn is read by libsonata (the reference SONATA
# reader) and h5py with the same content.
#
# Usage: .ci/check_sonata.sh [SPIKE_FILE]
# Without SPIKE_FILE, a sample is written first by the ignored test
# `write_sample_for_libsonata_check` (tests/sonata.rs) to target/sonata_sample.h5.
# The Python packages go to the git-ignored virtual environment .venv-ci at the repository root.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv-ci"

if [[ $# -gt 1 ]]; then
    echo "usage: $0 [SPIKE_FILE]" >&2
    exit 2
fi

if [[ $# -eq 1 ]]; then
    spike_file="$1"
else
    spike_file="$root/target/sonata_sample.h5"
    (cd "$root" && SONATA_SAMPLE="$spike_file" cargo test --release --quiet --test sonata \
        -- --ignored --exact write_sample_for_libsonata_check >/dev/null)
fi

if [[ ! -f "$spike_file" ]]; then
    echo "check_sonata: no such file: $spike_file" >&2
    exit 2
fi

if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check libsonata h5py numpy

exec "$venv/bin/python" "$root/.ci/check_sonata.py" "$spike_file"
