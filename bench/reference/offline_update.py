"""Python reference for `stitch bench train`: the same IQL, TD3+BC, CQL, SAC-N, EDAC and ReBRAC
updates as stitch (src/algo/offline/*.cpp, src/algo/td3.cpp), written with Debian's
python3-torch the way CORL writes them (ensembles as one batched baddbmm per layer, CORL's
VectorizedLinear), timed on the same shapes.
Benchmark code only. Usage: offline_update.py ALGO THREADS SECONDS -> prints updates/s as JSON.
"""
import ctypes
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

OBS, ACT, HIDDEN, BATCH = 17, 6, 256, 256


def mlp(i, o, layers=2):
    mods, w = [], i
    for _ in range(layers):
        mods += [nn.Linear(w, HIDDEN), nn.ReLU()]
        w = HIDDEN
    mods.append(nn.Linear(w, o))
    return nn.Sequential(*mods)


class Ensemble(nn.Module):
    """E members in one batched matmul, as stitch's EnsembleMlp."""

    def __init__(self, e, i, o, layers=2, ln=False):
        super().__init__()
        dims = [i] + [HIDDEN] * layers + [o]
        self.w = nn.ParameterList()
        self.b = nn.ParameterList()
        for a, c in zip(dims[:-1], dims[1:]):
            bound = 1 / math.sqrt(a)
            self.w.append(nn.Parameter(torch.empty(e, a, c).uniform_(-bound, bound)))
            self.b.append(nn.Parameter(torch.empty(e, 1, c).uniform_(-bound, bound)))
        # ReBRAC: LayerNorm after each hidden ReLU, each member its own scale and shift.
        self.ln = nn.ParameterList()
        if ln:
            for _ in range(layers):
                self.ln.append(nn.Parameter(torch.ones(e, 1, HIDDEN)))
                self.ln.append(nn.Parameter(torch.zeros(e, 1, HIDDEN)))
        self.e = e

    def forward(self, x):
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(self.e, *x.shape)
        for k, (w, b) in enumerate(zip(self.w, self.b)):
            x = torch.baddbmm(b, x, w)
            if k + 1 < len(self.w):
                x = F.relu(x)
                if len(self.ln):
                    x = F.layer_norm(x, (HIDDEN,), eps=1e-6) * self.ln[2 * k] + self.ln[2 * k + 1]
        return x.squeeze(-1)

    def member(self, x, k):
        """Member k alone (TD3+BC's actor needs Q1 only, as CORL's critic_1)."""
        for i, (w, b) in enumerate(zip(self.w, self.b)):
            x = torch.addmm(b[k], x, w[k])
            if i + 1 < len(self.w):
                x = F.relu(x)
        return x.squeeze(-1)


def batch():
    return (torch.randn(BATCH, OBS), torch.rand(BATCH, ACT) * 2 - 1, torch.randn(BATCH),
            torch.randn(BATCH, OBS), torch.zeros(BATCH), torch.full((BATCH,), 0.99))


def iql():
    actor, log_std = mlp(OBS, ACT), nn.Parameter(torch.zeros(ACT))
    q, q_t, v = Ensemble(2, OBS + ACT, 1), Ensemble(2, OBS + ACT, 1), mlp(OBS, 1)
    q_t.load_state_dict(q.state_dict())
    oa = torch.optim.Adam(list(actor.parameters()) + [log_std], 3e-4)
    oq, ov = torch.optim.Adam(q.parameters(), 3e-4), torch.optim.Adam(v.parameters(), 3e-4)

    def step(s, a, r, s2, d, g):
        sa = torch.cat([s, a], 1)
        with torch.no_grad():  # as CORL: V(s') before the V step
            tq = q_t(sa).min(0).values
            y = r + g * (1 - d) * v(s2).squeeze(-1)
        adv = tq - v(s).squeeze(-1)
        w = torch.where(adv < 0, 0.3, 0.7)
        vl = (w * adv ** 2).mean()
        ov.zero_grad(); vl.backward(); ov.step()
        ql = ((q(sa) - y) ** 2).mean(1).sum()
        oq.zero_grad(); ql.backward(); oq.step()
        mean = torch.tanh(actor(s))
        ls = log_std.clamp(-20, 2)
        logp = (-0.5 * ((a - mean) / ls.exp()) ** 2 - ls - 0.5 * math.log(2 * math.pi)).sum(-1)
        al = -(torch.exp(3.0 * adv.detach()).clamp(max=100) * logp).mean()
        oa.zero_grad(); al.backward(); oa.step()
        with torch.no_grad():
            for p, pt in zip(q.parameters(), q_t.parameters()):
                pt.mul_(0.995).add_(p, alpha=0.005)
    return step


