"""Python -> C++ overhead of `import stitch` (README "Python"), one run:
  - pendulum-v1 and hopper-v4: us per env.step in a Python loop, against the C++ step that
    `stitch bench env` times (EnvStep/<id>), and for pendulum against a numpy transcription of
    Gymnasium's Pendulum-v1 (gymnasium itself where it is importable);
  - a Python loop over make_vec("hopper-v4", 16 envs) against the C++ VectorEnv rate
    (VectorEnvStep/hopper-v4/envs:16).
Usage: PYTHONPATH=build/python /usr/bin/python3 bench/python_env.py [build/stitch]
"""
import json
import subprocess
import sys
import time

import numpy as np

import stitch


def step_us(env, action, steps=100000):
    """us per step of a Gymnasium-style env in a Python loop (resetting at episode ends)."""
    env.reset(seed=0)
    start = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    return (time.perf_counter() - start) / steps * 1e6


def python_step_us(env_id):
    env = stitch.make(env_id)
    return step_us(env, np.zeros(env.action_space.shape, dtype=np.float32))


class NumpyPendulum:
    """Gymnasium's Pendulum-v1 dynamics in numpy (the user's pure-Python alternative)."""

    def reset(self, rng):
        self.th, self.thdot = rng.uniform(-np.pi, np.pi), rng.uniform(-1, 1)
        return self.obs()

    def obs(self):
        return np.array([np.cos(self.th), np.sin(self.th), self.thdot], dtype=np.float32)

    def step(self, u):
        u = np.clip(u, -2.0, 2.0)[0]
        th = ((self.th + np.pi) % (2 * np.pi)) - np.pi
        cost = th**2 + 0.1 * self.thdot**2 + 0.001 * u**2
        self.thdot = np.clip(self.thdot + (3 * 10.0 / 2 * np.sin(self.th) + 3.0 * u) * 0.05, -8, 8)
        self.th = self.th + self.thdot * 0.05
        return self.obs(), -cost, False, False, {}


def numpy_pendulum_us(steps=100000):
    env, rng = NumpyPendulum(), np.random.default_rng(0)
    env.reset(rng)
    action = np.zeros(1, dtype=np.float32)
    start = time.perf_counter()
    for t in range(steps):
        env.step(action)
        if t % 200 == 199:
            env.reset(rng)
    return (time.perf_counter() - start) / steps * 1e6


def gymnasium_pendulum_us(steps=100000):
    try:
        import gymnasium
    except ImportError:
        return None
    return step_us(gymnasium.make("Pendulum-v1"), np.zeros(1, dtype=np.float32), steps)


def vector_rate(env_id="hopper-v4", n=16, steps=5000, threads=1):
    vec = stitch.make_vec(env_id, num_envs=n, threads=threads)
    vec.reset(seed=0)
    actions = np.zeros((n,) + vec.single_action_space.shape, dtype=np.float32)
    start = time.perf_counter()
    for _ in range(steps):
        vec.step(actions)
    return n * steps / (time.perf_counter() - start)


def cpp_rates(binary):
    """items/s of the C++ benchmarks named below, from `stitch bench env` in this run."""
    names = ["EnvStep/pendulum-v1", "EnvStep/hopper-v4",
             "VectorEnvStep/hopper-v4/envs:16/threads:1/real_time"]
    out = subprocess.run([binary, "bench", "env", "--", "--benchmark_format=json",
                          "--benchmark_filter=^(" + "|".join(names) + ")$"],
                         check=True, capture_output=True, text=True).stdout
    report = json.loads(out[out.index("{"):])
    return {b["name"]: b["items_per_second"] for b in report["benchmarks"]}


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "build/stitch"
    cpp = cpp_rates(binary)
    for env_id in ("pendulum-v1", "hopper-v4"):
        py_us, cpp_us = python_step_us(env_id), 1e6 / cpp["EnvStep/" + env_id]
        print(f"{env_id}: Python env.step {py_us:.2f} us, C++ step {cpp_us:.3f} us, "
              f"overhead {py_us - cpp_us:.2f} us")
    gym_us = gymnasium_pendulum_us()
    print(f"pendulum in numpy (Gymnasium's equations): {numpy_pendulum_us():.2f} us/step"
          + (f"; gymnasium's own: {gym_us:.2f}" if gym_us else "; gymnasium not importable"))
    py_rate = vector_rate()
    cpp_rate = cpp["VectorEnvStep/hopper-v4/envs:16/threads:1/real_time"]
    print(f"hopper-v4, 16 envs, 1 thread: Python loop {py_rate:,.0f} steps/s, C++ VectorEnv "
          f"{cpp_rate:,.0f} steps/s ({100 * py_rate / cpp_rate:.0f}%)")


if __name__ == "__main__":
    main()
