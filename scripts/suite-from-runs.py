#!/usr/bin/python3
"""Turns the SAC runs of scripts/train-behaviour-policies.sh into the suite's behaviour policies.

    scripts/suite-from-runs.py RUNS_DIR ENV [ENV...]

For each env (run RUNS_DIR/sac-ENV):
  expert  = the best policy of the second half of training by its evaluation return (eval.jsonl,
            10 episodes; the final one when it is the best): with the short runs that fit these
            machines SAC's returns still swing between evaluations, and D4RL's expert was a fully
            trained policy;
  medium  = the earlier snapshot whose evaluation return is nearest a third of the expert's
            normalised return (D4RL, Fu et al. 2020: "medium" = a policy trained to about a
            third of the expert's performance);
  medium-replay = random, then every snapshot up to the medium one, in training order.
It exports each of them with `stitch export` into suite/policies/ENV/step-N.policy, measures the
expert's mean return over 100 episodes (seeds 1000000..; `stitch eval`), and writes the policies'
sha256, the five datasets and the reference returns into suite/manifest.json and
suite/references.json. Run from the repository root after `make build`.
"""
import hashlib
import json
import os
import re
import subprocess
import sys

STITCH = "build/stitch"
# Action noise of the expert's and medium's rollouts (D4RL sampled its SAC policies; ours are
# exported deterministic): std as a fraction of half the action range. Hopper and Walker2d fall
# easily: with 0.1 the Hopper expert kept 45% of its deterministic return, with 0.05 73%, with
# 0.02 93% (30,000 transitions each, seed 3), so they get 0.02; HalfCheetah cannot fall.
NOISE = {"hopper-v4": "gaussian:0.02", "walker2d-v4": "gaussian:0.02", "halfcheetah-v4": "gaussian:0.1"}


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def run(*args):
    return subprocess.run([STITCH, "--log-level", "warn", *args], check=True, capture_output=True, text=True).stdout


def main(runs_dir, envs):
    manifest = json.load(open("suite/manifest.json"))
    refs = json.load(open("suite/references.json"))
    datasets = [d for d in manifest["datasets"] if d["env"] not in envs]
    for env in envs:
        run_dir = os.path.join(runs_dir, f"sac-{env}")
        config = json.load(open(os.path.join(run_dir, "config.json")))
        evals = [json.loads(l) for l in open(os.path.join(run_dir, "eval.jsonl")) if l.strip()]
        snapshots = sorted(int(m.group(1)) for f in os.listdir(os.path.join(run_dir, "snapshots"))
                           if (m := re.fullmatch(r"step-(\d+)\.pt", f)))
        # A run may be stopped early (killed between snapshots): what counts is what it reached.
        steps = snapshots[-1]
        by_step = {e["step"]: e["mean"] for e in evals}
        random_ret = refs[env]["random"]
        checkpoint = lambda step: os.path.join(run_dir, "snapshots", f"step-{step}.pt")
        late = [s for s in snapshots if s >= steps // 2 and s in by_step]
        expert = max(late, key=lambda s: (by_step[s], s))
        # The expert's reference: 100 episodes of its deterministic policy.
        out = run("eval", "--checkpoint", checkpoint(expert), "--env", env, "--episodes", "100", "--seed", "1000000")
        expert_ret = float(re.search(r"mean return (-?[\d.]+)", out).group(1))
        target = random_ret + (by_step[expert] - random_ret) / 3.0
        candidates = [s for s in snapshots if s < expert and s in by_step]
        medium = min(candidates, key=lambda s: abs(by_step[s] - target))
        print(f"{env}: expert = step {expert}: {expert_ret:.1f} over 100 episodes ({by_step[expert]:.1f} over 10); "
              f"medium = step {medium} ({by_step[medium]:.1f}, target {target:.1f})")
        os.makedirs(f"suite/policies/{env}", exist_ok=True)

        def export(step):
            rel = f"policies/{env}/step-{step}.policy"
            run("export", "--checkpoint", checkpoint(step), "--out", os.path.join("suite", rel))
            manifest["policies"][rel] = sha256(os.path.join("suite", rel))
            return rel

        expert_p, medium_p = export(expert), export(medium)
        noise = NOISE[env]
        replay = [{"policy": "random"}] + [{"policy": export(s), "noise": noise} for s in snapshots if s <= medium]
        datasets += [
            {"name": f"{env}-random", "env": env, "recipe": "rollout", "policy": "random", "seed": 1},
            {"name": f"{env}-medium", "env": env, "recipe": "rollout", "policy": medium_p, "noise": noise, "seed": 2},
            {"name": f"{env}-expert", "env": env, "recipe": "rollout", "policy": expert_p, "noise": noise, "seed": 3},
            {"name": f"{env}-medium-replay", "env": env, "recipe": "mixture", "seed": 4, "policies": replay},
            {"name": f"{env}-medium-expert", "env": env, "recipe": "concat",
             "parts": [f"{env}-medium", f"{env}-expert"]},
        ]
        refs[env] = {"random": random_ret, "expert": round(expert_ret, 3), "expert_policy": expert_p,
                     "training": {"algo": "sac", "env_steps": steps, "planned_steps": config["steps"], "seed": config["seed"],
                                  "expert_step": expert, "medium_step": medium}}
    manifest["datasets"] = datasets
    for path, doc in (("suite/manifest.json", manifest), ("suite/references.json", refs)):
        with open(path + ".tmp", "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