def td3_bc():
    actor, actor_t = mlp(OBS, ACT), mlp(OBS, ACT)
    q, q_t = Ensemble(2, OBS + ACT, 1), Ensemble(2, OBS + ACT, 1)
    actor_t.load_state_dict(actor.state_dict()); q_t.load_state_dict(q.state_dict())
    oa, oq = torch.optim.Adam(actor.parameters(), 3e-4), torch.optim.Adam(q.parameters(), 3e-4)
    it = [0]

    def step(s, a, r, s2, d, g):
        with torch.no_grad():
            noise = (torch.randn_like(a) * 0.2).clamp(-0.5, 0.5)
            a2 = (torch.tanh(actor_t(s2)) + noise).clamp(-1, 1)
            y = r + g * (1 - d) * q_t(torch.cat([s2, a2], 1)).min(0).values
        ql = ((q(torch.cat([s, a], 1)) - y) ** 2).mean(1).sum()
        oq.zero_grad(); ql.backward(); oq.step()
        if it[0] % 2 == 0:
            pi = torch.tanh(actor(s))
            qpi = q.member(torch.cat([s, pi], 1), 0)
            al = -2.5 / qpi.abs().mean().detach() * qpi.mean() + F.mse_loss(pi, a)
            oa.zero_grad(); al.backward(); oa.step()
            with torch.no_grad():
                for net, tgt in ((actor, actor_t), (q, q_t)):
                    for p, pt in zip(net.parameters(), tgt.parameters()):
                        pt.mul_(0.995).add_(p, alpha=0.005)
        it[0] += 1
    return step


def cql():
    trunk, mean_l, std_l = mlp(OBS, HIDDEN, 1), nn.Linear(HIDDEN, ACT), nn.Linear(HIDDEN, ACT)
    q, q_t = Ensemble(2, OBS + ACT, 1), Ensemble(2, OBS + ACT, 1)
    q_t.load_state_dict(q.state_dict())
    log_alpha = torch.zeros((), requires_grad=True)
    oa = torch.optim.Adam(list(trunk.parameters()) + list(mean_l.parameters()) + list(std_l.parameters()), 1e-4)
    oq, oal = torch.optim.Adam(q.parameters(), 3e-4), torch.optim.Adam([log_alpha], 3e-4)
    n = 10

    def sample(s):
        h = F.relu(trunk(s))
        m, ls = mean_l(h), std_l(h).clamp(-20, 2)
        u = m + torch.randn_like(m) * ls.exp()
        logp = (-0.5 * ((u - m) / ls.exp()) ** 2 - ls - 0.5 * math.log(2 * math.pi)).sum(-1)
        logp = logp - (2 * (math.log(2) - u - F.softplus(-2 * u))).sum(-1)
        return torch.tanh(u), logp

    def step(s, a, r, s2, d, g):
        pi, logp = sample(s)
        alpha = log_alpha.exp()
        al_loss = -(log_alpha * (logp - ACT).detach()).mean()
        oal.zero_grad(); al_loss.backward(); oal.step()
        actor_loss = (alpha.detach() * logp - q(torch.cat([s, pi], 1)).min(0).values).mean()
        oa.zero_grad(); actor_loss.backward(); oa.step()
        with torch.no_grad():
            a2, _ = sample(s2)
            y = r + g * (1 - d) * q_t(torch.cat([s2, a2], 1)).min(0).values
        qd = q(torch.cat([s, a], 1))
        td = ((qd - y) ** 2).mean(1).sum()
        sr, s2r = s.repeat_interleave(n, 0), s2.repeat_interleave(n, 0)
        ra = torch.rand(BATCH * n, ACT) * 2 - 1
        with torch.no_grad():
            ps, lps = sample(sr)
            pn, lpn = sample(s2r)
        qr = q(torch.cat([sr, ra], 1)).view(2, BATCH, n)
        qs = q(torch.cat([sr, ps], 1)).view(2, BATCH, n)
        qn = q(torch.cat([sr, pn], 1)).view(2, BATCH, n)
        cat = torch.cat([qr + ACT * math.log(2), qs - lps.view(BATCH, n), qn - lpn.view(BATCH, n)], 2)
        gap = (torch.logsumexp(cat, 2) - qd).mean(1).sum()
        loss = td + 5.0 * gap
        oq.zero_grad(); loss.backward(); oq.step()
        with torch.no_grad():
            for p, pt in zip(q.parameters(), q_t.parameters()):
                pt.mul_(0.995).add_(p, alpha=0.005)
    return step


