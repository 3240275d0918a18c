#include "env/vector_env.h"

#include <algorithm>

#include "core/error.h"

namespace stitch {

VectorEnv::VectorEnv(std::vector<std::unique_ptr<Env>> envs, int num_threads)
    : envs_(std::move(envs)), pool_(num_threads) {
  if (envs_.empty()) fail("VectorEnv: needs at least one env");
  obs_dim_ = envs_[0]->observation_space().flat_dim();
  act_dim_ = envs_[0]->action_space().flat_dim();
  for (size_t i = 1; i < envs_.size(); ++i) {
    if (envs_[i]->observation_space().flat_dim() != obs_dim_ ||
        envs_[i]->action_space().flat_dim() != act_dim_) {
      fail("VectorEnv: env {} ({}) has different dimensions from env 0 ({})", i, envs_[i]->id(),
           envs_[0]->id());
    }
  }
  const size_t n = envs_.size();
  obs_.assign(n * obs_dim_, 0.0f);
  final_obs_.assign(n * obs_dim_, 0.0f);
  rewards_.assign(n, 0.0);
  costs_.assign(n, 0.0);
  running_returns_.assign(n, 0.0);
  terminated_.assign(n, 0);
  truncated_.assign(n, 0);
}

VectorEnv VectorEnv::make(const std::string& id, int num_envs, int num_threads,
                          const MakeEnvOptions& options) {
  if (num_envs < 1) fail("VectorEnv: num_envs must be >= 1, got {}", num_envs);
  std::vector<std::unique_ptr<Env>> envs;
  for (int i = 0; i < num_envs; ++i) envs.push_back(make_env(id, options));
  return VectorEnv(std::move(envs), num_threads);
}

void VectorEnv::reset(uint64_t seed) {
  pool_.parallel_for(num_envs(), [&](int64_t i) {
    const std::vector<float> o = envs_[i]->reset(seed + static_cast<uint64_t>(i));
    std::copy(o.begin(), o.end(), obs_.begin() + i * obs_dim_);
  });
  std::fill(running_returns_.begin(), running_returns_.end(), 0.0);
  finished_returns_.clear();
  started_ = true;
}

void VectorEnv::step(std::span<const float> actions) {
  if (!started_) fail("VectorEnv: step() called before reset()");
  if (static_cast<int64_t>(actions.size()) != num_envs() * act_dim_) {
    fail("VectorEnv: got {} action values, expected num_envs * act_dim = {} * {}", actions.size(),
         num_envs(), act_dim_);
  }
  pool_.parallel_for(num_envs(), [&](int64_t i) {
    StepResult r = envs_[i]->step(actions.subspan(i * act_dim_, act_dim_));
    rewards_[i] = r.reward;
    costs_[i] = r.cost;
    terminated_[i] = r.terminated;
    truncated_[i] = r.truncated;
    float* row = obs_.data() + i * obs_dim_;
    if (r.terminated || r.truncated) {
      std::copy(r.obs.begin(), r.obs.end(), final_obs_.begin() + i * obs_dim_);
      const std::vector<float> first = envs_[i]->reset();
      std::copy(first.begin(), first.end(), row);
    } else {
      std::copy(r.obs.begin(), r.obs.end(), row);
    }
  });
  for (int64_t i = 0; i < num_envs(); ++i) {
    running_returns_[i] += rewards_[i];
    if (terminated_[i] || truncated_[i]) {
      finished_returns_.push_back(running_returns_[i]);
      running_returns_[i] = 0.0;
    }
  }
}

}  // namespace stitch
