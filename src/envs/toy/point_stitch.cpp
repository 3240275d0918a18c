#include "envs/toy/point_stitch.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "core/rng.h"
#include "env/registry.h"

namespace stitch {

double point_stitch_reward(double x, double y) {
  return std::hypot(x - PointStitch::kGoalX, y - PointStitch::kGoalY) <= PointStitch::kGoalRadius
             ? 1.0
             : 0.0;
}

PointStitch::PointStitch()
    : observation_space_(Space::box({static_cast<float>(kMinX), static_cast<float>(kMinY)},
                                    {static_cast<float>(kMaxX), static_cast<float>(kMaxY)})),
      action_space_(Space::box(2, -1.0f, 1.0f)) {}

std::vector<float> PointStitch::do_reset(Rng& rng) {
  x_ = rng.uniform(-0.05, 0.05);
  y_ = rng.uniform(-0.05, 0.05);
  return {static_cast<float>(x_), static_cast<float>(y_)};
}

StepResult PointStitch::do_step(std::span<const float> action) {
  const double ax = std::clamp(static_cast<double>(action[0]), -1.0, 1.0);
  const double ay = std::clamp(static_cast<double>(action[1]), -1.0, 1.0);
  x_ = std::clamp(x_ + kSpeed * ax, kMinX, kMaxX);
  y_ = std::clamp(y_ + kSpeed * ay, kMinY, kMaxY);
  StepResult r;
  r.reward = point_stitch_reward(x_, y_);
  r.obs = {static_cast<float>(x_), static_cast<float>(y_)};
  return r;
}

namespace {

// The data's two families (point_stitch.h): full speed towards the next waypoint, which counts
// as reached within 0.05; after the last one, steer onto it at the speed that closes the gap.
class PointStitchFamilies : public Policy {
 public:
  void reset() override { family_ = -1; }
  void act(std::span<const float> obs, Rng& rng, std::span<float> action) override {
    if (family_ < 0) {
      family_ = rng.uniform(0.0, 1.0) < 0.5 ? 0 : 1;
      next_ = 0;
    }
    static constexpr std::array<std::array<double, 2>, 4> kDetour = {
        {{0.0, 1.0}, {1.0, 1.0}, {1.0, 0.0}, {PointStitch::kGoalX, PointStitch::kGoalY}}};
    static constexpr std::array<std::array<double, 2>, 1> kHalfway = {{{1.0, 0.0}}};
    const std::span<const std::array<double, 2>> path =
        family_ == 0 ? std::span<const std::array<double, 2>>(kDetour)
                     : std::span<const std::array<double, 2>>(kHalfway);
    auto gap = [&](size_t i) {
      return std::array<double, 2>{path[i][0] - obs[0], path[i][1] - obs[1]};
    };
    while (next_ + 1 < path.size() && std::hypot(gap(next_)[0], gap(next_)[1]) <= 0.05) ++next_;
    const auto [dx, dy] = gap(next_);
    const double norm = std::hypot(dx, dy);
    const double step = std::min(1.0, norm / PointStitch::kSpeed);  // no overshoot at the end
    action[0] = norm > 0 ? static_cast<float>(step * dx / norm) : 0.0f;
    action[1] = norm > 0 ? static_cast<float>(step * dy / norm) : 0.0f;
  }

 private:
  int family_ = -1;
  size_t next_ = 0;
};

}  // namespace

STITCH_REGISTER_ENV(pointstitch,
                    {.id = "pointstitch-v0",
                     .summary = "a point that reaches the goal fastest along a path the data "
                                "only has in halves (stitch's own, for trajectory stitching)",
                     .max_episode_steps = 60,
                     .make = [] { return std::make_unique<PointStitch>(); },
                     .scripted_policy = [] { return std::make_unique<PointStitchFamilies>(); }});

}  // namespace stitch
