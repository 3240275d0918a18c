// Env wrappers. A wrapper is itself an Env: it gets the base class's checks for free and
// forwards to the env it owns. Seeds pass through to the innermost env unchanged, so a wrapped
// env replays exactly the episodes of the bare one.
#pragma once

#include <memory>
#include <vector>

#include "core/running_stats.h"
#include "env/env.h"

namespace stitch {

// Forwards everything to `inner`; subclasses override what they change.
class Wrapper : public Env {
 public:
  explicit Wrapper(std::unique_ptr<Env> inner);
  std::string id() const override { return inner_->id(); }
  const Space& observation_space() const override { return inner_->observation_space(); }
  const Space& action_space() const override { return inner_->action_space(); }
  EnvInfo info() const override { return inner_->info(); }
  Env& inner() { return *inner_; }

 protected:
  std::vector<float> do_reset(Rng& rng) override;
  StepResult do_step(std::span<const float> action) override;
  std::vector<float> do_restore(const EnvInfo& state) override;

  std::unique_ptr<Env> inner_;
};

// Cuts episodes after `max_episode_steps` steps: that step's `truncated` is true (and
// `terminated` keeps the inner env's value; both can be true).
class TimeLimit : public Wrapper {
 public:
  TimeLimit(std::unique_ptr<Env> inner, int64_t max_episode_steps);
};

// Normalises observations with a running mean and variance (Welford, float64), updated on every
// reset and step while `updating()`: obs' = (obs - mean) / sqrt(var + epsilon).
// The observation space becomes Box(-inf, inf).
class NormalizeObservation : public Wrapper {
 public:
  explicit NormalizeObservation(std::unique_ptr<Env> inner, double epsilon = 1e-8);
  const Space& observation_space() const override { return space_; }

  void set_updating(bool updating) { updating_ = updating; }  // freeze for evaluation
  bool updating() const { return updating_; }
  const std::vector<double>& mean() const { return stats_.mean(); }
  std::vector<double> variance() const;  // population variance; 1 where fewer than 2 samples
  int64_t count() const { return stats_.count(); }

 protected:
  std::vector<float> do_reset(Rng& rng) override;
  StepResult do_step(std::span<const float> action) override;
  std::vector<float> do_restore(const EnvInfo& state) override;

 private:
  void normalize(std::vector<float>& obs);

  Space space_;
  double epsilon_;
  bool updating_ = true;
  RunningMeanVar stats_;
};

// The agent acts in [-1, 1]^d; actions are mapped affinely onto the inner env's Box bounds
// (which must be finite).
class RescaleAction : public Wrapper {
 public:
  explicit RescaleAction(std::unique_ptr<Env> inner);
  const Space& action_space() const override { return space_; }

 protected:
  StepResult do_step(std::span<const float> action) override;

 private:
  Space space_;
  std::vector<float> scaled_;
};

// Clips actions into the inner env's Box bounds; the action space becomes Box(-inf, inf).
// NaN actions are still rejected.
class ClipAction : public Wrapper {
 public:
  explicit ClipAction(std::unique_ptr<Env> inner);
  const Space& action_space() const override { return space_; }

 protected:
  StepResult do_step(std::span<const float> action) override;

 private:
  Space space_;
  std::vector<float> clipped_;
};

}  // namespace stitch
