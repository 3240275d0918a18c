"""Python reference for `stitch bench online`: the whole online SAC loop on Pendulum-v1 (act,
step the env, store the transition, one gradient step), the same math as stitch's SAC
(src/algo/online/sac.cpp: twin critics as one batched ensemble, tanh-Gaussian policy, automatic
entropy tuning, Adam 3e-4, two hidden layers of 256, batch 256) and Gymnasium's Pendulum-v1
dynamics written in numpy (Debian has no gymnasium). Benchmark code only.
Usage: online_sac.py STEPS LEARNING_STARTS THREADS -> prints {"env_steps_per_s": ...} as JSON.
With `wsrl` after them, the update of stitch's WSRL (src/algo/o2o/wsrl.cpp) as `stitch finetune
--algo wsrl` runs it: 10 critics with LayerNorm, the TD target's min over 2 members drawn with
replacement and no entropy term, 4 critic steps per env step and one actor and temperature step
(learning rates 1e-4, 3e-4, 1e-4); the first LEARNING_STARTS steps act with the policy (the
warm-up) without updates.
"""
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from offline_update import Ensemble  # the same batched twin critics as the offline reference

OBS, ACT, HIDDEN, BATCH, MAX_A = 3, 1, 256, 256, 2.0  # Ensemble's width is offline_update.HIDDEN = 256


class Pendulum:
    """Gymnasium's Pendulum-v1 (g = 10), time limit 200."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def reset(self):
        self.th, self.thdot = self.rng.uniform([-math.pi, -1.0], [math.pi, 1.0])
        self.t = 0
        return self.obs()

    def obs(self):
        return np.array([math.cos(self.th), math.sin(self.th), self.thdot], dtype=np.float32)

    def step(self, u):
        u = float(np.clip(u[0], -MAX_A, MAX_A))
        th_norm = ((self.th + math.pi) % (2 * math.pi)) - math.pi
        cost = th_norm ** 2 + 0.1 * self.thdot ** 2 + 0.001 * u ** 2
        self.thdot = float(np.clip(self.thdot + (3 * 10.0 / 2 * math.sin(self.th) + 3.0 * u) * 0.05, -8, 8))
        self.th = self.th + self.thdot * 0.05
        self.t += 1
        return self.obs(), -cost, False, self.t >= 200


class Actor(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(OBS, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
                                 nn.Linear(HIDDEN, 2 * ACT))

    def sample(self, s, deterministic=False):
        mu, log_std = self.net(s).chunk(2, -1)
        log_std = log_std.clamp(-20, 2)
        std = log_std.exp()
        u = mu if deterministic else mu + std * torch.randn_like(mu)
        a = torch.tanh(u)
        logp = (-0.5 * ((u - mu) / std) ** 2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
        logp = logp - (2 * (math.log(2) - u - F.softplus(-2 * u))).sum(-1)
        return a * MAX_A, logp


def main():
    steps, starts, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    wsrl = len(sys.argv) > 4 and sys.argv[4] == "wsrl"
    critics, utd, subsample, actor_lr = (10, 4, 2, 1e-4) if wsrl else (2, 1, 0, 3e-4)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    actor = Actor()
    q, q_t = Ensemble(critics, OBS + ACT, 1, ln=wsrl), Ensemble(critics, OBS + ACT, 1, ln=wsrl)
    q_t.load_state_dict(q.state_dict())
    log_alpha = torch.zeros((), requires_grad=True)
    oa, oq = torch.optim.Adam(actor.parameters(), actor_lr), torch.optim.Adam(q.parameters(), 3e-4)
    oal = torch.optim.Adam([log_alpha], actor_lr)
    buf_s = np.zeros((steps, OBS), np.float32)
    buf_a = np.zeros((steps, ACT), np.float32)
    buf_r = np.zeros(steps, np.float32)
    buf_s2 = np.zeros((steps, OBS), np.float32)
    buf_d = np.zeros(steps, np.float32)
    env, rng = Pendulum(0), np.random.default_rng(1)
    s = env.reset()
    t0 = time.perf_counter()
    updates = 0
    for t in range(steps):
        if t < starts and not wsrl:
            a = rng.uniform(-MAX_A, MAX_A, ACT).astype(np.float32)
        else:  # WSRL's warm-up acts with the (pre-trained) policy
            with torch.no_grad():
                a = actor.sample(torch.from_numpy(s).unsqueeze(0))[0][0].numpy()
        s2, r, term, trunc = env.step(a)
        buf_s[t], buf_a[t], buf_r[t], buf_s2[t], buf_d[t] = s, a, r, s2, float(term)
        s = env.reset() if term or trunc else s2
        if t + 1 < starts:
            continue
        for _ in range(utd):
            idx = rng.integers(0, t + 1, BATCH)
            bs, ba, br = torch.from_numpy(buf_s[idx]), torch.from_numpy(buf_a[idx]), torch.from_numpy(buf_r[idx])
            bs2, bd = torch.from_numpy(buf_s2[idx]), torch.from_numpy(buf_d[idx])
            alpha = log_alpha.exp().detach()
            with torch.no_grad():
                a2, logp2 = actor.sample(bs2)
                qt = q_t(torch.cat([bs2, a2], 1))
                if subsample:  # REDQ: the min over members drawn with replacement
                    qt = qt[torch.randint(critics, (subsample,))]
                    target = br + 0.99 * (1 - bd) * qt.min(0).values
                else:
                    target = br + 0.99 * (1 - bd) * (qt.min(0).values - alpha * logp2)
            qv = q(torch.cat([bs, ba], 1))
            q_loss = ((qv - target.unsqueeze(0)) ** 2).mean(1).sum()
            oq.zero_grad()
            q_loss.backward()
            oq.step()
            with torch.no_grad():
                for p, pt in zip(q.parameters(), q_t.parameters()):
                    pt.mul_(0.995).add_(p, alpha=0.005)
            updates += 1
            if updates % utd:
                continue
            pa, logp = actor.sample(bs)
            actor_loss = (alpha * logp - q(torch.cat([bs, pa], 1)).min(0).values).mean()
            oa.zero_grad()
            actor_loss.backward()
            oa.step()
            alpha_loss = -(log_alpha * (logp.detach() - ACT)).mean()
            oal.zero_grad()
            alpha_loss.backward()
            oal.step()
    print(json.dumps({"env_steps_per_s": steps / (time.perf_counter() - t0)}))


if __name__ == "__main__":
    main()
