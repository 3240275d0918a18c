#include "algo/losses.h"

#include <cmath>

namespace stitch::losses {

torch::Tensor expectile_loss(const torch::Tensor& u, double tau) {
  const auto weight = torch::where(u < 0, torch::full_like(u, 1.0 - tau), torch::full_like(u, tau));
  return (weight * u * u).mean();
}

torch::Tensor awr_weights(const torch::Tensor& advantage, double temperature, double max_weight) {
  return torch::exp(temperature * advantage).clamp_max(max_weight);
}

torch::Tensor td3_bc_actor_loss(const torch::Tensor& q, const torch::Tensor& policy_actions,
                                const torch::Tensor& dataset_actions, double alpha) {
  const auto lambda = alpha / q.abs().mean().detach();
  return -lambda * q.mean() + (policy_actions - dataset_actions).pow(2).mean();
}

torch::Tensor td_target(const torch::Tensor& rewards, const torch::Tensor& discounts,
                        const torch::Tensor& terminals, const torch::Tensor& next_value) {
  return (rewards + discounts * (1.0 - terminals) * next_value).detach();
}

}  // namespace stitch::losses

namespace stitch::losses {

torch::Tensor cql_conservative_term(const torch::Tensor& q_random, const torch::Tensor& q_policy,
                                    const torch::Tensor& log_pi_policy,
                                    const torch::Tensor& q_next_policy,
                                    const torch::Tensor& log_pi_next_policy,
                                    const torch::Tensor& q_data, int64_t act_dim,
                                    double max_action) {
  const double log_uniform = -static_cast<double>(act_dim) * std::log(2.0 * max_action);
  const auto cat = torch::cat(
      {q_random - log_uniform, q_policy - log_pi_policy, q_next_policy - log_pi_next_policy}, 1);
  return (torch::logsumexp(cat, 1) - q_data).mean();
}

}  // namespace stitch::losses
