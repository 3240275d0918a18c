#!/usr/bin/env bash
# The main job, end to end. For now: the random and the scripted policy on every classic-control
# env, with their returns. Later issues extend it to build a dataset, train, evaluate, report.
set -euo pipefail
build=${1:-build}
stitch="$build/stitch"
"$stitch" version
"$stitch" env list
for env in pendulum-v1 mountaincarcontinuous-v0 cartpole-v1 acrobot-v1; do
  for policy in random scripted; do
    echo
    echo "== $env, $policy policy =="
    "$stitch" --log-level warn env run --env "$env" --policy "$policy" --episodes 10 --seed 0 | tail -n 1
  done
done
