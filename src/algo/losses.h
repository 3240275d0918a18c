// The loss functions of the offline algorithms, as free functions so that tests can check them
// against hand-computed values on tiny fixed inputs. Shapes are [B] unless noted.
#pragma once

#include <torch/torch.h>

namespace stitch::losses {

// IQL's expectile regression (Kostrikov et al. 2021, Eq. 5): mean(|tau - 1(u < 0)| * u^2),
// u = target - prediction.
torch::Tensor expectile_loss(const torch::Tensor& u, double tau);

// IQL's advantage weights for AWR extraction: exp(temperature * advantage), clipped at `max`
// (100 in the paper's code).
torch::Tensor awr_weights(const torch::Tensor& advantage, double temperature, double max_weight);

// TD3+BC's actor loss (Fujimoto & Gu 2021, Eq. 3): -lambda * mean(Q(s, pi(s))) +
// mean((pi(s) - a)^2) with lambda = alpha / mean(|Q(s, pi(s))|) (lambda not differentiated).
// q [B]; policy_actions, dataset_actions [B, act_dim].
torch::Tensor td3_bc_actor_loss(const torch::Tensor& q, const torch::Tensor& policy_actions,
                                const torch::Tensor& dataset_actions, double alpha);

// The TD target r + discount * (1 - terminal) * next_value (next_value not differentiated).
torch::Tensor td_target(const torch::Tensor& rewards, const torch::Tensor& discounts,
                        const torch::Tensor& terminals, const torch::Tensor& next_value);

}  // namespace stitch::losses

namespace stitch::losses {

// CQL's conservative term (Kumar et al. 2020, CQL(H) with importance sampling, App. F):
// mean over the batch of logsumexp over 3N sampled actions of
//   [Q(s, a_rand) - log U, Q(s, a_pi(s)) - log pi(a|s), Q(s, a_pi(s')) - log pi(a|s')]
// minus Q(s, a_data), where log U = -act_dim * log(2 * max_action) is the uniform density.
// q_* [B, N], log_pi_* [B, N], q_data [B].
torch::Tensor cql_conservative_term(const torch::Tensor& q_random, const torch::Tensor& q_policy,
                                    const torch::Tensor& log_pi_policy,
                                    const torch::Tensor& q_next_policy,
                                    const torch::Tensor& log_pi_next_policy,
                                    const torch::Tensor& q_data, int64_t act_dim,
                                    double max_action);

}  // namespace stitch::losses
