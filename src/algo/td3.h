// TD3 (Fujimoto, van Hoof & Meger 2018, "Addressing Function Approximation Error in
// Actor-Critic Methods") and TD3+BC (Fujimoto & Gu 2021, "A Minimalist Approach to Offline
// Reinforcement Learning"): one implementation, registered twice: `td3` (online,
// src/algo/online/td3.cpp) and `td3_bc` (offline, src/algo/offline/td3_bc.cpp). TD3+BC adds a
// behaviour-cloning term to the actor loss, lambda = alpha / mean|Q|; TD3 explores with
// Gaussian noise on its deterministic action.
#pragma once

#include <cstdint>
#include <memory>

#include "algo/algo_config.h"
#include "algo/registry.h"

namespace stitch {

// Defaults: TD3's paper (Sec. 6.1, Table 3) and TD3+BC's (Sec. 5, App. C), which agree on the
// shared keys: Adam 3e-4, two hidden layers of 256, tau 0.005, policy noise 0.2 clipped at 0.5,
// actor delay 2; TD3's exploration noise N(0, 0.1); TD3+BC's alpha 2.5.
struct Td3Config : AlgoConfig {
  explicit Td3Config(bool behaviour_cloning) : bc(behaviour_cloning) {}
  bool bc;  // TD3+BC (not a config key: fixed by the registered name)
  double actor_lr = 3e-4;
  double critic_lr = 3e-4;
  double tau = 0.005;              // target update rate
  double policy_noise = 0.2;       // target policy smoothing noise, times max_action
  double noise_clip = 0.5;         // clip of that noise, times max_action
  int policy_freq = 2;             // actor and target updates every 2 critic updates
  double alpha = 2.5;              // TD3+BC: lambda = alpha / mean|Q|
  double exploration_noise = 0.1;  // TD3: std of the acting noise, times max_action
  int64_t hidden = 256;
  void describe(ConfigFields& f) override;  // every key with its range
};

std::unique_ptr<Algorithm> make_td3(const Td3Config& config, const AlgoDims& dims, uint64_t seed);

}  // namespace stitch
