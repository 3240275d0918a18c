#include "lm/transformer.h"

#include <cmath>

#include "core/error.h"

namespace stitch::lm {

TokenPolicyImpl::TokenPolicyImpl(const TransformerConfig& c) : config_(c) {
  if (c.vocab < 3 || c.context < 2 || c.width < 1 || c.layers < 1 || c.heads < 1 ||
      c.width % c.heads != 0) {
    fail(
        "transformer: needs vocab >= 3, context >= 2, layers >= 1 and width a multiple of heads "
        "(got vocab {}, context {}, width {}, layers {}, heads {})",
        c.vocab, c.context, c.width, c.layers, c.heads);
  }
  token_ = register_module("token", torch::nn::Embedding(c.vocab, c.width));
  position_ = register_module("position", torch::nn::Embedding(c.context, c.width));
  for (int64_t l = 0; l < c.layers; ++l) {
    const std::string p = "block" + std::to_string(l) + "_";
    Block b;
    b.ln1 =
        register_module(p + "ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.width})));
    b.qkv = register_module(p + "qkv", torch::nn::Linear(c.width, 3 * c.width));
    b.proj = register_module(p + "proj", torch::nn::Linear(c.width, c.width));
    b.ln2 =
        register_module(p + "ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.width})));
    b.fc = register_module(p + "fc", torch::nn::Linear(c.width, 4 * c.width));
    b.out = register_module(p + "out", torch::nn::Linear(4 * c.width, c.width));
    blocks_.push_back(b);
  }
  final_ = register_module("final", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.width})));
  head_ = register_module("head", torch::nn::Linear(c.width, c.vocab));
  // GPT-2's initialisation: N(0, 0.02) weights, zero biases, the residual projections scaled by
  // 1 / sqrt(2 layers).
  torch::NoGradGuard no_grad;
  for (auto& p : named_parameters()) {
    if (p.key().find("ln") != std::string::npos || p.key().find("final") != std::string::npos)
      continue;
    if (p.key().find("bias") != std::string::npos) {
      p.value().zero_();
    } else {
      p.value().normal_(0.0, 0.02);
    }
  }
  for (Block& b : blocks_) {
    b.proj->weight.mul_(1.0 / std::sqrt(2.0 * static_cast<double>(c.layers)));
    b.out->weight.mul_(1.0 / std::sqrt(2.0 * static_cast<double>(c.layers)));
  }
}

int64_t TokenPolicyImpl::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

torch::Tensor TokenPolicyImpl::embed(const torch::Tensor& tokens, int64_t start) {
  const int64_t t = tokens.size(1);
  if (start + t > config_.context) {
    fail("transformer: a sequence of {} tokens is longer than the context of {}", start + t,
         config_.context);
  }
  const auto positions = torch::arange(start, start + t, torch::kLong);
  return token_->forward(tokens) + position_->forward(positions).unsqueeze(0);
}

torch::Tensor TokenPolicyImpl::blocks(torch::Tensor x, std::vector<torch::Tensor>* keys,
                                      std::vector<torch::Tensor>* values) {
  const int64_t b = x.size(0), t = x.size(1), h = config_.heads, d = config_.width / h;
  for (size_t l = 0; l < blocks_.size(); ++l) {
    Block& blk = blocks_[l];
    auto qkv = blk.qkv->forward(blk.ln1->forward(x)).view({b, t, 3, h, d}).permute({2, 0, 3, 1, 4});
    torch::Tensor q = qkv[0], k = qkv[1], v = qkv[2];  // [B, H, t, d]
    const int64_t past = keys != nullptr && (*keys)[l].defined() ? (*keys)[l].size(2) : 0;
    if (keys != nullptr) {
      if (past > 0) {
        k = torch::cat({(*keys)[l], k}, 2);
        v = torch::cat({(*values)[l], v}, 2);
      }
      (*keys)[l] = k;
      (*values)[l] = v;
    }
    auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(d));
    // Query i (at position past + i) sees keys 0..past + i.
    const auto mask = torch::ones({t, past + t}, torch::kBool).triu(past + 1);
    scores = scores.masked_fill(mask, -std::numeric_limits<float>::infinity());
    auto att = torch::matmul(torch::softmax(scores, -1), v);  // [B, H, t, d]
    x = x + blk.proj->forward(att.transpose(1, 2).reshape({b, t, h * d}));
    x = x + blk.out->forward(torch::gelu(blk.fc->forward(blk.ln2->forward(x))));
  }
  return x;
}

