#!/usr/bin/env bash
# Regenerates the fuzz targets' seed corpora (tests/fuzz/corpus/<reader>/) with the built stitch
# binary: every seed is a file stitch itself wrote or reads (a tiny run's checkpoint and run
# files, its exported policy, collected datasets in both layouts, the suite's JSON files), plus
# a hand-written CSV. The whole corpus stays well under 1 MB.
#   tests/fuzz/make_corpus.sh [STITCH_BINARY]     (default build/stitch)
# Inputs whose first byte selects a file (run_dir, minari; see fuzz_entries.h) get that byte
# prepended. corpus/d4rl/ also keeps two older files written by an earlier stitch, and
# corpus/sweep_grid/ holds hand-written grids (offline, online, and a 'configs' key).
# corpus/sequence_log/ holds hand-written and `stitch lm log` lines.
set -euo pipefail
cd "$(dirname "$0")/../.."
stitch=$(realpath "${1:-build/stitch}")
corpus=$PWD/tests/fuzz/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

run() { "$stitch" --log-level warn "$@" >/dev/null; }
# put READER NAME FILE [ROLE_BYTE]: copies FILE to corpus/READER/NAME, after the role byte if any.
put() {
  mkdir -p "$corpus/$1"
  if [ $# -ge 4 ]; then
    { printf "\\x$4"; cat "$3"; } >"$corpus/$1/$2"
  else
    cp "$3" "$corpus/$1/$2"
  fi
}

cd "$work"
# Datasets.
run collect --env pendulum-v1 --policy random --transitions 40 --seed 1 --out pendulum_40.hdf5
run collect --env cartpole-v1 --policy random --transitions 20 --seed 1 --out cartpole_20.hdf5
run collect --env pendulum-v1 --policy random --transitions 30 --seed 2 --layout minari \
  --out pendulum_minari
run collect --env mountaincarcontinuous-v0 --policy random --transitions 20 --seed 3 \
  --layout minari --out car_minari
put d4rl pendulum_40.hdf5 pendulum_40.hdf5
put d4rl cartpole_20.hdf5 cartpole_20.hdf5
put minari pendulum_main_data.hdf5 pendulum_minari/data/main_data.hdf5 00
put minari pendulum_metadata.json pendulum_minari/data/metadata.json 01
put minari car_main_data.hdf5 car_minari/data/main_data.hdf5 00
put minari car_metadata.json car_minari/data/metadata.json 01

# Tiny minibatch runs (hidden width 8): checkpoints, run files, configs, exported policies.
tiny=(--set steps=20 --set eval_every=0 --set eval_episodes=1 --set checkpoint_every=20
  --set log_every=10)
run train --algo bc --dataset pendulum_40.hdf5 --env pendulum-v1 --set bc.hidden=8 "${tiny[@]}" \
  --run-dir run_bc
run train --algo iql --dataset pendulum_40.hdf5 --env pendulum-v1 --set iql.hidden=8 "${tiny[@]}" \
  --set batch_size=16 --set reward_scaling=none --run-dir run_iql
run export --checkpoint run_bc/checkpoints/latest.pt --out bc.policy
run export --checkpoint run_iql/checkpoints/latest.pt --out iql.policy
put checkpoint bc_hidden8.pt run_bc/checkpoints/latest.pt
put checkpoint iql_hidden8.pt run_iql/checkpoints/latest.pt
put policy bc_hidden8.policy bc.policy
put policy iql_hidden8.policy iql.policy
put train_config bc_config.json run_bc/config.json
put train_config iql_config.json run_iql/config.json
printf '%s\n' algo=bc bc.hidden=8 steps=20 eval_every=0 eval_episodes=1 checkpoint_every=20 \
  log_every=10 >set_bc.txt
printf '%s\n' algo=iql iql.hidden=8 iql.expectile=0.8 batch_size=16 normalize_observations=true \
  >set_iql.txt
put set_override bc.txt set_bc.txt
put set_override iql.txt set_iql.txt
i=0
for f in config.json meta.json eval.jsonl metrics.jsonl; do
  put run_dir "bc_$f" "run_bc/$f" "0$i"
  i=$((i + 1))
done

# Streaming agents (hidden width 4): their CBOR checkpoints and configs.
stream=(--online --set steps=300 --set eval_every=0 --set eval_episodes=1
  --set checkpoint_every=100 --set log_every=100)
run train --algo stream-q --env cartpole-v1 --set stream-q.hidden=4 "${stream[@]}" --run-dir run_q
run train --algo stream-ac --env pendulum-v1 --set stream-ac.hidden=4 "${stream[@]}" \
  --run-dir run_ac
put stream_checkpoint stream_q_cartpole.cbor run_q/checkpoints/latest.cbor
put stream_checkpoint stream_ac_pendulum.cbor run_ac/checkpoints/latest.cbor
put train_config stream_q_config.json run_q/config.json
put run_dir stream_q_meta.json run_q/meta.json 01

# A tiny model run (2 members of 4x4): its checkpoint; and a model evaluation of a model fitted
# on 1,000 Pendulum transitions (5 episodes, one kept out), 3 horizons.
run model train --dataset pendulum_40.hdf5 --env pendulum-v1 --run-dir model_tiny \
  --set model.members=2 --set model.elites=1 --set model.hidden=4 --set model.max_epochs=2
put model_checkpoint model_tiny.pt model_tiny/checkpoints/model.pt
run collect --env pendulum-v1 --policy random --transitions 1000 --seed 4 --out pendulum_1000.hdf5
run model train --dataset pendulum_1000.hdf5 --env pendulum-v1 --run-dir model_small \
  --set model.members=2 --set model.elites=1 --set model.hidden=8 --set model.max_epochs=3
run model eval --run-dir model_small --horizon 3
put model_eval model_eval.json model_small/model_eval.json

# CSV import: the first line is the column spec (one line of JSON), the rest the CSV.
cat >import.txt <<'EOF'
{"observations": ["x", "v"], "actions": ["u"], "reward": "r", "terminal": "done", "timeout": "cut", "episode": "ep", "next_observations": ["nx", "nv"], "cost": "c", "metadata": {"env_id": "pendulum-v1"}}
ep,x,v,u,r,done,cut,nx,nv,c
0,0.1,-0.2,0.5,-1.25,0,0,0.12,-0.1,0
0,0.12,-0.1,-0.3,-1.0,1,0,0.2,0.0,0.5
1,"0.5",0.25,1.5,-0.5,false,true,0.55,0.3,0
2,-0.4,1e-3,-2,-3.5,0,0,-0.41,0.002,1
EOF
put csv pendulum_spec_and_log.txt import.txt

# The suite's JSON files as shipped.
put suite_manifest manifest.json "$OLDPWD/suite/manifest.json"
put suite_references references.json "$OLDPWD/suite/references.json"

du -sh "$corpus"
