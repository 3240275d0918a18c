#!/usr/bin/python3
"""CORL's own CQL update on a suite dataset, train-only, for a side-by-side with `stitch train
--algo cql` (docs/results.md, "CQL beside CORL's code").

CORL's algorithms/offline/cql.py is imported unmodified from a CORL checkout (--corl); the
modules it imports but a train-only run never uses (d4rl, gym, wandb, pyrallis) are replaced by
empty stand-ins. The trainer is built in the order of cql.py's train() (so the random draws
follow it): transitions as D4RL's qlearning_dataset gives them, reward normalisation when the
config asks, state normalisation, the replay buffer, set_seed, the two critics, the actor,
ContinuousCQL. Each --log-every steps a CSV row holds train()'s statistics and the mean of
min(Q1, Q2) on the batch's data actions.

  git clone https://github.com/corl-team/CORL   (read at eeeeef2)
  /usr/bin/python3 bench/reference/corl_cql.py --corl CORL --data data/hopper-v4-medium.hdf5 \
      --config CORL/configs/offline/cql/hopper/medium_v2.yaml --steps 3000 --out corl.csv
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one thread, as the stitch run beside it

import argparse
import csv
import sys
import time
import types

import h5py
import numpy as np
import torch
import yaml


def stand_ins():
    """Empty modules for what cql.py imports but a train-only run does not call."""
    pyrallis = types.ModuleType("pyrallis")
    pyrallis.wrap = lambda *a, **k: (lambda fn: fn)
    pyrallis.dump = lambda *a, **k: None
    wandb = types.ModuleType("wandb")
    wandb.init = wandb.log = lambda *a, **k: None
    wandb.run = types.SimpleNamespace(save=lambda *a, **k: None)
    gym = types.ModuleType("gym")
    gym.Env = object
    gym.wrappers = types.SimpleNamespace()
    d4rl = types.ModuleType("d4rl")
    for m in (pyrallis, wandb, gym, d4rl):
        sys.modules[m.__name__] = m


def transitions(path):
    """D4RL's qlearning_dataset semantics on a D4RL-layout file: the next observation is the next
    row's, a row that ends in a time-out is dropped (its successor starts another episode), and
    so is the last row."""
    with h5py.File(path, "r") as f:
        obs = f["observations"][()].astype(np.float32)
        act = f["actions"][()].astype(np.float32)
        rew = f["rewards"][()].astype(np.float32)
        term = f["terminals"][()].astype(bool)
        timeout = f["timeouts"][()].astype(bool)
    keep = np.flatnonzero(~timeout[:-1])
    return {"observations": obs[keep], "actions": act[keep], "next_observations": obs[keep + 1],
            "rewards": rew[keep], "terminals": term[keep]}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--corl", required=True, help="a CORL checkout")
    p.add_argument("--data", required=True)
    p.add_argument("--config", required=True, help="CORL's yaml for the dataset")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--log-every", type=int, default=250)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    torch.set_num_threads(1)
    stand_ins()
    sys.path.insert(0, os.path.join(args.corl, "algorithms", "offline"))
    import cql as corl  # CORL's, unmodified

    config = corl.TrainConfig()
    with open(args.config) as f:
        for key, value in yaml.safe_load(f).items():
            setattr(config, key, value)
    config.device = "cpu"
    if args.seed is not None:
        config.seed = args.seed

    data = transitions(args.data)
    if config.normalize_reward:
        corl.modify_reward(data, config.env, reward_scale=config.reward_scale,
                           reward_bias=config.reward_bias)
    mean, std = (corl.compute_mean_std(data["observations"], eps=1e-3) if config.normalize
                 else (0, 1))
    for key in ("observations", "next_observations"):
        data[key] = corl.normalize_states(data[key], mean, std)
    obs_dim, act_dim = data["observations"].shape[1], data["actions"].shape[1]
    buffer = corl.ReplayBuffer(obs_dim, act_dim, len(data["rewards"]), config.device)
    buffer.load_d4rl_dataset(data)

    corl.set_seed(config.seed, None)
    critic_1 = corl.FullyConnectedQFunction(obs_dim, act_dim, config.orthogonal_init,
                                            config.q_n_hidden_layers)
    critic_2 = corl.FullyConnectedQFunction(obs_dim, act_dim, config.orthogonal_init)
    critic_1_optimizer = torch.optim.Adam(list(critic_1.parameters()), config.qf_lr)
    critic_2_optimizer = torch.optim.Adam(list(critic_2.parameters()), config.qf_lr)
    actor = corl.TanhGaussianPolicy(obs_dim, act_dim, 1.0,
                                    log_std_multiplier=config.policy_log_std_multiplier,
                                    orthogonal_init=config.orthogonal_init)
    actor_optimizer = torch.optim.Adam(actor.parameters(), config.policy_lr)
    trainer = corl.ContinuousCQL(
        critic_1=critic_1, critic_2=critic_2, critic_1_optimizer=critic_1_optimizer,
        critic_2_optimizer=critic_2_optimizer, actor=actor, actor_optimizer=actor_optimizer,
        discount=config.discount, soft_target_update_rate=config.soft_target_update_rate,
        device=config.device, target_entropy=-float(act_dim),
        alpha_multiplier=config.alpha_multiplier,
        use_automatic_entropy_tuning=config.use_automatic_entropy_tuning,
        backup_entropy=config.backup_entropy, policy_lr=config.policy_lr, qf_lr=config.qf_lr,
        bc_steps=config.bc_steps, target_update_period=config.target_update_period,
        cql_n_actions=config.cql_n_actions, cql_importance_sample=config.cql_importance_sample,
        cql_lagrange=config.cql_lagrange, cql_target_action_gap=config.cql_target_action_gap,
        cql_temp=config.cql_temp, cql_alpha=config.cql_alpha,
        cql_max_target_backup=config.cql_max_target_backup,
        cql_clip_diff_min=config.cql_clip_diff_min, cql_clip_diff_max=config.cql_clip_diff_max)

    with open(args.out, "w", newline="") as out:
        writer = None
        start = time.perf_counter()
        for t in range(1, args.steps + 1):
            batch = buffer.sample(config.batch_size)
            if t % args.log_every == 0:
                with torch.no_grad():  # no random draw: the run is unchanged
                    min_q = torch.min(trainer.critic_1(batch[0], batch[1]),
                                      trainer.critic_2(batch[0], batch[1])).mean().item()
            stats = trainer.train(batch)
            if t % args.log_every == 0:
                row = {"step": t, **stats, "average_min_q_data": min_q}
                if writer is None:
                    writer = csv.DictWriter(out, fieldnames=list(row))
                    writer.writeheader()
                writer.writerow(row)
                out.flush()
        print(f"{args.steps} steps in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
