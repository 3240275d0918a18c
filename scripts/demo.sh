#!/usr/bin/env bash
# The main job, end to end: the random and the scripted policy on every env, with their returns;
# a Pendulum dataset collected from the scripted policy with heavy Gaussian noise, described by
# `stitch dataset info`; IQL trained on it, and its checkpoint evaluated. (A report stage will
# follow with the tracking work.)
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
for env in hopper-v4 walker2d-v4 halfcheetah-v4 ant-v4; do
  echo
  echo "== $env, random policy (MuJoCo) =="
  "$stitch" --log-level warn env run --env "$env" --policy random --episodes 10 --seed 0 | tail -n 1
done
echo
echo "== a dataset: pendulum-v1, scripted policy with Gaussian noise =="
mkdir -p data
"$stitch" --log-level warn collect --env pendulum-v1 --policy scripted --noise gaussian:1.5 \
  --transitions 20000 --seed 0 --out data/pendulum-scripted-noisy.hdf5 --force
"$stitch" dataset info data/pendulum-scripted-noisy.hdf5 --ref-min -1197.3 --ref-max -157.5
echo
echo "== IQL on that dataset (3000 gradient steps) =="
rm -rf runs/demo-iql
"$stitch" train --algo iql --dataset data/pendulum-scripted-noisy.hdf5 --env pendulum-v1 \
  --steps 3000 --seed 0 --set eval_every=1000 --set log_every=1000 --run-dir runs/demo-iql
echo
echo "== evaluate the trained checkpoint =="
"$stitch" --log-level warn eval --checkpoint runs/demo-iql/checkpoints/latest.pt --env pendulum-v1 --episodes 10 | tail -n 1
