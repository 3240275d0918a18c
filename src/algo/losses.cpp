#include "algo/losses.h"

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
