// SAC's tanh-Gaussian actor on the torch-free path: a ReLU trunk, a mean head and a log-std head,
//   a = max_action tanh(mean + exp(clamp(log_std, min, max)) eps),  eps ~ N(0, 1),
// or max_action tanh(mean) when deterministic. For actors that step environments with a learner's
// newest parameters (dist/dist_train.h) without libtorch: the dense kernels of nn/dense.h, no
// allocation per call, one thread at a time per object.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/rng.h"

namespace stitch {

class GaussianPolicy {
 public:
  struct Shape {
    int64_t obs_dim = 0, act_dim = 0;
    std::vector<int64_t> hidden;  // the trunk's widths
    float max_action = 1.0f;
    float log_std_min = -20.0f, log_std_max = 2.0f;
  };
  explicit GaussianPolicy(Shape shape);

  // Values in set_parameters' order and layout.
  int64_t parameter_count() const;
  // Every trunk layer, then the mean head, then the log-std head, each as torch's Linear keeps it:
  // weight [out, in] row-major, then bias [out]. Error when n is not parameter_count().
  void set_parameters(const float* values, int64_t n);

  // obs [rows, obs_dim] -> actions [rows, act_dim]; the noise from rng (rows x act_dim normals,
  // row by row) unless deterministic.
  void act(std::span<const float> obs, int64_t rows, Rng& rng, std::span<float> actions,
           bool deterministic = false) const;

  const Shape& shape() const { return shape_; }

 private:
  struct Layer {
    int64_t in = 0, out = 0;
    std::vector<float> weight;  // [in, out] (nn/dense.h's layout)
    std::vector<float> bias;
  };
  Shape shape_;
  std::vector<Layer> trunk_;
  Layer mean_, log_std_;
  mutable std::vector<float> a_, b_, mean_out_, log_std_out_;
};

}  // namespace stitch
