// pointstitch-v0: stitch's own env (not Gymnasium's), built so that the best behaviour must be
// stitched from two kinds of trajectories, after the Point Maze task of MBRCSL (Zhou et al.
// 2023, "Free from Bellman Completeness", Sec. 6): a point in the plane starts at S = (0, 0)
// and is rewarded for every step it spends near the goal G = (2, 0).
//
// Observation [2] float32: the position (x, y), bounded to [-1, 3] x [-1, 2].
// Action [2] in [-1, 1]: the velocity; position += 0.1 * action, then clipped to the bounds.
// Reward 1 when the position after the step lies within 0.25 of G, else 0. Never terminates;
// time limit 60 steps. Reset: S plus U(-0.05, 0.05) in each coordinate.
//
// The scripted policy is the data's two families, one drawn per episode (50/50):
//   detour  S -> (0, 1) -> (1, 1) -> M = (1, 0) -> G, reaching the goal after about 38 steps
//           (return about 22);
//   halfway S -> M, then stays (return 0).
// The straight S -> M -> G, which no episode takes, reaches the goal after about 18 steps
// (return about 42): its first half is in the halfway runs, its second half in the detours.
#pragma once

#include "env/env.h"

namespace stitch {

class PointStitch : public Env {
 public:
  static constexpr double kSpeed = 0.1;  // distance per step at |action| = 1
  static constexpr double kGoalX = 2.0, kGoalY = 0.0;
  static constexpr double kGoalRadius = 0.25;
  static constexpr double kMinX = -1.0, kMaxX = 3.0, kMinY = -1.0, kMaxY = 2.0;

  PointStitch();
  std::string id() const override { return "pointstitch-v0"; }
  const Space& observation_space() const override { return observation_space_; }
  const Space& action_space() const override { return action_space_; }

  double x() const { return x_; }
  double y() const { return y_; }
  void set_state(double x, double y) {
    x_ = x;
    y_ = y;
  }

 protected:
  std::vector<float> do_reset(Rng& rng) override;
  StepResult do_step(std::span<const float> action) override;

 private:
  Space observation_space_, action_space_;
  double x_ = 0.0, y_ = 0.0;
};

// The reward of arriving at (x, y): 1 within kGoalRadius of the goal.
double point_stitch_reward(double x, double y);

}  // namespace stitch
