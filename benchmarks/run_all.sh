#!/usr/bin/env bash
# Every accuracy page of docs/, each phantom with the networks that never saw it (leave one
# phantom out; training/lopo.sh makes them), on reporting seeds never used while developing.
# About 20 minutes on 2 cores. Each line is the one command of its page.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
$PY benchmarks/harness.py --phantom sim --n 200 --seed 20261128 \
  --model training/models/without_sim --out docs/benchmark_sim.md --quiet
$PY benchmarks/harness.py --phantom phantom2 --n 200 --seed 100000 \
  --model training/models/without_phantom2 --out docs/benchmark_phantom2.md --quiet
$PY benchmarks/harness.py --phantom phantom3 --n 200 --seed 100000 \
  --model training/models/without_phantom3 --out docs/benchmark_phantom3.md --quiet
