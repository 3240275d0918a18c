"""Python reference for `stitch bench model`: the probabilistic dynamics ensemble's training step
and one model-rollout step (MOPO's), written with Debian's python3-torch the way OfflineRL-Kit
writes them (offlinerlkit/nets/ensemble_linear.py, modules/dynamics_module.py,
dynamics/ensemble_dynamics.py: einsum ensemble layers, Swish, soft log-variance bounds, the NLL
with weight decay; step(): all members on the batch, a Gaussian sample per member, an elite per
row, the max-std-norm penalty, the termination function), at hopper's sizes.
Benchmark code only, not OfflineRL-Kit's code.
Usage: dynamics.py train|rollout THREADS SECONDS -> prints {"per_s": items per second} as JSON
(train: samples, members x rows; rollout: transitions).
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

OBS, ACT, MEMBERS, ELITES, HIDDEN, BATCH, ROWS = 11, 3, 7, 5, 200, 256, 10000
WEIGHT_DECAY = [2.5e-5, 5e-5, 7.5e-5, 7.5e-5, 1e-4]


class EnsembleLinear(nn.Module):
    def __init__(self, i, o, wd):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(MEMBERS, i, o))
        self.bias = nn.Parameter(torch.zeros(MEMBERS, 1, o))
        nn.init.trunc_normal_(self.weight, std=1 / (2 * i ** 0.5))
        self.wd = wd

    def forward(self, x):
        if x.dim() == 2:
            x = torch.einsum("ij,bjk->bik", x, self.weight)
        else:
            x = torch.einsum("bij,bjk->bik", x, self.weight)
        return x + self.bias

    def decay(self):
        return self.wd * 0.5 * (self.weight ** 2).sum()


class Dynamics(nn.Module):
    def __init__(self):
        super().__init__()
        dims = [OBS + ACT] + [HIDDEN] * 4
        self.hidden = nn.ModuleList(
            EnsembleLinear(a, b, wd) for a, b, wd in zip(dims[:-1], dims[1:], WEIGHT_DECAY))
        self.out = EnsembleLinear(HIDDEN, 2 * (OBS + 1), WEIGHT_DECAY[-1])
        self.max_logvar = nn.Parameter(torch.ones(OBS + 1) * 0.5)
        self.min_logvar = nn.Parameter(torch.ones(OBS + 1) * -10)

    def forward(self, x):
        for layer in self.hidden:
            x = layer(x)
            x = x * torch.sigmoid(x)  # Swish
        mean, logvar = torch.chunk(self.out(x), 2, dim=-1)
        logvar = self.max_logvar - F.softplus(self.max_logvar - logvar)
        logvar = self.min_logvar + F.softplus(logvar - self.min_logvar)
        return mean, logvar

    def decay(self):
        return sum(l.decay() for l in self.hidden) + self.out.decay()


def train(seconds):
    model = Dynamics()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(MEMBERS, BATCH, OBS + ACT)
    y = torch.randn(MEMBERS, BATCH, OBS + 1)

    def step():
        mean, logvar = model(x)
        inv_var = torch.exp(-logvar)
        mse = (torch.pow(mean - y, 2) * inv_var).mean(dim=(1, 2))
        var = logvar.mean(dim=(1, 2))
        loss = mse.sum() + var.sum() + model.decay()
        loss = loss + 0.01 * model.max_logvar.sum() - 0.01 * model.min_logvar.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(5):
        step()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        n += 1
    return n * MEMBERS * BATCH / (time.perf_counter() - start)


def hopper_terminal(next_obs):
    height, angle = next_obs[:, 0], next_obs[:, 1]
    not_done = (torch.isfinite(next_obs).all(dim=-1) & (next_obs[:, 1:].abs() < 100).all(dim=-1)
                & (height > 0.7) & (angle.abs() < 0.2))
    return ~not_done


@torch.no_grad()
def rollout(seconds):
    model = Dynamics()
    mu, std = torch.zeros(OBS + ACT), torch.ones(OBS + ACT)
    obs = torch.randn(ROWS, OBS) * 0.1
    obs[:, 0] += 1.25
    act = torch.rand(ROWS, ACT) * 2 - 1
    elites = torch.arange(ELITES)

    def step():
        x = (torch.cat([obs, act], dim=-1) - mu) / std
        mean, logvar = model(x)
        mean[..., :-1] += obs
        sd = torch.sqrt(torch.exp(logvar))
        samples = mean + torch.randn_like(mean) * sd
        idx = elites[torch.randint(ELITES, (ROWS,))]
        sample = samples[idx, torch.arange(ROWS)]
        next_obs, reward = sample[..., :-1], sample[..., -1:]
        terminal = hopper_terminal(next_obs)
        penalty = torch.amax(torch.linalg.norm(sd, dim=2), dim=0).unsqueeze(-1)
        reward = reward - 1.0 * penalty
        return next_obs, reward, terminal

    for _ in range(2):
        step()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        n += 1
    return n * ROWS / (time.perf_counter() - start)


if __name__ == "__main__":
    what, threads, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    rate = train(seconds) if what == "train" else rollout(seconds)
    print(json.dumps({"per_s": rate}))
