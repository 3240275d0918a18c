// The fused path's bf16 products (nn/matmul.h) against fp32: within bf16's rounding, on any CPU
// (oneDNN runs a reference kernel where the CPU has no bf16 instructions), and fp32 unchanged.
#include "nn/matmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "algo/algorithm.h"
#include "core/config.h"
#include "core/runtime.h"
#include "nn/fused_mlp.h"
#include "nn/nn.h"

namespace stitch {
namespace {

using nn::fused::Precision;

// Restores fp32 when a test ends, whatever it set.
struct PrecisionGuard {
  ~PrecisionGuard() { nn::fused::set_matmul_precision(Precision::kFp32); }
};

std::vector<float> random_values(int64_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist;
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(gen);
  return v;
}

// ||a - b|| / ||b|| (Euclidean).
double norm_error(const std::vector<float>& a, const std::vector<float>& b) {
  double err = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    err += static_cast<double>(a[i] - b[i]) * (a[i] - b[i]);
    scale += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(err / scale);
}

// Max |a - b| over max |b|.
double relative_error(const std::vector<float>& a, const std::vector<float>& b) {
  double err = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    err = std::max(err, static_cast<double>(std::abs(a[i] - b[i])));
    scale = std::max(scale, static_cast<double>(std::abs(b[i])));
  }
  return err / scale;
}

TEST(Bf16, RoundingIsNearestEvenAndKeepsNaN) {
  const float in[] = {1.0f, 1.00390625f /* 1 + 2^-8: a tie, to even (1) */,
                      1.01171875f /* 1 + 3 * 2^-8: a tie, to even (1 + 2^-6) */, -2.5f,
                      std::nanf("")};
  float out[5];
  nn::fused::round_to_bf16(in, out, 5);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], 1.0f);
  EXPECT_EQ(out[2], 1.015625f);
  EXPECT_EQ(out[3], -2.5f);
  EXPECT_TRUE(std::isnan(out[4]));
}

// Every transpose combination, accumulating and not, against an fp32 product of the same
// inputs: bf16 keeps 8 bits of mantissa, so each product term is off by up to 2^-8 relative;
// sums of such terms stay within about 1e-2 of the largest output.
TEST(Bf16, ProductsMatchFp32WithinBf16Rounding) {
  PrecisionGuard guard;
  const int64_t m = 37, n = 29, k = 45;
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      for (float beta : {0.0f, 1.0f}) {
        const auto a = random_values(m * k, 1), b = random_values(k * n, 2);
        const auto c0 = random_values(m * n, 3);
        const int64_t lda = ta ? m : k, ldb = tb ? k : n;
        std::vector<float> c32 = c0, c16 = c0;
        nn::fused::set_matmul_precision(Precision::kFp32);
        nn::fused::gemm(ta, tb, m, n, k, a.data(), lda, b.data(), ldb, beta, c32.data(), n);
        nn::fused::set_matmul_precision(Precision::kBf16);
        nn::fused::gemm(ta, tb, m, n, k, a.data(), lda, b.data(), ldb, beta, c16.data(), n);
        const double err = relative_error(c16, c32);
        EXPECT_LT(err, 1e-2) << ta << tb << beta;
        EXPECT_GT(err, 0.0) << "bf16 products should differ from fp32 somewhere";
        // Exactly the fp32 product of the bf16-rounded inputs, up to fp32 summation order.
        std::vector<float> ar(a.size()), br(b.size()), cr = c0;
        nn::fused::round_to_bf16(a.data(), ar.data(), static_cast<int64_t>(a.size()));
        nn::fused::round_to_bf16(b.data(), br.data(), static_cast<int64_t>(b.size()));
        nn::fused::set_matmul_precision(Precision::kFp32);
        nn::fused::gemm(ta, tb, m, n, k, ar.data(), lda, br.data(), ldb, beta, cr.data(), n);
        EXPECT_LT(relative_error(c16, cr), 1e-5) << ta << tb << beta;
      }
    }
  }
}

// A layer's forward with the bias and ReLU in the product's epilogue gives the values of the
// product onto a bias pre-fill followed by a ReLU pass (the path it replaced), bit for bit on
// this machine's kernel, for both weight layouts; a NaN input gives NaN, and 0 after the ReLU,
// as the fp32 path's ReLU does.
TEST(Bf16, BiasAndReluEpilogueMatchesPrefillAndPass) {
  for (const bool trans_b : {false, true}) {
    for (const int64_t k : {23, 256}) {
      const int64_t m = 96, n = 64;
      auto a = random_values(m * k, 6), b = random_values(k * n, 7), bias = random_values(n, 8);
      a[5 * k + 3] = std::nanf("");  // row 5 becomes NaN everywhere
      nn::fused::Bf16Block a16, b16;
      nn::fused::to_bf16(a.data(), m, k, k, a16);
      nn::fused::to_bf16(b.data(), trans_b ? n : k, trans_b ? k : n, trans_b ? k : n, b16);
      for (const bool relu : {false, true}) {
        std::vector<float> fused(m * n, 7.0f), reference(m * n);
        nn::fused::gemm_bf16_bias(trans_b, m, n, k, a16, b16, bias.data(), relu, fused.data(), n);
        for (int64_t r = 0; r < m; ++r) std::copy(bias.begin(), bias.end(), &reference[r * n]);
        nn::fused::gemm_bf16(false, trans_b, m, n, k, a16, b16, 1.0f, reference.data(), n);
        int negatives = 0;
        for (int64_t i = 0; i < m * n; ++i) {
          negatives += reference[i] < 0;
          // The fp32 path's ReLU: x > 0 ? x : 0 (a NaN becomes 0 there too).
          const float want = relu ? (reference[i] > 0 ? reference[i] : 0.0f) : reference[i];
          if (std::isnan(want)) {
            ASSERT_TRUE(std::isnan(fused[i])) << i;
          } else {
            ASSERT_EQ(fused[i], want)
                << "trans_b " << trans_b << " k " << k << " relu " << relu << " at " << i;
          }
          if (i / n == 5) {
            ASSERT_EQ(std::isnan(fused[i]), !relu) << i;
          }
        }
        EXPECT_GT(negatives, m * n / 4);  // the ReLU had work to do
      }
    }
  }
}

