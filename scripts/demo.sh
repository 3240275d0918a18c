#!/usr/bin/env bash
# The main job, end to end: the random and the scripted policy on every env, with their returns;
# a Pendulum dataset collected from the scripted policy with heavy Gaussian noise, described by
# `stitch dataset info`; IQL and TD3+BC trained on it over three seeds each, a checkpoint
# evaluated, and a report of the six runs (index.html with learning curves, aggregate scores with
# bootstrap confidence intervals and performance profiles).
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
echo "== IQL and TD3+BC on that dataset (3000 gradient steps, seeds 0-2) =="
rm -rf runs/demo
for algo in iql td3_bc; do
  for seed in 0 1 2; do
    echo "-- $algo, seed $seed"
    "$stitch" train --algo $algo --dataset data/pendulum-scripted-noisy.hdf5 --env pendulum-v1 \
      --steps 3000 --seed $seed --set eval_every=500 --set log_every=1000 --run-dir runs/demo/$algo-s$seed
  done
done
echo
echo "== evaluate a trained checkpoint =="
"$stitch" --log-level warn eval --checkpoint runs/demo/iql-s0/checkpoints/latest.pt --env pendulum-v1 --episodes 10 | tail -n 1
echo
echo "== the runs, and a report over seeds =="
"$stitch" runs list runs/demo
"$stitch" report runs/demo --out report/demo --title "stitch demo: IQL and TD3+BC on noisy Pendulum data"
echo
echo "Open report/demo/index.html in a browser (TensorBoard: tensorboard --logdir runs/demo)."
