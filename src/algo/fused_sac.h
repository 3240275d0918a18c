// Pieces of the SAC family's update on the fused path (nn/fused_mlp.h), shared by SAC
// (src/algo/online/sac.cpp) and CQL (src/algo/offline/cql.cpp).
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "nn/nn.h"

namespace stitch::fused_sac {

// The actor's loss mean(alpha log pi(a|s) - min_k Q_k(s, a)), a ~ pi(s) reparameterised, with
// Q's weights fixed: its value, and the policy's gradients written by policy.backward. `pi` and
// `log_pi` come from policy.sample(s, ...), the last sample the policy took. The two members run
// as two tasks of `pool`.
class MinQActorLoss {
 public:
  double backward(nn::FusedTanhGaussian& policy, const nn::fused::Mlp (&q_frozen)[2], ThreadPool& pool,
                  const float* s, const float* pi, const float* log_pi, int64_t rows, int64_t obs_dim,
                  int64_t act_dim, double alpha);

 private:
  nn::fused::Tape tape_[2];
  std::vector<float> x_, dq_[2], dx_[2], dpi_, dlog_pi_;
};

// The target Qs' smaller value at (s', a'): out[i] = min_k Q'_k(s'_i, a'_i), members as two tasks.
void min_target_q(const nn::fused::Mlp (&q_target)[2], ThreadPool& pool, const float* s2, const float* a2,
                  int64_t rows, int64_t obs_dim, int64_t act_dim, std::vector<float>& x, nn::fused::Tape (&tapes)[2],
                  float* out);

}  // namespace stitch::fused_sac
