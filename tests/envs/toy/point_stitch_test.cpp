// pointstitch-v0 (envs/toy/point_stitch.h): its dynamics and reward, and that its scripted data
// needs stitching: each family alone returns less than the straight path made of their halves.
#include "envs/toy/point_stitch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "env/registry.h"
#include "env/rollout.h"

namespace stitch {
namespace {

TEST(PointStitch, StepsATenthOfTheActionWithinTheBounds) {
  PointStitch env;
  env.reset(0);
  env.set_state(2.95, 0.5);
  const StepResult r = env.step(std::vector<float>{1.0f, -0.5f});
  EXPECT_DOUBLE_EQ(env.x(), 3.0);  // clipped at the bound
  EXPECT_DOUBLE_EQ(env.y(), 0.45);
  EXPECT_EQ(r.obs, (std::vector<float>{3.0f, 0.45f}));
  EXPECT_EQ(r.reward, 0.0);
  EXPECT_FALSE(r.terminated);
  env.set_state(1.8, 0.1);  // arrives at (1.85, 0.1): 0.21 from the goal
  EXPECT_EQ(env.step(std::vector<float>{0.5f, 0.0f}).reward, 1.0);
  env.set_state(1.7, 0.0);  // arrives at (1.7, 0): 0.3 from the goal
  EXPECT_EQ(env.step(std::vector<float>{0.0f, 0.0f}).reward, 0.0);
}

// Full speed along the straight S -> M -> G: what no logged episode does.
class Straight : public Policy {
 public:
  void act(std::span<const float> obs, Rng&, std::span<float> action) override {
    const double dx = 2.0 - obs[0], dy = -obs[1];
    const double n = std::max(std::hypot(dx, dy), 1e-9), step = std::min(1.0, n / 0.1);
    action[0] = static_cast<float>(step * dx / n);
    action[1] = static_cast<float>(step * dy / n);
  }
};

TEST(PointStitch, TheDataFamiliesReturnLessThanTheirStitch) {
  auto env = make_env("pointstitch-v0");
  auto scripted = make_scripted_policy("pointstitch-v0");
  std::map<double, int> returns;
  for (const EpisodeStats& e : run_episodes(*env, *scripted, 100, 0)) {
    EXPECT_EQ(e.length, 60);
    ++returns[e.total_return];
  }
  // The halfway runs stop short of the goal; the detours reach it after 38 steps.
  ASSERT_EQ(returns.size(), 2u);
  EXPECT_EQ(returns.begin()->first, 0.0);
  EXPECT_EQ(returns.rbegin()->first, 23.0);
  EXPECT_GT(returns.begin()->second, 30);
  EXPECT_GT(returns.rbegin()->second, 30);
  Straight straight;
  for (const EpisodeStats& e : run_episodes(*env, straight, 10, 0)) EXPECT_GE(e.total_return, 42.0);
}

}  // namespace
}  // namespace stitch
