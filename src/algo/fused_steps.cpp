#include "algo/fused_steps.h"

#include <algorithm>

#include "algo/algorithm.h"
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
      discount(column(b.discounts, "discounts")) {}

ThreadPool& task_pool(std::unique_ptr<ThreadPool>& pool) {
  const int threads = std::min(2, compute_threads());
  if (!pool || pool->size() != threads) pool = std::make_unique<ThreadPool>(threads);
  return *pool;
}

void adam_half(int h, nn::FlatAdam& adam, nn::FlatParameters& params, const float* second,
               nn::FlatParameters* target, float tau) {
  const int64_t size = params.size(), begin = h == 0 ? 0 : size / 2, end = h == 0 ? size / 2 : size;
  if (second != nullptr) nn::fused::axpy_range(params.grad(), second, begin, end);
  adam->step(params, begin, end);
  if (target != nullptr)
    nn::fused::polyak(target->data() + begin, params.data() + begin, end - begin, tau);
}

void scalar_adam_step(torch::Tensor& p, torch::optim::Adam& optim, double g) {
  p.mutable_grad() = torch::full({}, g);
  optim.step();
}

std::pair<double, double> td_member_step(const nn::fused::Mlp& net, nn::fused::Tape& tape,
                                         const float* x, const float* target, int64_t rows,
                                         int64_t batch, std::vector<float>& dq) {
  nn::fused::forward(net, x, rows, tape);
  const float* q = tape.output();
  dq.resize(static_cast<size_t>(rows));
  double loss = 0, sum = 0;
  for (int64_t i = 0; i < rows; ++i) {
    const float d = q[i] - target[i];
    loss += static_cast<double>(d) * d;
    sum += q[i];
    dq[i] = 2.0f * d / static_cast<float>(batch);
  }
  nn::fused::backward(net, tape, dq.data(), nullptr);
  return {loss / static_cast<double>(batch), sum};
}

double MinQActorLoss::backward(nn::FusedTanhGaussian& policy, const nn::fused::Mlp (&q_frozen)[2],
                               ThreadPool& pool, const float* s, const float* pi,
                               const float* log_pi, int64_t rows, int64_t obs_dim, int64_t act_dim,
                               double alpha) {
  const int64_t cols = obs_dim + act_dim;
  const auto n = static_cast<size_t>(rows);
  x_.resize(n * static_cast<size_t>(cols));
  nn::fused::concat_columns(s, obs_dim, pi, act_dim, rows, x_.data());
  pool.parallel_for(2,
                    [&](int64_t k) { nn::fused::forward(q_frozen[k], x_.data(), rows, tape_[k]); });
  const float *qa = tape_[0].output(), *qb = tape_[1].output();
  for (auto& v : dq_) v.resize(n);
  dlog_pi_.resize(n);
  const float inv_rows = 1.0f / static_cast<float>(rows);
  double loss = 0;
  for (int64_t i = 0; i < rows; ++i) {
    const bool first = qa[i] <= qb[i];  // torch's min(0) picks the first of equal values
    loss += alpha * log_pi[i] - (first ? qa[i] : qb[i]);
    dq_[0][i] = first ? -inv_rows : 0.0f;  // the gradient flows to the smaller member only
    dq_[1][i] = first ? 0.0f : -inv_rows;
    dlog_pi_[i] = static_cast<float>(alpha) * inv_rows;
  }
  for (auto& v : dx_) v.resize(n * static_cast<size_t>(cols));
  pool.parallel_for(2, [&](int64_t k) {
    nn::fused::backward(q_frozen[k], tape_[k], dq_[k].data(), dx_[k].data());
  });
  dpi_.resize(n * static_cast<size_t>(act_dim));
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < act_dim; ++j) {
      dpi_[i * act_dim + j] = dx_[0][i * cols + obs_dim + j] + dx_[1][i * cols + obs_dim + j];
    }
  }
  policy.backward(dpi_.data(), dlog_pi_.data());
  return loss / static_cast<double>(rows);
}

void min_target_q(const nn::fused::Mlp (&q_target)[2], ThreadPool& pool, const float* s2,
                  const float* a2, int64_t rows, int64_t obs_dim, int64_t act_dim,
                  std::vector<float>& x, nn::fused::Tape (&tapes)[2], float* out) {
  x.resize(static_cast<size_t>(rows * (obs_dim + act_dim)));
  nn::fused::concat_columns(s2, obs_dim, a2, act_dim, rows, x.data());
  pool.parallel_for(2,
                    [&](int64_t k) { nn::fused::forward(q_target[k], x.data(), rows, tapes[k]); });
  const float *t1 = tapes[0].output(), *t2 = tapes[1].output();
  for (int64_t i = 0; i < rows; ++i) out[i] = std::min(t1[i], t2[i]);
}

}  // namespace stitch::fused_steps
