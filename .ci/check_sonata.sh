#!/usr/bin/env bash
# Checks that SONATA files written by burstccn (spikes.h5, weights.h5) are read by libsonata
# (the reference SONATA reader) and h5py with the same content.
#
# Usage: .ci/check_sonata.sh [FILE...]
# Without FILE, a sample is written first by the ignored test
# `write_sample_for_libsonata_check` (tests/sonata.rs) to target/sonata_sample.h5.
# The Python packages go to the git-ignored virtual environment .venv-ci at the repository root.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv-ci"

if [[ $# -ge 1 ]]; then
    files=("$@")
else
    files=("$root/target/sonata_sample.h5")
    (cd "$root" && SONATA_SAMPLE="${files[0]}" cargo test --release --quiet --test sonata \
        -- --ignored --exact write_sample_for_libsonata_check >/dev/null)
fi

for f in "${files[@]}"; do
    if [[ ! -f "$f" ]]; then
        echo "check_sonata: no such file: $f" >&2
        exit 2
    fi
done

if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check libsonata h5py numpy

exec "$venv/bin/python" "$root/.ci/check_sonata.py" "${files[@]}"