// A whole fused MLP forward and backward in bf16 against fp32, in relative Euclidean error.
// Without ReLUs (a linear net of 3 hidden layers) the error is bf16's rounding alone, about 3e-3
// here: under 1e-2. With ReLUs (and LayerNorm) units whose pre-activation is within bf16's
// rounding of zero switch on or off, and the gradients through them change entirely: about 6e-2
// here on gradients, outputs still under 1e-2 (the README's "bf16" paragraph).
TEST(Bf16, FusedMlpForwardAndBackwardWithinBf16Error) {
  PrecisionGuard guard;
  for (const int variant : {0, 1, 2}) {  // linear, ReLU, ReLU + LayerNorm
    torch::manual_seed(21);
    nn::EnsembleMlp ens(2, 20, 1, std::vector<int64_t>{64, 64, 64}, variant == 2, 1e-6);
    nn::FlatParameters flat(*ens);
    const int64_t rows = 96;
    const auto x = random_values(rows * 20, 4), dy = random_values(rows, 5);
    std::vector<std::vector<float>> out, dx, grads;
    for (Precision p : {Precision::kFp32, Precision::kBf16}) {
      nn::fused::set_matmul_precision(p);
      auto net = nn::fused_member(*ens, 1, flat, flat.grad());
      if (variant == 0) {
        for (auto& layer : net) layer.relu = false;
      }
      nn::fused::Tape tape;
      nn::fused::forward(net, x.data(), rows, tape);
      std::vector<float> d(rows * 20);
      std::fill(flat.grad(), flat.grad() + flat.size(), 0.0f);
      nn::fused::backward(net, tape, dy.data(), d.data());
      out.emplace_back(tape.output(), tape.output() + rows);
      dx.push_back(d);
      grads.emplace_back(flat.grad(), flat.grad() + flat.size());
    }
    const double bound = variant == 0 ? 1e-2 : 1e-1;
    EXPECT_LT(norm_error(out[1], out[0]), 1e-2) << variant;
    EXPECT_LT(norm_error(dx[1], dx[0]), bound) << variant;
    EXPECT_LT(norm_error(grads[1], grads[0]), bound) << variant;
    EXPECT_NE(grads[1], grads[0]) << variant;
  }
}

// Forcing fp32 after bf16 gives exactly today's fp32 updates, and bf16 updates are the same
// for 1 and 2 threads (each product runs on its task's thread alone).
TEST(Bf16, DispatchKeepsFp32ExactAndBf16ThreadIndependent) {
  PrecisionGuard guard;
  auto run = [](const std::string& algo, Precision p, int threads) {
    set_compute_threads({.threads = threads});
    nn::fused::set_matmul_precision(p);
    const auto& entry = AlgoRegistry::global().entry(algo);
    auto config = entry.make_config();
    ConfigFields f;
    config->describe(f);
    f.apply_override("hidden=32");
    torch::manual_seed(5);
    auto a =
        entry.make(*config, {.obs_dim = 5, .act_dim = 2, .max_action = 1.0, .total_steps = 10}, 3);
    torch::manual_seed(6);
    for (int i = 0; i < 3; ++i) {
      TensorBatch b;
      b.observations = torch::randn({64, 5});
      b.actions = torch::rand({64, 2}) * 2 - 1;
      b.rewards = torch::randn({64});
      b.next_observations = torch::randn({64, 5});
      b.terminals = torch::zeros({64});
      b.discounts = torch::full({64}, 0.99);
      b.next_actions = torch::rand({64, 2}) * 2 - 1;
      b.next_action_valid = torch::ones({64});
      a->update(b);
    }
    std::vector<torch::Tensor> params;
    for (auto& [name, m] : a->modules()) {
      for (const auto& p : m->parameters()) params.push_back(p.detach().clone());
    }
    set_compute_threads({.threads = 1});
    return params;
  };
  auto same = [](const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!torch::equal(a[i], b[i])) return false;
    }
    return true;
  };
  for (const std::string algo : {"iql", "td3_bc", "sac_n", "rebrac"}) {
    const auto fp32 = run(algo, Precision::kFp32, 1);
    const auto bf16 = run(algo, Precision::kBf16, 1);
    EXPECT_TRUE(same(run(algo, Precision::kFp32, 1), fp32)) << algo;
    EXPECT_FALSE(same(bf16, fp32)) << algo << ": bf16 should change the numbers";
    EXPECT_TRUE(same(run(algo, Precision::kBf16, 2), bf16)) << algo;
  }
}

}  // namespace
}  // namespace stitch
