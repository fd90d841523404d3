#!/usr/bin/env bash
# Benchmark (not a test): wall time of the README's set-up and test command on a
# fresh clone of this repository. Prints the figures; the target is that
# `make test` takes at most 5 minutes on 2 cores once installed.
#   bash bench/setup_and_test_time.sh
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
git clone -q "$src" "$dir/d2l-fcn"
cd "$dir/d2l-fcn"
t0=$(date +%s)
make -s setup > setup.log 2>&1 || { tail -20 setup.log; exit 1; }
t1=$(date +%s)
make -s test > test.log 2>&1 || { tail -40 test.log; exit 1; }
t2=$(date +%s)
echo "fresh clone of $(git -C "$src" rev-parse --short HEAD), $(nproc) cores"
echo "set-up (venv + pinned install): $((t1 - t0)) s"
echo "make test once installed:       $((t2 - t1)) s"
tail -1 test.log
