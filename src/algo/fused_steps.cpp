#include "algo/fused_steps.h"

#include <algorithm>

#include "algo/algorithm.h"
#include "algo/losses.h"
#include "core/error.h"
#include "core/runtime.h"

namespace stitch::fused_steps {
namespace {

const float* column(const torch::Tensor& t, const char* name) {
  STITCH_CHECK(t.scalar_type() == torch::kFloat32 && t.is_contiguous(),
               "fused update: batch.{} must be contiguous float32", name);
  return t.data_ptr<float>();
}

}  // namespace

RawBatch::RawBatch(const TensorBatch& b)
    : rows(b.observations.size(0)),
      s(column(b.observations, "observations")),
      a(column(b.actions, "actions")),
      s2(column(b.next_observations, "next_observations")),
      r(column(b.rewards, "rewards")),
      terminal(column(b.terminals, "terminals")),
      discount(column(b.discounts, "discounts")) {
  if (b.next_actions.defined()) {
    next_a = column(b.next_actions, "next_actions");
    next_a_valid = column(b.next_action_valid, "next_action_valid");
  }
  if (b.returns_to_go.defined()) returns_to_go = column(b.returns_to_go, "returns_to_go");
}

ThreadPool& task_pool(std::unique_ptr<ThreadPool>& pool) {
  const int threads = std::min(2, compute_threads());
  if (!pool || pool->size() != threads) pool = std::make_unique<ThreadPool>(threads);
  return *pool;
}

nn::FlatAdam flat_adam(const nn::FlatParameters& params, double lr) {
  return nn::FlatAdam(params.size(), nn::fused::AdamOptions{.lr = static_cast<float>(lr)});
}

void adam_half(int h, nn::FlatAdam& adam, nn::FlatParameters& params, const float* second,
               nn::FlatParameters* target, float tau, bool target_first) {
  const int64_t size = params.size(), begin = h == 0 ? 0 : size / 2, end = h == 0 ? size / 2 : size;
  if (second != nullptr) nn::fused::axpy_range(params.grad(), second, begin, end);
  auto move_target = [&] {
    if (target != nullptr)
      nn::fused::polyak(target->data() + begin, params.data() + begin, end - begin, tau);
  };
  if (target_first) move_target();
  adam->step(params, begin, end);
  if (!target_first) move_target();
}

std::pair<double, double> td_member_step(const nn::fused::Mlp& net, nn::fused::Tape& tape,
                                         const float* x, const float* target, int64_t rows,
                                         int64_t batch, std::vector<float>& dq, float huber_delta) {
  nn::fused::forward(net, x, rows, tape);
  dq.resize(static_cast<size_t>(rows));
  const auto loss_and_sum =
      huber_delta > 0.0f
          ? losses::huber_td_error(tape.output(), target, rows, batch, huber_delta, dq.data())
          : losses::squared_td_error(tape.output(), target, rows, batch, dq.data());
  nn::fused::backward(net, tape, dq.data(), nullptr);
  return loss_and_sum;
}

}  // namespace stitch::fused_steps
