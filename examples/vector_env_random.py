"""A random policy on a stitch vector env, timed (README "Python").

  PYTHONPATH=build/python /usr/bin/python3 examples/vector_env_random.py hopper-v4 16 2
"""
import sys
import time

import numpy as np

import stitch

env_id = sys.argv[1] if len(sys.argv) > 1 else "hopper-v4"
num_envs = int(sys.argv[2]) if len(sys.argv) > 2 else 16
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
steps = int(sys.argv[4]) if len(sys.argv) > 4 else 2000

vec = stitch.make_vec(env_id, num_envs=num_envs, threads=threads)
space = vec.single_action_space
rng = np.random.default_rng(0)
obs, _ = vec.reset(seed=0)
episodes, returns, running = 0, [], np.zeros(num_envs)
start = time.perf_counter()
for _ in range(steps):
    actions = rng.uniform(space.low, space.high, size=(num_envs,) + space.shape).astype(np.float32)
    obs, rewards, terminated, truncated, infos = vec.step(actions)
    running += rewards
    for i in np.flatnonzero(terminated | truncated):
        returns.append(running[i])
        running[i] = 0.0
elapsed = time.perf_counter() - start
print(f"{env_id}: {num_envs * steps / elapsed:,.0f} env steps/s with {num_envs} envs on "
      f"{threads} thread(s); {len(returns)} episodes, mean return "
      f"{np.mean(returns) if returns else float('nan'):.1f}")
