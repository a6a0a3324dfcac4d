#!/usr/bin/env bash
# Leave-one-phantom-out networks and focus verifiers, then the shipped ones, by one command:
#
#   bash training/lopo.sh [OUT]        (OUT: training/models by default)
#
# For each phantom P of sim, phantom2, phantom3, OUT/without_P/ holds a network and a verifier
# that never saw P: the benchmarks report P with it (benchmarks/harness.py --model
# OUT/without_P). The simulator's base network (training/base/lesion_net_v3.onnx) was trained
# on the simulator alone, so the phantom-held-out networks are fine-tuned from it, and the
# simulator-held-out one is trained from scratch on the two phantoms. The shipped network is
# fine-tuned from the base on all three and written to src/mibgscore/lesions/models/.
# About an hour on 2 cores (the studies are cached in training/cache).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-training/models}
PY=.venv/bin/python
BASE=training/base/lesion_net_v3.onnx
SIM=800          # simulated studies in each fine-tuning
PHANTOM=600      # studies of each phantom
STEPS=600        # fine-tuning steps
VERIFY_N=150     # studies per phantom for fitting a verifier

bundle() {  # bundle DIR NETWORK-ARGS... : network, then a verifier on its own candidates
  local dir=$1; shift
  local phantoms=$1; shift
  mkdir -p "$dir"
  $PY training/lesion_net.py "$@" --out "$dir/lesion_net.onnx"
  # shellcheck disable=SC2086
  $PY training/focus_verifier.py --network "$dir" --phantoms $phantoms --n "$VERIFY_N" \
    --out "$dir/focus_verifier.json"
}

bundle "$OUT/without_phantom2" "sim phantom3" --cases $SIM --phantom phantom3=$PHANTOM \
  --init $BASE --steps $STEPS --model-version 4-without-phantom2
bundle "$OUT/without_phantom3" "sim phantom2" --cases $SIM --phantom phantom2=$PHANTOM \
  --init $BASE --steps $STEPS --model-version 4-without-phantom3
bundle "$OUT/without_sim" "phantom2 phantom3" --cases 0 --phantom phantom2=$PHANTOM \
  --phantom phantom3=$PHANTOM --steps 1500 --model-version 4-without-sim
bundle "$OUT/shipped" "sim phantom2 phantom3" --cases $SIM --phantom phantom2=$PHANTOM \
  --phantom phantom3=$PHANTOM --init $BASE --steps $STEPS --model-version 4
cp "$OUT/shipped/lesion_net.onnx" "$OUT/shipped/lesion_net.json" \
  "$OUT/shipped/focus_verifier.json" src/mibgscore/lesions/models/
