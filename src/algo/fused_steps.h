// Pieces shared by the updates on the fused path (nn/fused_mlp.h): IQL, TD3/TD3+BC, CQL, SAC
// (whose own shared steps are in algo/sac_core.h; the losses' arithmetic is in algo/losses.h).
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
  // Null unless the batch has them (SamplerOptions::next_actions).
  const float *next_a = nullptr, *next_a_valid = nullptr;
  const float* returns_to_go = nullptr;  // null unless the batch has them (Cal-QL)
};

// The pool of the compute threads (at most 2 tasks at once), rebuilt when their number changed.
ThreadPool& task_pool(std::unique_ptr<ThreadPool>& pool);

// An Adam over `params` with learning rate lr (Adam's other options at their defaults).
nn::FlatAdam flat_adam(const nn::FlatParameters& params, double lr);

// Half h (0 or 1) of one Adam step over a flat buffer, so that two tasks share the step (call
// adam->advance() once before both): adds `second` (another half-batch's gradient of the same
// layout; null: none) into the gradient, steps Adam, then moves `target` (null: none) towards
// the new parameters by tau (Polyak); with target_first, towards the parameters before the step.
void adam_half(int h, nn::FlatAdam& adam, nn::FlatParameters& params, const float* second = nullptr,
               nn::FlatParameters* target = nullptr, float tau = 0.0f, bool target_first = false);

// One critic member's TD step on `rows` rows of a minibatch of `batch`: Q = net(x),
// L = sum (Q - target)^2 / batch (losses::squared_td_error), or with huber_delta > 0 the Huber
// loss (losses::huber_td_error), its gradient written into the member's slots (dq: scratch).
// Returns (L, sum of Q).
std::pair<double, double> td_member_step(const nn::fused::Mlp& net, nn::fused::Tape& tape,
                                         const float* x, const float* target, int64_t rows,
                                         int64_t batch, std::vector<float>& dq,
                                         float huber_delta = 0.0f);

}  // namespace stitch::fused_steps
