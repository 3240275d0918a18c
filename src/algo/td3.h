// TD3 (Fujimoto, van Hoof & Meger 2018, "Addressing Function Approximation Error in
// Actor-Critic Methods"), TD3+BC (Fujimoto & Gu 2021, "A Minimalist Approach to Offline
// Reinforcement Learning") and ReBRAC (Tarasov et al. 2023, "Revisiting the Minimalist Approach
// to Offline Reinforcement Learning"): one implementation, registered three times: `td3`
// (online, src/algo/online/td3.cpp), `td3_bc` and `rebrac` (offline, src/algo/offline/). TD3+BC
// adds a behaviour-cloning term to the actor loss, lambda = alpha / mean|Q|; ReBRAC deepens the
// networks (3 hidden layers, LayerNorm critics), adds a BC penalty to the critic's target too,
// and weighs the actor's BC term by actor_bc_coef with the Q term divided by mean|min Q|; TD3
// explores with Gaussian noise on its deterministic action.
#pragma once

#include <cstdint>
#include <memory>

#include "algo/algo_config.h"
#include "algo/registry.h"

namespace stitch {

enum class Td3Variant { td3, td3_bc, rebrac };

// Defaults: TD3's paper (Sec. 6.1, Table 3) and TD3+BC's (Sec. 5, App. C), which agree on the
// shared keys: Adam 3e-4, two hidden layers of 256, tau 0.005, policy noise 0.2 clipped at 0.5,
// actor delay 2; TD3's exploration noise N(0, 0.1); TD3+BC's alpha 2.5. ReBRAC: CORL's
// rebrac.py (Adam 1e-3 for both, 3 hidden layers of 256, LayerNorm critics, BC coefficients 1.0
// and 1.0 unless a per-dataset preset sets them: suite/configs/rebrac/; Q normalisation on).
struct Td3Config : AlgoConfig {
  explicit Td3Config(Td3Variant v);
  Td3Variant variant;  // not a config key: fixed by the registered name
  bool bc() const { return variant != Td3Variant::td3; }
  bool rebrac() const { return variant == Td3Variant::rebrac; }
  double actor_lr = 3e-4;
  double critic_lr = 3e-4;
  double tau = 0.005;              // target update rate
  double policy_noise = 0.2;       // target policy smoothing noise, times max_action
  double noise_clip = 0.5;         // clip of that noise, times max_action
  int policy_freq = 2;             // actor and target updates every 2 critic updates
  double alpha = 2.5;              // TD3+BC: lambda = alpha / mean|Q|
  double exploration_noise = 0.1;  // TD3: std of the acting noise, times max_action
  double actor_bc_coef = 1.0;      // ReBRAC: beta of the actor's BC term
  double critic_bc_coef = 1.0;     // ReBRAC: beta of the penalty in the critic's target
  bool normalize_q = true;         // ReBRAC: divide the actor's Q term by mean|min Q|
  bool critic_layer_norm = true;   // ReBRAC: LayerNorm after each hidden ReLU of the critics
  int64_t hidden = 256;
  int64_t hidden_layers = 2;                // ReBRAC: 3
  void describe(ConfigFields& f) override;  // every key with its range
};

std::unique_ptr<Algorithm> make_td3(const Td3Config& config, const AlgoDims& dims, uint64_t seed);

}  // namespace stitch