def sac_n(edac=False):
    """CORL's sac_n.py / edac.py update (N = 10, 3x256, their order: alpha, actor, critics)."""
    n = 10
    trunk, mean_l, std_l = mlp(OBS, HIDDEN, 2), nn.Linear(HIDDEN, ACT), nn.Linear(HIDDEN, ACT)
    q, q_t = Ensemble(n, OBS + ACT, 1, 3), Ensemble(n, OBS + ACT, 1, 3)
    q_t.load_state_dict(q.state_dict())
    log_alpha = torch.zeros((), requires_grad=True)
    oa = torch.optim.Adam(list(trunk.parameters()) + list(mean_l.parameters()) + list(std_l.parameters()), 3e-4)
    oq, oal = torch.optim.Adam(q.parameters(), 3e-4), torch.optim.Adam([log_alpha], 3e-4)

    def sample(s):
        h = F.relu(trunk(s))
        m, ls = mean_l(h), std_l(h).clamp(-5, 2)
        u = m + torch.randn_like(m) * ls.exp()
        a = torch.tanh(u)
        logp = (-0.5 * ((u - m) / ls.exp()) ** 2 - ls - 0.5 * math.log(2 * math.pi)).sum(-1)
        return a, logp - torch.log(1 - a ** 2 + 1e-6).sum(-1)

    def step(s, a, r, s2, d, g):
        with torch.no_grad():
            _, lp = sample(s)
        al_loss = (-log_alpha * (lp - ACT)).mean()
        oal.zero_grad(); al_loss.backward(); oal.step()
        alpha = log_alpha.exp().detach()
        pi, logp = sample(s)
        actor_loss = (alpha * logp - q(torch.cat([s, pi], 1)).min(0).values).mean()
        oa.zero_grad(); actor_loss.backward(); oa.step()
        with torch.no_grad():
            a2, lp2 = sample(s2)
            y = r + g * (1 - d) * (q_t(torch.cat([s2, a2], 1)).min(0).values - alpha * lp2)
        qd = q(torch.cat([s, a], 1))
        loss = ((qd - y) ** 2).mean(1).sum()
        if edac:  # the members' action-gradient diversity (EDAC's eta = 1)
            sr = s.unsqueeze(0).repeat(n, 1, 1)
            ar = a.unsqueeze(0).repeat(n, 1, 1).requires_grad_(True)
            qa = q(torch.cat([sr, ar], 2))
            ga = torch.autograd.grad(qa.sum(), ar, create_graph=True)[0]
            ga = ga / (ga.norm(p=2, dim=2).unsqueeze(-1) + 1e-10)
            ga = ga.transpose(0, 1)
            m = ga @ ga.transpose(1, 2)
            mask = 1 - torch.eye(n).unsqueeze(0)
            loss = loss + ((m * mask).sum(dim=(1, 2))).mean() / (n - 1)
        oq.zero_grad(); loss.backward(); oq.step()
        with torch.no_grad():
            for p, pt in zip(q.parameters(), q_t.parameters()):
                pt.mul_(0.995).add_(p, alpha=0.005)
    return step


def rebrac():
    """CORL's rebrac.py update (JAX there): 3x256, LayerNorm critics, batch 1024, lr 1e-3."""
    actor, actor_t = mlp(OBS, ACT, 3), mlp(OBS, ACT, 3)
    q, q_t = Ensemble(2, OBS + ACT, 1, 3, ln=True), Ensemble(2, OBS + ACT, 1, 3, ln=True)
    actor_t.load_state_dict(actor.state_dict()); q_t.load_state_dict(q.state_dict())
    oa, oq = torch.optim.Adam(actor.parameters(), 1e-3), torch.optim.Adam(q.parameters(), 1e-3)
    it = [0]

    def step(s, a, r, s2, d, g, a2_data):
        with torch.no_grad():
            noise = (torch.randn_like(a) * 0.2).clamp(-0.5, 0.5)
            a2 = (torch.tanh(actor_t(s2)) + noise).clamp(-1, 1)
            nq = q_t(torch.cat([s2, a2], 1)).min(0).values - ((a2 - a2_data) ** 2).sum(-1)
            y = r + g * (1 - d) * nq
        ql = ((q(torch.cat([s, a], 1)) - y) ** 2).mean(1).sum()
        oq.zero_grad(); ql.backward(); oq.step()
        if it[0] % 2 == 0:
            pi = torch.tanh(actor(s))
            qpi = q(torch.cat([s, pi], 1)).min(0).values
            al = (((pi - a) ** 2).sum(-1) - qpi / qpi.abs().mean().detach()).mean()
            oa.zero_grad(); al.backward()
            with torch.no_grad():  # the target actor from before the step, as CORL's
                for p, pt in zip(actor.parameters(), actor_t.parameters()):
                    pt.mul_(0.995).add_(p, alpha=0.005)
            oa.step()
            with torch.no_grad():
                for p, pt in zip(q.parameters(), q_t.parameters()):
                    pt.mul_(0.995).add_(p, alpha=0.005)
        it[0] += 1
    return step


def main():
    algo, threads, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    try:
        ctypes.CDLL("libblas.so.3").openblas_set_num_threads(threads)
    except (OSError, AttributeError):
        pass
    torch.set_num_threads(1)  # stitch's policy: BLAS gets the threads (README "Threads")
    torch.manual_seed(0)
    step = {"iql": iql, "td3_bc": td3_bc, "cql": cql, "sac_n": sac_n,
            "edac": lambda: sac_n(edac=True), "rebrac": rebrac}[algo]()
    data = batch()
    if algo == "rebrac":
        global BATCH
        BATCH = 1024
        data = batch() + (torch.rand(BATCH, ACT) * 2 - 1,)
    for _ in range(20):
        step(*data)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step(*data)
        n += 1
    print(json.dumps({"algo": algo, "threads": threads, "updates_per_s": n / (time.perf_counter() - start)}))


if __name__ == "__main__":
    main()
