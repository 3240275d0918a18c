#include "lm/rl_losses.h"

namespace stitch::lm {

torch::Tensor group_advantages(const std::string& method, const torch::Tensor& r) {
  const auto mean = r.mean();
  if (method == "grpo") return (r - mean) / (r.std(/*unbiased=*/true) + 1e-4);
  if (method == "dr_grpo") return r - mean;
  const double g = static_cast<double>(r.size(0));  // rloo: the mean of the other G - 1
  return (r - mean) * (g / (g - 1.0));
}

torch::Tensor grpo_loss(const std::string& method, const torch::Tensor& lp,
                        const torch::Tensor& old_lp, const torch::Tensor& ref_lp,
                        const torch::Tensor& mask, const torch::Tensor& adv, double clip,
                        double beta, int64_t max_new_tokens) {
  const auto ratio = torch::exp(lp - old_lp);
  const auto a = adv.unsqueeze(1);
  torch::Tensor per_token = -torch::min(ratio * a, torch::clamp(ratio, 1.0 - clip, 1.0 + clip) * a);
  if (ref_lp.defined() && beta > 0) {
    const auto d = ref_lp - lp;
    per_token = per_token + beta * (torch::exp(d) - d - 1.0);
  }
  if (method == "grpo") return ((per_token * mask).sum(1) / mask.sum(1).clamp_min(1.0)).mean();
  return (per_token * mask).sum() / static_cast<double>(max_new_tokens * lp.size(0));
}

torch::Tensor rloo_loss(const torch::Tensor& lp, const torch::Tensor& mask,
                        const torch::Tensor& adv) {
  return -(adv * (lp * mask).sum(1)).mean();
}

torch::Tensor dpo_loss(const torch::Tensor& winner, const torch::Tensor& loser, double beta) {
  return -torch::log_sigmoid(beta * (winner - loser));
}

torch::Tensor ppo_rewards(const torch::Tensor& lp, const torch::Tensor& ref_lp,
                          const torch::Tensor& mask, const torch::Tensor& r, double beta) {
  auto rewards = -beta * (lp - ref_lp) * mask;
  const auto last = (mask.sum(1) - 1.0).clamp_min(0.0).to(torch::kLong).unsqueeze(1);
  return rewards.scatter_add(1, last, r.unsqueeze(1).to(rewards.dtype()));
}

torch::Tensor gae(const torch::Tensor& rewards, const torch::Tensor& values,
                  const torch::Tensor& mask, double gamma, double lambda) {
  const int64_t n = rewards.size(1);
  auto adv = torch::zeros_like(rewards);
  auto next_value = torch::zeros({rewards.size(0)}, rewards.options());
  auto next_adv = torch::zeros_like(next_value);
  for (int64_t t = n - 1; t >= 0; --t) {
    const auto m = mask.select(1, t);
    const auto v = values.select(1, t);
    const auto delta = rewards.select(1, t) + gamma * next_value - v;
    const auto a = (delta + gamma * lambda * next_adv) * m;
    adv.select(1, t).copy_(a);
    // A masked-out token ends its row: what lies after it counts for nothing.
    next_value = v * m;
    next_adv = a;
  }
  return adv;
}

PpoLoss ppo_loss(const torch::Tensor& lp, const torch::Tensor& old_lp, const torch::Tensor& values,
                 const torch::Tensor& old_values, const torch::Tensor& adv,
                 const torch::Tensor& returns, const torch::Tensor& mask, double clip,
                 double value_clip, double vf_coef) {
  const auto tokens = mask.sum().clamp_min(1.0);
  const auto ratio = torch::exp(lp - old_lp);
  const auto pg = torch::max(-adv * ratio, -adv * torch::clamp(ratio, 1.0 - clip, 1.0 + clip));
  const auto clipped = old_values + torch::clamp(values - old_values, -value_clip, value_clip);
  const auto vf = torch::max((values - returns).square(), (clipped - returns).square());
  PpoLoss out;
  out.policy = (pg * mask).sum() / tokens;
  out.value = 0.5 * (vf * mask).sum() / tokens;
  out.total = out.policy + vf_coef * out.value;
  return out;
}

}  // namespace stitch::lm
