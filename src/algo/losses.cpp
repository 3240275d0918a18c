#include "algo/losses.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace stitch::losses {

void td_target(const float* reward, const float* discount, const float* terminal,
               const float* next_value, int64_t rows, float* out) {
  for (int64_t i = 0; i < rows; ++i)
    out[i] = reward[i] + discount[i] * (1.0f - terminal[i]) * next_value[i];
}

std::pair<double, double> squared_td_error(const float* q, const float* target, int64_t rows,
                                           int64_t batch, float* dq) {
  double loss = 0, sum = 0;
  for (int64_t i = 0; i < rows; ++i) {
    const float d = q[i] - target[i];
    loss += static_cast<double>(d) * d;
    sum += q[i];
    dq[i] = 2.0f * d / static_cast<float>(batch);
  }
  return {loss / static_cast<double>(batch), sum};
}

std::pair<double, double> huber_td_error(const float* q, const float* target, int64_t rows,
                                         int64_t batch, float delta, float* dq) {
  const float inv_batch = 1.0f / static_cast<float>(batch);
  double loss = 0, sum = 0;
  for (int64_t i = 0; i < rows; ++i) {
    const float d = q[i] - target[i];
    const float ad = std::abs(d);
    if (ad < delta) {
      loss += static_cast<double>(d) * d / (2.0 * delta);
      dq[i] = d / delta * inv_batch;
    } else {
      loss += static_cast<double>(ad) - 0.5 * delta;
      dq[i] = (d > 0 ? 1.0f : -1.0f) * inv_batch;
    }
    sum += q[i];
  }
  return {loss / static_cast<double>(batch), sum};
}

float quantile(float* values, int n, float alpha) {
  std::sort(values, values + n);
  const double pos = static_cast<double>(alpha) * (n - 1);
  const int lo = static_cast<int>(std::floor(pos));
  if (lo >= n - 1) return values[n - 1];
  const float frac = static_cast<float>(pos - lo);
  return values[lo] + frac * (values[lo + 1] - values[lo]);
}

double expectile_loss(const float* u, int64_t rows, float tau, int64_t batch, float* d_prediction) {
  const float inv_batch = 1.0f / static_cast<float>(batch);
  double sum = 0;
  for (int64_t i = 0; i < rows; ++i) {
    const float w = u[i] < 0 ? 1.0f - tau : tau;
    sum += static_cast<double>(w) * u[i] * u[i];
    d_prediction[i] = -2.0f * w * u[i] * inv_batch;
  }
  return sum;
}

float awr_weight(float advantage, float temperature, float max_weight) {
  return std::min(std::exp(temperature * advantage), max_weight);
}

double td3_bc_lambda(double alpha, double q_abs_sum, int64_t batch) {
  return alpha / (q_abs_sum / static_cast<double>(batch));
}

double behaviour_cloning(const float* pi, const float* a, int64_t count, int64_t total, float* d_pi,
                         float weight) {
  const float coef = 2.0f * weight / static_cast<float>(total);
  double sum = 0;
  for (int64_t e = 0; e < count; ++e) {
    const float d = pi[e] - a[e];
    sum += static_cast<double>(d) * d;
    d_pi[e] += coef * d;
  }
  return sum;
}

double td3_bc_actor_loss(double lambda, double q_mean, bool bc, double bc_sum, int64_t total) {
  double loss = -lambda * q_mean;
  if (bc) loss += bc_sum / static_cast<double>(total);
  return loss;
}

double min_q_actor_loss(const float* const* q, int members, const float* log_pi, int64_t rows,
                        double alpha, float* const* dq, float* dlog_pi) {
  const float inv_rows = 1.0f / static_cast<float>(rows);
  double loss = 0;
  for (int64_t i = 0; i < rows; ++i) {
    int smallest = 0;  // torch's min(0) picks the first of equal values
    for (int k = 1; k < members; ++k) {
      if (q[k][i] < q[smallest][i]) smallest = k;
    }
    loss += alpha * log_pi[i] - q[smallest][i];
    for (int k = 0; k < members; ++k) {
      dq[k][i] = k == smallest ? -inv_rows : 0.0f;  // the gradient flows to that member only
    }
    dlog_pi[i] = static_cast<float>(alpha) * inv_rows;
  }
  return loss / static_cast<double>(rows);
}

TemperatureGradient sac_temperature_loss(const float* log_pi, int64_t rows, double target_entropy) {
  double mean = 0;
  for (int64_t i = 0; i < rows; ++i) mean += log_pi[i];
  mean /= static_cast<double>(rows);
  return {.log_pi_mean = mean, .d_log_alpha = -(mean + target_entropy)};
}

double cql_logsumexp(const float* const (&q)[3], const float* const (&log_pi)[2],
                     double log_uniform, int64_t n, double weight, int64_t batch,
                     float* const (&dq)[3], std::vector<double>& scratch, float lower_bound) {
  std::vector<double>& v = scratch;
  v.resize(static_cast<size_t>(3 * n));
  double top = -std::numeric_limits<double>::infinity();
  for (int b = 0; b < 3; ++b) {
    for (int64_t j = 0; j < n; ++j) {
      const float bounded = b == 0 ? q[b][j] : std::max(q[b][j], lower_bound);
      const double value = static_cast<double>(bounded) - (b == 0 ? log_uniform : log_pi[b - 1][j]);
      v[b * n + j] = value;
      top = std::max(top, value);
    }
  }
  double sum = 0;
  for (auto& value : v) sum += (value = std::exp(value - top));
  for (int b = 0; b < 3; ++b) {
    for (int64_t j = 0; j < n; ++j) {
      const bool clipped = b > 0 && q[b][j] < lower_bound;
      dq[b][j] = clipped
                     ? 0.0f
                     : static_cast<float>(weight * v[b * n + j] / sum / static_cast<double>(batch));
    }
  }
  return top + std::log(sum);
}

double cql_lagrange_gradient(double log_alpha_prime, double weight, double gap, double target_gap) {
  const double e = std::exp(log_alpha_prime);
  const double inside = (e >= 0.0 && e <= 1e6) ? 1.0 : 0.0;
  return -e * inside * weight * (gap - target_gap);
}

}  // namespace stitch::losses
