// Learning tests of the streaming agents (Elsayed et al. 2024), each a few seconds on one core:
// stream Q(lambda) solves CartPole, stream AC(lambda) swings Pendulum up from random, stream
// TD(lambda) learns the value of Pendulum's scripted controller. Several seeds each, every one
// must pass: a learner that works only for a lucky seed is not a learner.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "algo/trainer.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;

fs::path run_dir(const std::string& name) {
  return fs::path(::testing::TempDir()) /
         ("stitch_stream_learn_" + std::to_string(getpid()) + "_" + name);
}

TrainResult run(const std::string& algo, const std::string& env, int64_t steps, uint64_t seed,
                const std::string& name, std::vector<std::string> extra = {}) {
  const fs::path dir = run_dir(name);
  fs::remove_all(dir);
  TrainConfig c;
  std::vector<std::string> o = {"algo=" + algo,
                                "online=true",
                                "env=" + env,
                                "steps=" + std::to_string(steps),
                                "seed=" + std::to_string(seed),
                                "eval_every=0",
                                "eval_episodes=10",
                                "log_every=" + std::to_string(steps / 10),
                                "checkpoint_every=" + std::to_string(steps),
                                "run_dir=" + dir.string()};
  o.insert(o.end(), extra.begin(), extra.end());
  return train(resolve_train_config(c, "", o), false);
}

std::vector<nlohmann::json> episodes(const std::string& name) {
  std::ifstream in(run_dir(name) / "episodes.jsonl");
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

// CartPole-v1 is solved at 475 (Gymnasium's threshold); the issue asks for a mean of 400.
TEST(StreamLearning, StreamQSolvesCartPole) {
  for (uint64_t seed : {0, 1, 2}) {
    const TrainResult r = run("stream-q", "cartpole-v1", 100000, seed, fmt::format("q{}", seed));
    ASSERT_FALSE(r.evaluations.empty());
    EXPECT_GE(r.evaluations.back().second.mean, 400.0) << "seed " << seed;
    fs::remove_all(run_dir(fmt::format("q{}", seed)));
  }
}

// A uniformly random policy scores about -1200 on Pendulum; the issue asks for better than -400.
TEST(StreamLearning, StreamAcImprovesPendulumFromRandom) {
  for (uint64_t seed : {0, 1, 2}) {
    const std::string name = fmt::format("ac{}", seed);
    const TrainResult r = run("stream-ac", "pendulum-v1", 400000, seed, name);
    const auto eps = episodes(name);
    ASSERT_GE(eps.size(), 20u);
    double first = 0;
    for (size_t i = 0; i < 10; ++i) first += eps[i].at("return").get<double>() / 10;
    EXPECT_LT(first, -800.0) << "seed " << seed << ": the first episodes should be near random";
    EXPECT_GT(r.evaluations.back().second.mean, -400.0) << "seed " << seed;
    fs::remove_all(run_dir(name));
  }
}

// Prediction error of V(s_t) against the episode's discounted returns, early vs late.
TEST(StreamLearning, StreamTdLearnsTheValueOfTheScriptedController) {
  for (uint64_t seed : {0, 1}) {
    const std::string name = fmt::format("td{}", seed);
    run("stream-td", "pendulum-v1", 60000, seed, name);
    const auto eps = episodes(name);
    ASSERT_EQ(eps.size(), 300u);
    double early = 0, late = 0;
    for (size_t i = 0; i < 10; ++i) {
      early += eps[i].at("value_rmse").get<double>() / 10;
      late += eps[eps.size() - 1 - i].at("value_rmse").get<double>() / 10;
    }
    EXPECT_LT(late, 0.3 * early) << "seed " << seed << ": rmse " << early << " -> " << late;
    fs::remove_all(run_dir(name));
  }
}

}  // namespace
}  // namespace stitch
