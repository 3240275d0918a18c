"""Python reference for `stitch bench lm`: one GRPO step of `stitch lm rl --method grpo` written
with python3-torch the way TRL's GRPOTrainer computes it (Hugging Face TRL, trl/trainer/
grpo_trainer.py, one iteration per batch): sample G completions per prompt with a key/value cache,
score them, group-normalised advantages (r - mean) / (std + 1e-4), the policy's per-token
log-probabilities from a forward over prompt and completion (with gradients) and the
reference's (without), per-token loss -(exp(lp - lp.detach()) A - beta k3) with k3 = exp(ref - lp)
- (ref - lp) - 1, each completion's tokens averaged, then the completions; AdamW.

The model is stitch's token policy (src/lm/transformer.h): GPT-2's layout with learned positions,
pre-LayerNorm blocks, a fused qkv projection, a 4x GELU MLP and N(0, 0.02) weights, over a
24-token character vocabulary (pad 0, bos 1, eos 2). Prompts are 1-2 digit additions "a+b=" as
stitch's addition task at difficulty 2 draws them; the reward is 1 for the right sum, 0.1 for
digits, 0 otherwise. Both sides start from a freshly initialised policy, so completions run
about as long on both (their mean length is reported beside the rate).
Benchmark code only.

Usage: lm_grpo_step.py STEPS WIDTH LAYERS HEADS CONTEXT PROMPTS GROUP THREADS
-> prints {"steps_per_s": ..., "completion_tokens": ...} as JSON.
"""
import json
import math
import random
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

ALPHABET = "0123456789+-*/()=,>CS"
PAD, BOS, EOS = 0, 1, 2
VOCAB = len(ALPHABET) + 3


class Block(nn.Module):
    def __init__(self, width, heads, layers):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.ln2 = nn.LayerNorm(width)
        self.fc = nn.Linear(width, 4 * width)
        self.out = nn.Linear(4 * width, width)

    def forward(self, x, cache=None):
        b, t, w = x.shape
        h, d = self.heads, w // self.heads
        q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, h, d).permute(2, 0, 3, 1, 4)
        past = 0
        if cache is not None:
            if cache[0] is not None:
                past = cache[0].size(2)
                k = torch.cat([cache[0], k], 2)
                v = torch.cat([cache[1], v], 2)
            cache[0], cache[1] = k, v
        scores = q @ k.transpose(-2, -1) / math.sqrt(d)
        mask = torch.ones(t, past + t, dtype=torch.bool).triu(past + 1)
        scores = scores.masked_fill(mask, float("-inf"))
        att = torch.softmax(scores, -1) @ v
        x = x + self.proj(att.transpose(1, 2).reshape(b, t, w))
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class TokenPolicy(nn.Module):
    def __init__(self, width, layers, heads, context):
        super().__init__()
        self.context = context
        self.token = nn.Embedding(VOCAB, width)
        self.position = nn.Embedding(context, width)
        self.blocks = nn.ModuleList(Block(width, heads, layers) for _ in range(layers))
        self.final = nn.LayerNorm(width)
        self.head = nn.Linear(width, VOCAB)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if "ln" in name or "final" in name:
                    continue
                if name.endswith("bias"):
                    p.zero_()
                else:
                    p.normal_(0.0, 0.02)
            for blk in self.blocks:
                blk.proj.weight.mul_(1 / math.sqrt(2 * layers))
                blk.out.weight.mul_(1 / math.sqrt(2 * layers))

    def forward(self, tokens, start=0, caches=None):
        t = tokens.size(1)
        x = self.token(tokens) + self.position(torch.arange(start, start + t)).unsqueeze(0)
        for i, blk in enumerate(self.blocks):
            x = blk(x, None if caches is None else caches[i])
        return self.head(self.final(x))

    @torch.no_grad()
    def sample(self, prompts, max_new, generator):
        b, p = prompts.shape
        caches = [[None, None] for _ in self.blocks]
        logits = self(prompts, 0, caches)[:, -1]
        tokens, masks = [prompts], []
        alive = torch.ones(b, dtype=torch.bool)
        for i in range(max_new):
            nxt = torch.multinomial(torch.softmax(logits, -1), 1, generator=generator).squeeze(-1)
            masks.append(alive.float())
            nxt = torch.where(alive, nxt, torch.full_like(nxt, PAD))
            tokens.append(nxt.unsqueeze(1))
            alive = alive & (nxt != EOS)
            if not alive.any() or i + 1 == max_new:
                break
            logits = self(nxt.unsqueeze(1), p + i, caches)[:, -1]
        return torch.cat(tokens, 1), torch.stack(masks, 1)


def per_token_logps(model, tokens, p):
    logits = model(tokens[:, :-1])[:, p - 1:]
    return torch.log_softmax(logits, -1).gather(2, tokens[:, p:].unsqueeze(-1)).squeeze(-1)


def reward(a, b, tokens, p):
    text = ""
    for t in tokens[p:].tolist():
        if t == EOS:
            break
        if t > EOS:
            text += ALPHABET[t - 3]
    if text.isdigit() and (len(text) == 1 or text[0] != "0"):
        return 1.0 if int(text) == a + b else 0.1
    return 0.0


def operand(rng):
    digits = 1 + rng.randrange(2)
    return rng.randrange(10 ** (digits - 1) if digits > 1 else 0, 10 ** digits)


def main():
    steps, width, layers, heads, context, prompts, group, threads = map(int, sys.argv[1:9])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    rng = random.Random(0)
    policy = TokenPolicy(width, layers, heads, context)
    ref = TokenPolicy(width, layers, heads, context)
    ref.load_state_dict(policy.state_dict())
    for q in ref.parameters():
        q.requires_grad_(False)
    optim = torch.optim.AdamW(policy.parameters(), lr=1e-4, weight_decay=0.0)
    generator = torch.Generator().manual_seed(0)
    beta = 0.04
    tokens_total, timed = 0.0, 0.0
    warmup = 2
    for step in range(warmup + steps):
        start = time.perf_counter()
        policy.eval()
        batch = []
        for _ in range(prompts):
            a, b = operand(rng), operand(rng)
            ids = [BOS] + [ALPHABET.index(c) + 3 for c in f"{a}+{b}="]
            p = len(ids)
            tokens, mask = policy.sample(torch.tensor([ids] * group), context - p, generator)
            r = torch.tensor([reward(a, b, tokens[i], p) for i in range(group)])
            adv = (r - r.mean()) / (r.std() + 1e-4)
            batch.append((tokens, mask, adv, p))
            if step >= warmup:
                tokens_total += mask.sum().item()
        policy.train()
        optim.zero_grad()
        loss = torch.zeros(())
        for tokens, mask, adv, p in batch:
            lp = per_token_logps(policy, tokens, p)
            with torch.no_grad():
                ref_lp = per_token_logps(ref, tokens, p)
            d = ref_lp - lp
            kl = torch.exp(d) - d - 1
            per_token = -(torch.exp(lp - lp.detach()) * adv.unsqueeze(1) - beta * kl)
            loss = loss + ((per_token * mask).sum(1) / mask.sum(1).clamp(min=1)).mean()
        loss = loss / len(batch)
        loss.backward()
        optim.step()
        if step >= warmup:
            timed += time.perf_counter() - start
    print(json.dumps({"steps_per_s": steps / timed,
                      "completion_tokens": tokens_total / (steps * prompts * group)}))


if __name__ == "__main__":
    main()
