#!/usr/bin/env bash
# The token-policy study of docs/lm.md ("Results over seeds"): per seed a partial SFT start, then
# GRPO, RLOO, PPO and online DPO from it, one-example GRPO (train_prompts=1) and SFT continued for
# as many steps, and `stitch report` over all of them (held-out accuracy with 95% bootstrap
# intervals over the seeds). Every run is one thread; runs that finished are skipped, so a
# killed study continues where it stopped.
#   scripts/lm-study.sh [BUILD_DIR] [OUT_DIR] [TASK] [DIFFICULTY] [SFT_STEPS] [RL_STEPS]
set -euo pipefail
build=${1:-build}
out=${2:-runs/lm-study}
task=${3:-addition}
difficulty=${4:-3}
sft_steps=${5:-800}
rl_steps=${6:-100}
stitch="$build/stitch"
mkdir -p "$out"

# Runs one command unless its run directory already says it finished; a killed run resumes.
run() {
  local dir=$1
  shift
  if [[ -f $dir/meta.json ]] && grep -q '"status": *"finished"' "$dir/meta.json"; then return; fi
  if [[ -f $dir/checkpoints/latest.pt ]]; then
    "$stitch" --threads 1 --log-level warn lm "$2" --resume --run-dir "$dir"
  else
    "$stitch" --threads 1 --log-level warn "$@" --run-dir "$dir"
  fi
}

for seed in 0 1 2; do
  sft=$out/sft-$seed
  run "$sft" lm sft --task "$task" --difficulty "$difficulty" --steps "$sft_steps" --seed "$seed" \
    --set eval_every=0
  for method in grpo rloo ppo dpo; do
    extra=()
    [[ $method == dpo ]] && extra=(--set beta=0.1)  # DPO's own beta
    run "$out/$method-$seed" lm rl --method "$method" --from "$sft" --steps "$rl_steps" \
      --seed "$seed" --set eval_every=25 "${extra[@]}"
  done
  run "$out/grpo1-$seed" lm rl --method grpo --from "$sft" --steps "$rl_steps" --seed "$seed" \
    --set eval_every=25 --set train_prompts=1
  # SFT continued for the RL steps: the same run for sft_steps + rl_steps
  run "$out/sft-more-$seed" lm sft --task "$task" --difficulty "$difficulty" \
    --steps $((sft_steps + rl_steps)) --seed "$seed" --set eval_every=0
done
"$stitch" --log-level warn report "$out" --out "$out/report" --title "stitch lm: $task, difficulty $difficulty"
cat "$out/report/summary.md"
