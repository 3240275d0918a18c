#include "env/wrappers.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace stitch {
namespace {

const Space& require_box(const Env& env, const char* wrapper) {
  if (!env.action_space().is_box()) {
    fail("{}: {} needs a Box action space, got {}", env.id(), wrapper,
         env.action_space().describe());
  }
  return env.action_space();
}

}  // namespace

Wrapper::Wrapper(std::unique_ptr<Env> inner) : inner_(std::move(inner)) {
  STITCH_CHECK(inner_ != nullptr, "wrapper given a null env");
}

std::vector<float> Wrapper::do_reset(Rng&) { return inner_->reset(reset_seed()); }

StepResult Wrapper::do_step(std::span<const float> action) { return inner_->step(action); }

std::vector<float> Wrapper::do_restore(const EnvInfo& state) {
  // The inner env counts from the same step (an inner time limit, if any, falls where it did).
  return inner_->restore(state, elapsed_steps());
}

TimeLimit::TimeLimit(std::unique_ptr<Env> inner, int64_t max_episode_steps)
    : Wrapper(std::move(inner)) {
  if (max_episode_steps < 1) {
    fail("{}: time limit must be >= 1 step, got {}", id(), max_episode_steps);
  }
  set_max_episode_steps(max_episode_steps);
}

NormalizeObservation::NormalizeObservation(std::unique_ptr<Env> inner, double epsilon)
    : Wrapper(std::move(inner)),
      space_(Space::box(inner_->observation_space().flat_dim(), -kInf, kInf)),
      epsilon_(epsilon),
      stats_(static_cast<size_t>(space_.flat_dim())) {}

std::vector<double> NormalizeObservation::variance() const {
  std::vector<double> var(stats_.dim());
  for (size_t i = 0; i < var.size(); ++i) var[i] = stats_.population_variance(i);
  return var;
}

void NormalizeObservation::normalize(std::vector<float>& obs) {
  if (updating_) stats_.update(obs);
  for (size_t i = 0; i < obs.size(); ++i) {
    obs[i] = static_cast<float>((obs[i] - stats_.mean()[i]) /
                                std::sqrt(stats_.population_variance(i) + epsilon_));
  }
}

std::vector<float> NormalizeObservation::do_reset(Rng& rng) {
  std::vector<float> obs = Wrapper::do_reset(rng);
  normalize(obs);
  return obs;
}

std::vector<float> NormalizeObservation::do_restore(const EnvInfo& state) {
  std::vector<float> obs = Wrapper::do_restore(state);
  normalize(obs);
  return obs;
}

StepResult NormalizeObservation::do_step(std::span<const float> action) {
  StepResult r = Wrapper::do_step(action);
  normalize(r.obs);
  return r;
}

RescaleAction::RescaleAction(std::unique_ptr<Env> inner)
    : Wrapper(std::move(inner)),
      space_(Space::box(require_box(*inner_, "RescaleAction").flat_dim(), -1.0f, 1.0f)),
      scaled_(space_.flat_dim()) {
  if (!inner_->action_space().bounded()) {
    fail("{}: RescaleAction needs finite action bounds, got {}", id(),
         inner_->action_space().describe());
  }
}

StepResult RescaleAction::do_step(std::span<const float> action) {
  const auto& low = inner_->action_space().low();
  const auto& high = inner_->action_space().high();
  for (size_t i = 0; i < scaled_.size(); ++i) {
    const double v = low[i] + (static_cast<double>(action[i]) + 1.0) * 0.5 * (high[i] - low[i]);
    scaled_[i] = std::clamp(static_cast<float>(v), low[i], high[i]);  // guard float rounding
  }
  return Wrapper::do_step(scaled_);
}

ClipAction::ClipAction(std::unique_ptr<Env> inner)
    : Wrapper(std::move(inner)),
      space_(Space::box(require_box(*inner_, "ClipAction").flat_dim(), -kInf, kInf)),
      clipped_(space_.flat_dim()) {}

StepResult ClipAction::do_step(std::span<const float> action) {
  const auto& low = inner_->action_space().low();
  const auto& high = inner_->action_space().high();
  for (size_t i = 0; i < clipped_.size(); ++i) clipped_[i] = std::clamp(action[i], low[i], high[i]);
  return Wrapper::do_step(clipped_);
}

}  // namespace stitch
