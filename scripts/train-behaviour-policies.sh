#!/bin/bash
# Trains (or resumes) the SAC runs whose snapshots become the benchmark suite's behaviour
# policies (issue: "Online agents and the stitch benchmark suite"). Long: about 65 env steps/s
# for SAC 2x256 on one core of the 2-core dev machine, so ~4.5 hours per 1M-step task. Kill it
# at any time; rerun to resume every run from its last checkpoint.
#   scripts/train-behaviour-policies.sh [RUNS_DIR] [ENV...]
# STEPS (default 1000000) sets the env steps per task, EVERY (default 25000) the interval of
# evaluations, checkpoints and policy snapshots.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs/suite}
shift || true
envs=("$@")
steps=${STEPS:-1000000}
every=${EVERY:-25000}
[ ${#envs[@]} -gt 0 ] || envs=(hopper-v4 halfcheetah-v4 walker2d-v4)
mkdir -p "$runs"
# A private copy of the binary, so that rebuilding the tree does not disturb a running job.
cp build/stitch "$runs/stitch.bin"
for env in "${envs[@]}"; do
  dir="$runs/sac-$env"
  if [ -f "$dir/checkpoints/latest.pt" ]; then
    nice -n 10 "$runs/stitch.bin" --threads 1 train --run-dir "$dir" --resume || true
  else
    nice -n 10 "$runs/stitch.bin" --threads 1 train --algo sac --env "$env" --online --steps "$steps" \
      --seed 0 --run-dir "$dir" --set learning_starts=5000 --set eval_every="$every" --set eval_episodes=10 \
      --set checkpoint_every="$every" --set snapshot_every="$every" --set log_every=5000 || true
  fi
done
