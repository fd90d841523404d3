#!/usr/bin/env bash
# Benchmark (not a test): wall time of chapters run one after the other in the
# default profile, on a snapshot of HEAD with fresh data (a new sample set and
# no checkpoints, so nothing is reused). Prints minutes per chapter and in
# all; the executed notebooks are left in the snapshot, whose path is printed.
# The target of chapters 5-7 together is at most 45 minutes on 2 cores.
#   bash bench/chapter_time.sh 05 06 07
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
python="$src/.venv/bin/python"
[ -x "$python" ] || { echo "run 'make setup' first ($python is missing)"; exit 1; }
[ $# -gt 0 ] || { echo "usage: bash bench/chapter_time.sh 05 06 07"; exit 1; }
dir=$(mktemp -d)
head=$(git -C "$src" rev-parse --short HEAD)   # the snapshot that runs
git -C "$src" archive "$head" | tar -x -C "$dir"
cd "$dir"
total=0
for n in "$@"; do
  nb=$(ls notebooks/"$n"_*.ipynb)
  t0=$(date +%s)
  PYTHONPATH="$dir" D2LFCN_DATA="$dir/data" "$python" -m jupyter nbconvert \
    --to notebook --execute --inplace --ExecutePreprocessor.timeout=7200 \
    "$nb" > "$dir/log_$n" 2>&1 || { tail -20 "$dir/log_$n"; exit 1; }
  s=$(( $(date +%s) - t0 ))
  total=$(( total + s ))
  awk -v n="$nb" -v s="$s" 'BEGIN { printf "%s: %.1f min\n", n, s / 60 }'
done
awk -v s="$total" -v c="$(nproc)" -v h="$head" \
  -v d="$dir" 'BEGIN { printf "in all: %.1f min on %s cores (HEAD %s); notebooks in %s\n", s / 60, c, h, d }'