torch::Tensor TokenPolicyImpl::hidden(const torch::Tensor& tokens) {
  return final_->forward(blocks(embed(tokens, 0), nullptr, nullptr));
}

torch::Tensor TokenPolicyImpl::forward(const torch::Tensor& tokens) {
  return head_->forward(hidden(tokens));
}

std::pair<torch::Tensor, torch::Tensor> TokenPolicyImpl::token_log_probs_and_hidden(
    const torch::Tensor& tokens) {
  const int64_t t = tokens.size(1);
  auto h = hidden(tokens.slice(1, 0, t - 1));
  const auto logp = torch::log_softmax(head_->forward(h), -1);
  return {logp.gather(2, tokens.slice(1, 1, t).unsqueeze(-1)).squeeze(-1), std::move(h)};
}

torch::Tensor TokenPolicyImpl::token_log_probs(const torch::Tensor& tokens) {
  return token_log_probs_and_hidden(tokens).first;
}

Samples TokenPolicyImpl::sample(const torch::Tensor& prompts, const SampleOptions& o,
                                torch::Generator generator) {
  torch::NoGradGuard no_grad;
  if (o.temperature < 0.0 || o.top_p <= 0.0 || o.top_p > 1.0)
    fail("sampling: temperature must be >= 0 and top_p in (0, 1], got {} and {}", o.temperature,
         o.top_p);
  const int64_t b = prompts.size(0), p = prompts.size(1);
  if (prompts.dim() != 2 || b < 1 || p < 1 || o.max_new_tokens < 1)
    fail("sampling: needs prompts [B >= 1, P >= 1] and max_new_tokens >= 1");
  if (p + o.max_new_tokens > config_.context) {
    fail("sampling: a prompt of {} and {} new tokens pass the context of {}", p, o.max_new_tokens,
         config_.context);
  }
  std::vector<torch::Tensor> keys(blocks_.size()), values(blocks_.size());
  auto hidden = blocks(embed(prompts, 0), &keys, &values);
  auto logits = head_->forward(final_->forward(hidden.select(1, p - 1)));  // [B, vocab]
  std::vector<torch::Tensor> tokens{prompts}, log_probs, masks;
  auto alive = torch::ones({b}, torch::kBool);
  for (int64_t i = 0; i < o.max_new_tokens; ++i) {
    const auto logp = torch::log_softmax(logits, -1);
    torch::Tensor next;
    if (o.temperature == 0.0) {
      next = logits.argmax(-1);
    } else {
      auto probs = torch::softmax(logits / o.temperature, -1);
      if (o.top_p < 1.0) {
        auto [sorted, order] = probs.sort(-1, /*descending=*/true);
        // Keep a token while the mass before it is below top_p (the first always).
        const auto before = sorted.cumsum(-1) - sorted;
        sorted = sorted.masked_fill(before >= o.top_p, 0.0);
        probs = torch::zeros_like(probs).scatter(-1, order, sorted);
      }
      next = torch::multinomial(probs, 1, /*replacement=*/false, generator).squeeze(-1);
    }
    masks.push_back(alive.to(torch::kFloat32));
    log_probs.push_back(logp.gather(1, next.unsqueeze(-1)).squeeze(-1) * masks.back());
    next = torch::where(alive, next, torch::full_like(next, o.pad));
    tokens.push_back(next.unsqueeze(1));
    alive = alive & (next != o.eos);
    if (!alive.any().item<bool>() || i + 1 == o.max_new_tokens) break;
    if (o.kv_cache) {
      hidden = blocks(embed(next.unsqueeze(1), p + i), &keys, &values);
      logits = head_->forward(final_->forward(hidden.select(1, 0)));
    } else {
      logits = forward(torch::cat(tokens, 1)).select(1, p + i);
    }
  }
  return {.tokens = torch::cat(tokens, 1),
          .log_probs = torch::stack(log_probs, 1),
          .mask = torch::stack(masks, 1)};
}

}  // namespace stitch::lm
