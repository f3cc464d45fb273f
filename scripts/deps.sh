#!/usr/bin/env bash
# Installs the system packages burstccn needs, only when they are missing:
# the HDF5 C library (hdf5-metno builds against Debian's libhdf5 1.10) with pkg-config, and
# Python's venv for the libsonata check of the test suite.
set -euo pipefail
need=()
if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists hdf5; then
  need+=(libhdf5-dev pkg-config)
fi
if [ "${1:-}" = "--python" ] && ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  need+=(python3 python3-venv)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "installing system packages: ${need[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: run as root, or install them yourself: apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
