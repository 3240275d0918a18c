// Pieces shared by the updates on the fused path (nn/fused_mlp.h): IQL, TD3/TD3+BC, CQL, SAC.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "core/thread_pool.h"
#include "nn/nn.h"

namespace stitch {
struct TensorBatch;
}

namespace stitch::fused_steps {

// A minibatch's columns as raw pointers (contiguous float32, checked).
struct RawBatch {
  explicit RawBatch(const TensorBatch& b);
  int64_t rows;
  const float *s, *a, *s2, *r, *terminal, *discount;
};

// The pool of the compute threads (at most 2 tasks at once), rebuilt when their number changed.
ThreadPool& task_pool(std::unique_ptr<ThreadPool>& pool);

// Half h (0 or 1) of one Adam step over a flat buffer, so that two tasks share the step (call
// adam->advance() once before both): adds `second` (another half-batch's gradient of the same
// layout; null: none) into the gradient, steps Adam, then moves `target` (null: none) towards
// the new parameters by tau (Polyak).
void adam_half(int h, nn::FlatAdam& adam, nn::FlatParameters& params, const float* second = nullptr,
               nn::FlatParameters* target = nullptr, float tau = 0.0f);

// One Adam step of a scalar parameter (an entropy or Lagrange multiplier) whose gradient is g.
void scalar_adam_step(torch::Tensor& p, torch::optim::Adam& optim, double g);

// One critic member's TD step on `rows` rows of a minibatch of `batch`: Q = net(x),
// L = sum (Q - target)^2 / batch, its gradient written into the member's slots (dq: scratch).
// Returns (L, sum of Q).
std::pair<double, double> td_member_step(const nn::fused::Mlp& net, nn::fused::Tape& tape,
                                         const float* x, const float* target, int64_t rows,
                                         int64_t batch, std::vector<float>& dq);

// The actor's loss mean(alpha log pi(a|s) - min_k Q_k(s, a)), a ~ pi(s) reparameterised, with
// Q's weights fixed: its value, and the policy's gradients written by policy.backward. `pi` and
// `log_pi` come from policy.sample(s, ...), the last sample the policy took. The two members run
// as two tasks of `pool`.
class MinQActorLoss {
 public:
  double backward(nn::FusedTanhGaussian& policy, const nn::fused::Mlp (&q_frozen)[2],
                  ThreadPool& pool, const float* s, const float* pi, const float* log_pi,
                  int64_t rows, int64_t obs_dim, int64_t act_dim, double alpha);

 private:
  nn::fused::Tape tape_[2];
  std::vector<float> x_, dq_[2], dx_[2], dpi_, dlog_pi_;
};

// The target Qs' smaller value at (s', a'): out[i] = min_k Q'_k(s'_i, a'_i), members as two tasks.
void min_target_q(const nn::fused::Mlp (&q_target)[2], ThreadPool& pool, const float* s2,
                  const float* a2, int64_t rows, int64_t obs_dim, int64_t act_dim,
                  std::vector<float>& x, nn::fused::Tape (&tapes)[2], float* out);

}  // namespace stitch::fused_steps
