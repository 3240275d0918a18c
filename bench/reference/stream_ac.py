"""Python reference for `stitch bench stream`: one stream AC(lambda) step (sample an action,
then one update with ObGD on eligibility traces) at Hopper's sizes (11 observations plus the
time feature, 3 actions, two hidden layers of 128), written with Debian's python3-torch the way
the paper's public code does it (Elsayed, Vasan & Mahmood 2024): LayerNorm without parameters
and leaky ReLU after each hidden layer, sparse initialisation, a Gaussian policy with a
softplus std, ObGD with kappa 2 (value) and 3 (policy), entropy 0.01 with the sign of delta.

Each step also runs what the paper's code runs around the agent, in numpy as its wrappers do:
the running observation normaliser (Welford mean and variance, updated every step), the time
feature, and the reward scaling by the running standard deviation of a discounted return
trace. stitch's training loop does the same work (algo/streaming/agent.h, StreamFeatures).

There is no MuJoCo for Debian's Python, so the env step is left out: the raw observations are
random normal vectors and episodes end every 1000 steps. The Python step rate is therefore an
upper bound on a Python training loop's. Benchmark code only.
Usage: stream_ac.py SECONDS [agent] -> prints {"steps_per_s": ...} as JSON; with "agent", the
agent alone (act + update on ready features), without the normalisers.
"""
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OBS, ACT, HIDDEN = 12, 3, 128


def sparse_init_(w, sparsity=0.9):
    fan_out, fan_in = w.shape
    zeros = int(math.ceil(sparsity * fan_in))
    with torch.no_grad():
        w.uniform_(-1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))
        for j in range(fan_out):
            w[j, torch.randperm(fan_in)[:zeros]] = 0


class Net(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.l1, self.l2, self.out = nn.Linear(i, HIDDEN), nn.Linear(HIDDEN, HIDDEN), nn.Linear(HIDDEN, o)
        for layer in (self.l1, self.l2, self.out):
            sparse_init_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        x = F.leaky_relu(F.layer_norm(self.l1(x), (HIDDEN,)))
        x = F.leaky_relu(F.layer_norm(self.l2(x), (HIDDEN,)))
        return self.out(x)


class RunningMeanVar:
    """Welford's running mean and sample variance (the paper's code: SampleMeanStd)."""

    def __init__(self, shape):
        self.mean, self.m2, self.count = np.zeros(shape), np.zeros(shape), 0

    def update(self, x):
        self.count += 1
        d = x - self.mean
        self.mean = self.mean + d / self.count
        self.m2 = self.m2 + d * (x - self.mean)

    def var(self):
        return self.m2 / (self.count - 1) if self.count > 1 else np.ones_like(self.m2)


class Features:
    """Observation normalisation, the time feature and reward scaling, as numpy wrappers."""

    def __init__(self, raw_dim, time_limit=1000, gamma=0.99):
        self.obs, self.ret = RunningMeanVar(raw_dim), RunningMeanVar(())
        self.u, self.gamma, self.time_limit = 0.0, gamma, time_limit

    def observe(self, raw, t):
        self.obs.update(raw)
        x = (raw - self.obs.mean) / np.sqrt(self.obs.var() + 1e-8)
        x = np.append(x, -0.5 + t / self.time_limit)
        return torch.from_numpy(x.astype(np.float32))

    def scale_reward(self, r, done):
        self.u = self.gamma * self.u * (1 - done) + r
        self.ret.update(self.u)
        return r / math.sqrt(self.ret.var() + 1e-8)


class ObGD:
    def __init__(self, params, lr=1.0, gamma=0.99, lam=0.8, kappa=2.0):
        self.params = list(params)
        self.traces = [torch.zeros_like(p) for p in self.params]
        self.lr, self.decay, self.kappa = lr, gamma * lam, kappa

    def step(self, delta, reset):
        l1 = 0.0
        for p, e in zip(self.params, self.traces):
            e.mul_(self.decay).add_(p.grad)
            l1 += e.abs().sum().item()
        m = self.lr * self.kappa * max(abs(delta), 1.0) * l1
        step = self.lr / m if m > 1 else self.lr
        for p, e in zip(self.params, self.traces):
            p.data.add_(e, alpha=step * delta)
            if reset:
                e.zero_()


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    agent_only = len(sys.argv) > 2 and sys.argv[2] == "agent"
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    policy, value = Net(OBS, 2 * ACT), Net(OBS, 1)
    opt_p, opt_v = ObGD(policy.parameters(), kappa=3.0), ObGD(value.parameters(), kappa=2.0)
    gamma, entropy = 0.99, 0.01
    features = Features(OBS - 1)
    s = torch.randn(OBS)
    steps, t0 = 0, None
    while True:
        if steps == 100:
            t0 = time.perf_counter()
        if t0 is not None and steps % 100 == 0 and time.perf_counter() - t0 > seconds:
            break
        with torch.no_grad():  # act
            out = policy(s)
            a = torch.normal(out[:ACT], F.softplus(out[ACT:]))
        done = steps % 1000 == 999
        if agent_only:
            s2 = torch.randn(OBS)  # the env step left out
            r = float(torch.randn(()))
        else:  # the env step left out; its raw observation and reward go through the wrappers
            raw, raw_r = rng.standard_normal(OBS - 1), float(rng.standard_normal())
            s2 = features.observe(raw, (steps % 1000) + 1)
            r = features.scale_reward(raw_r, done)
        v, v2 = value(s), value(s2)  # update
        delta = (r + (0.0 if done else gamma) * v2 - v).item()
        out = policy(s)
        mu, std = out[:ACT], F.softplus(out[ACT:])
        dist = torch.distributions.Normal(mu, std)
        sign = (delta > 0) - (delta < 0)
        objective = dist.log_prob(a).sum() + entropy * sign * dist.entropy().sum()
        policy.zero_grad()
        value.zero_grad()
        v.sum().backward()
        objective.backward()
        opt_p.step(delta, done)
        opt_v.step(delta, done)
        s = s2
        steps += 1
    print(json.dumps({"steps_per_s": (steps - 100) / (time.perf_counter() - t0)}))


if __name__ == "__main__":
    main()
