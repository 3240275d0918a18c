// Streaming RL building blocks: dense kernels, StreamMlp gradients and sparse initialisation,
// ObGD's step size and traces, the streaming normalisers against two-pass computations, and
// the agents' trace handling at terminations and time-outs.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "algo/registry.h"
#include "algo/streaming/agent.h"
#include "core/config.h"
#include "core/rng.h"
#include "core/running_stats.h"
#include "nn/dense.h"
#include "nn/stream_mlp.h"

namespace stitch {
namespace {

std::vector<float> random_vector(Rng& rng, size_t n, double scale = 1.0) {
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(rng.normal() * scale);
  return v;
}

TEST(DenseKernels, MatchNaiveLoops) {
  Rng rng(1);
  const int64_t in = 13, out = 21;  // not multiples of the vector width
  const auto x = random_vector(rng, in), w = random_vector(rng, in * out),
             b = random_vector(rng, out);
  const auto gy = random_vector(rng, out);
  std::vector<float> y(out), gx(in), gw(in * out), gb(out);
  nn::dense_forward(x.data(), in, w.data(), b.data(), out, y.data());
  nn::dense_backward(x.data(), in, w.data(), gy.data(), out, gx.data(), gw.data(), gb.data());
  for (int64_t j = 0; j < out; ++j) {
    double s = b[j];
    for (int64_t i = 0; i < in; ++i) s += double{x[i]} * w[i * out + j];
    EXPECT_NEAR(y[j], s, 1e-5);
    EXPECT_EQ(gb[j], gy[j]);
  }
  for (int64_t i = 0; i < in; ++i) {
    double s = 0;
    for (int64_t j = 0; j < out; ++j) {
      s += double{w[i * out + j]} * gy[j];
      EXPECT_FLOAT_EQ(gw[i * out + j], x[i] * gy[j]);
    }
    EXPECT_NEAR(gx[i], s, 1e-5);
  }
  std::vector<float> e = {1, -2, 3}, g = {0.5f, 0.5f, -1};
  EXPECT_NEAR(nn::trace_accumulate(e.data(), g.data(), 0.5f, 3), 1.0 + 0.5 + 0.5, 1e-7);
  EXPECT_FLOAT_EQ(e[1], -0.5f);
}

// d(sum_j c_j * out_j)/d(theta) against central differences, through both LayerNorms and
// leaky ReLUs (dense initialisation, so that every weight matters).
TEST(StreamMlp, GradientMatchesFiniteDifferences) {
  Rng rng(7);
  nn::StreamMlp net(5, {8, 6}, 3);
  net.sparse_init(rng, 0.0);
  for (float& p : net.params()) p += static_cast<float>(0.1 * rng.normal());  // non-zero biases too
  const auto x = random_vector(rng, 5);
  const auto c = random_vector(rng, 3);
  nn::StreamMlp::Tape tape;
  net.forward(x, tape);
  std::vector<float> grad(static_cast<size_t>(net.num_params()));
  net.backward(tape, c, grad);
  auto objective = [&] {
    nn::StreamMlp::Tape t;
    net.forward(x, t);
    double s = 0;
    for (size_t j = 0; j < c.size(); ++j) s += double{c[j]} * t.output[j];
    return s;
  };
  const double eps = 1e-2;
  for (int64_t i = 0; i < net.num_params(); ++i) {
    float& p = net.params()[i];
    const float saved = p;
    p = saved + static_cast<float>(eps);
    const double up = objective();
    p = saved - static_cast<float>(eps);
    const double down = objective();
    p = saved;
    EXPECT_NEAR(grad[i], (up - down) / (2 * eps), 2e-3 + 2e-3 * std::abs(grad[i]))
        << "parameter " << i;
  }
}

TEST(StreamMlp, SparseInitZeroesNinetyPercentOfEachFanIn) {
  Rng rng(3);
  nn::StreamMlp net(20, {32}, 4);
  net.sparse_init(rng, 0.9);
  for (int64_t k = 0; k < net.num_layers(); ++k) {
    const int64_t in = k == 0 ? 20 : 32, out = k == 0 ? 32 : 4;
    const float* w = net.params().data() + net.weight_offset(k);
    const float bound = 1.0f / std::sqrt(static_cast<float>(in));
    for (int64_t j = 0; j < out; ++j) {
      int64_t zeros = 0;
      for (int64_t i = 0; i < in; ++i) {
        zeros += w[i * out + j] == 0.0f;
        EXPECT_LE(std::abs(w[i * out + j]), bound);
      }
      EXPECT_EQ(zeros, static_cast<int64_t>(std::ceil(0.9 * in))) << "layer " << k << " unit " << j;
    }
    const float* b = net.params().data() + net.bias_offset(k);
    for (int64_t j = 0; j < out; ++j) EXPECT_EQ(b[j], 0.0f);
  }
}

TEST(ObGD, StepSizeOnHandComputedCases) {
  const nn::ObGDConfig c{.lr = 1.0, .gamma = 0.99, .lambda = 0.8, .kappa = 2.0};
  // Small update: M = 1 * 2 * max(0.5, 1) * 0.2 = 0.4 <= 1, so the full step.
  EXPECT_DOUBLE_EQ(nn::ObGD::step_size(c, 0.5, 0.2), 1.0);
  // Overshooting: M = 1 * 2 * 3 * 0.5 = 3, so 1 / 3.
  EXPECT_DOUBLE_EQ(nn::ObGD::step_size(c, -3.0, 0.5), 1.0 / 3.0);
  // delta_bar = max(|delta|, 1): a tiny delta still counts as 1. M = 0.5 * 3 * 1 * 2 = 3 -> 0.5
  // / 3.
  EXPECT_DOUBLE_EQ(nn::ObGD::step_size({.lr = 0.5, .kappa = 3.0}, 1e-3, 2.0), 0.5 / 3.0);
}

TEST(ObGD, TraceAccumulatesDecaysAndResets) {
  nn::ObGD opt(2, {.lr = 1.0, .gamma = 0.99, .lambda = 0.8, .kappa = 2.0});
  std::vector<float> params = {1.0f, 2.0f};
  const std::vector<float> grad = {0.5f, -0.25f}, zero = {0.0f, 0.0f};
  // e = grad, ||e||_1 = 0.75, delta 2: M = 2 * 2 * 0.75 = 3, step 1/3; theta += (1/3) * 2 * e.
  EXPECT_DOUBLE_EQ(opt.step(params, grad, 2.0, false), 1.0 / 3.0);
  EXPECT_FLOAT_EQ(params[0], 1.0f + 2.0f / 3.0f * 0.5f);
  EXPECT_FLOAT_EQ(params[1], 2.0f - 2.0f / 3.0f * 0.25f);
  // No new gradient: e decays by gamma * lambda = 0.792; delta 0 leaves theta alone.
  opt.step(params, zero, 0.0, false);
  EXPECT_FLOAT_EQ(opt.trace()[0], 0.792f * 0.5f);
  EXPECT_FLOAT_EQ(opt.trace()[1], 0.792f * -0.25f);
  EXPECT_FLOAT_EQ(params[0], 1.0f + 2.0f / 3.0f * 0.5f);
  // reset: the step still uses the trace, then the trace is zero.
  const float before = params[0];
  const double step = opt.step(params, grad, 0.1, true);
  EXPECT_NEAR(params[0], before + step * 0.1 * (0.792 * 0.792 * 0.5 + 0.5), 1e-6);
  EXPECT_EQ(opt.trace()[0], 0.0f);
  EXPECT_EQ(opt.trace()[1], 0.0f);
}

TEST(RunningMeanVar, MatchesTwoPass) {
  Rng rng(11);
  RunningMeanVar stats(3);
  std::vector<std::vector<float>> seen;
  for (int n = 1; n <= 500; ++n) {
    seen.push_back(random_vector(rng, 3, 100.0));
    for (float& x : seen.back()) x += 1e4f;  // a large offset: the naive sum-of-squares fails here
    stats.update(seen.back());
    for (size_t i = 0; i < 3; ++i) {
      double mean = 0;
      for (const auto& v : seen) mean += v[i];
      mean /= n;
      double ss = 0;
      for (const auto& v : seen) ss += (v[i] - mean) * (v[i] - mean);
      EXPECT_NEAR(stats.mean()[i], mean, 1e-9 * std::abs(mean));
      if (n >= 2) {
        EXPECT_NEAR(stats.sample_variance(i), ss / (n - 1), 1e-8 * ss / (n - 1));
        EXPECT_NEAR(stats.population_variance(i), ss / n, 1e-8 * ss / n);
      } else {
        EXPECT_EQ(stats.sample_variance(i), 1.0);
      }
    }
  }
}

TEST(StreamFeatures, NormaliseAndScaleAsTwoPassComputations) {
  StreamConfig config;  // observation normalisation, reward scaling, time feature all on
  StreamFeatures f(2, config, 100);
  Rng rng(5);
  std::vector<std::vector<float>> seen;
  std::vector<double> traces;
  double trace = 0.0;
  std::vector<float> out;
  for (int t = 0; t < 50; ++t) {
    seen.push_back({static_cast<float>(rng.normal(3, 2)), static_cast<float>(rng.normal(-1, 0.1))});
    f.observe(seen.back(), t, true, out);
    ASSERT_EQ(out.size(), 3u);
    for (size_t i = 0; i < 2; ++i) {
      double mean = 0, ss = 0;
      for (const auto& v : seen) mean += v[i];
      mean /= static_cast<double>(seen.size());
      for (const auto& v : seen) ss += (v[i] - mean) * (v[i] - mean);
      const double var = seen.size() < 2 ? 1.0 : ss / static_cast<double>(seen.size() - 1);
      EXPECT_NEAR(out[i], (seen.back()[i] - mean) / std::sqrt(var + 1e-8), 1e-4);
    }
    EXPECT_FLOAT_EQ(out[2], static_cast<float>(-0.5 + t / 100.0));

    const double r = rng.normal(1, 1);
    const bool done = t % 17 == 16;
    trace = trace * 0.99 * (done ? 0.0 : 1.0) + r;
    traces.push_back(trace);
    double mean =
        std::accumulate(traces.begin(), traces.end(), 0.0) / static_cast<double>(traces.size());
    double ss = 0;
    for (double u : traces) ss += (u - mean) * (u - mean);
    const double var = traces.size() < 2 ? 1.0 : ss / static_cast<double>(traces.size() - 1);
    EXPECT_NEAR(f.scale_reward(r, done), r / std::sqrt(var + 1e-8), 1e-9);
  }
  // Frozen (evaluation) observations leave the statistics alone.
  std::vector<float> a, b;
  f.observe(seen.back(), 0, false, a);
  f.observe(seen.back(), 0, false, b);
  EXPECT_EQ(a, b);
}

// The agents reset their traces at the end of an episode, whether it terminated or timed out,
// and only a termination stops the TD target from bootstrapping.
class StreamAgentTraces : public ::testing::TestWithParam<const char*> {};

std::unique_ptr<StreamAgent> make_agent(const std::string& name, const AlgoDims& dims) {
  const auto& entry = AlgoRegistry::global().entry(name);
  auto config = entry.make_config();
  ConfigFields f;
  config->describe(f);
  f.apply_override("sparsity=0");  // every weight active, so V(s') != 0
  return entry.make_stream(*config, dims, 1);
}

bool trace_is_zero(const nlohmann::json& network) {
  const auto& bytes = network.at("trace").get_binary();
  std::vector<float> trace(bytes.size() / sizeof(float));
  std::memcpy(trace.data(), bytes.data(), bytes.size());
  return std::all_of(trace.begin(), trace.end(), [](float x) { return x == 0.0f; });
}

TEST_P(StreamAgentTraces, ResetOnTerminalAndTimeOutButBootstrapOnTimeOut) {
  const std::string name = GetParam();
  const bool discrete = name == "stream-q";
  const AlgoDims dims{.obs_dim = 4,
                      .act_dim = discrete ? 1 : 2,
                      .max_action = 1.0,
                      .total_steps = 1000,
                      .num_actions = discrete ? 2 : 0,
                      .env = "cartpole-v1"};
  const std::string net = name == "stream-q" ? "q" : name == "stream-td" ? "v" : "value";
  const std::vector<float> s = {0.1f, -0.2f, 0.3f, 0.5f}, s2 = {0.2f, 0.1f, -0.4f, 0.9f};
  const std::vector<float> action =
      discrete ? std::vector<float>{1.0f} : std::vector<float>{0.3f, -0.1f};
  double deltas[3];
  for (int kind = 0; kind < 3; ++kind) {  // 0: mid-episode, 1: terminated, 2: truncated
    auto agent = make_agent(name, dims);
    const StreamUpdateInfo info = agent->update({.obs = s,
                                                 .action = action,
                                                 .next_obs = s2,
                                                 .reward = 0.5,
                                                 .terminated = kind == 1,
                                                 .truncated = kind == 2});
    deltas[kind] = info.delta;
    EXPECT_EQ(trace_is_zero(agent->state().at(net)), kind != 0) << name << " kind " << kind;
  }
  EXPECT_EQ(deltas[0], deltas[2]);  // a time-out bootstraps like a mid-episode step
  EXPECT_NE(deltas[0], deltas[1]);  // a termination does not
}

INSTANTIATE_TEST_SUITE_P(Agents, StreamAgentTraces,
                         ::testing::Values("stream-td", "stream-q", "stream-ac"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace stitch
