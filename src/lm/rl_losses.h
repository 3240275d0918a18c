// The losses of `stitch lm rl` (lm/rl.h says which paper each follows), as functions of tensors so
// that tests can check them against hand-computed values. Shapes: a group or batch of B sampled
// completions of n tokens each, `mask` [B, n] 1 on the tokens up to and including eos; log-
// probabilities [B, n] of the sampled tokens.
#pragma once

#include <torch/torch.h>

#include <string>

namespace stitch::lm {

// A group's advantages from its rewards r [G]: grpo (r - mean) / (std + 1e-4) with Bessel's
// correction; dr_grpo r - mean; rloo r minus the mean of the other G - 1.
torch::Tensor group_advantages(const std::string& method, const torch::Tensor& r);

// GRPO's loss on one group: per token -min(ratio A, clip(ratio, 1 - clip, 1 + clip) A) + beta
// k3(ref, lp) with ratio exp(lp - old_lp) and k3 = exp(ref - lp) - (ref - lp) - 1 (ref_lp
// undefined: no KL term). grpo averages each completion's tokens, then the completions; dr_grpo
// sums every token term and divides by max_new_tokens x B. adv [B].
torch::Tensor grpo_loss(const std::string& method, const torch::Tensor& lp,
                        const torch::Tensor& old_lp, const torch::Tensor& ref_lp,
                        const torch::Tensor& mask, const torch::Tensor& adv, double clip,
                        double beta, int64_t max_new_tokens);

// RLOO's REINFORCE loss: -(1/B) sum_i adv_i sum_t lp_it.
torch::Tensor rloo_loss(const torch::Tensor& lp, const torch::Tensor& mask,
                        const torch::Tensor& adv);

// DPO's loss for one pair: -log sigmoid(beta (winner - loser)), each the sum over its tokens of
// log pi - log pi_ref.
torch::Tensor dpo_loss(const torch::Tensor& winner, const torch::Tensor& loser, double beta);

// PPO's per-token rewards: -beta (lp - ref_lp) on every token (the KL penalty of Ziegler et al.
// 2019, as TRL's PPOTrainer), plus the checker's reward r [B] on each completion's last token.
torch::Tensor ppo_rewards(const torch::Tensor& lp, const torch::Tensor& ref_lp,
                          const torch::Tensor& mask, const torch::Tensor& r, double beta);

// Generalised advantage estimation (Schulman et al. 2016) along each row's tokens: delta_t = r_t +
// gamma V_{t+1} - V_t with V after the last masked-in token 0, A_t = delta_t + gamma lambda
// A_{t+1}. rewards, values, mask [B, n]; the result is 0 where mask is 0.
torch::Tensor gae(const torch::Tensor& rewards, const torch::Tensor& values,
                  const torch::Tensor& mask, double gamma, double lambda);

// PPO's loss (Schulman et al. 2017; the clipped value loss of Ziegler et al. 2019 as TRL's
// PPOTrainer computes it), means over the masked-in tokens:
//   policy = mean max(-A ratio, -A clip(ratio, 1 - clip, 1 + clip)), ratio = exp(lp - old_lp)
//   value  = 0.5 mean max((V - R)^2, (clip(V, V_old - value_clip, V_old + value_clip) - R)^2)
//   total  = policy + vf_coef value
struct PpoLoss {
  torch::Tensor total, policy, value;
};
PpoLoss ppo_loss(const torch::Tensor& lp, const torch::Tensor& old_lp, const torch::Tensor& values,
                 const torch::Tensor& old_values, const torch::Tensor& adv,
                 const torch::Tensor& returns, const torch::Tensor& mask, double clip,
                 double value_clip, double vf_coef);

}  // namespace stitch::lm
