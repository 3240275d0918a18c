// The training config: the trainer's own keys (TrainConfig) and the algorithm's "<algo>.<key>"s,
// resolved from a JSON file and `--set` overrides, validated, and written back as the JSON text
// that every run directory stores (config.json) and every checkpoint carries.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "algo/registry.h"
#include "model/model_config.h"

namespace stitch {

class ConfigFields;

struct TrainConfig {
  std::string algo = "iql";
  std::string dataset;  // D4RL file or Minari dataset (offline algorithms)
  bool online = false;  // learn from the env instead (online and streaming agents)
  // Online agents (SAC, TD3); `steps` then counts env steps (transitions).
  int64_t num_envs = 1;  // envs stepped together (a VectorEnv)
  // Env steps of uniformly random actions before updates; -1: the algorithm's own default
  // (AlgoEntry::learning_starts: TD3 25,000 as in its authors' main.py, SAC 5,000).
  int64_t learning_starts = -1;
  // Gradient steps per transition (update-to-data ratio); 0: the algorithm's default (1; when
  // fine-tuning, AlgoEntry::finetune's: WSRL 4).
  double utd_ratio = 0.0;
  int64_t buffer_size = 1000000;  // replay capacity
  int64_t snapshot_every = 0;     // keep snapshots/step-N.pt every N env steps (0: never)
  std::string env;                // registered env id, for evaluation and the action bounds
  int64_t steps = 100000;         // gradient steps
  int64_t batch_size = 0;  // 0: the algorithm's default (AlgoEntry::batch_size: 256; ReBRAC 1024)
  double discount = 0.99;
  uint64_t seed = 0;
  int64_t eval_every = 5000;  // 0: only at the end
  int eval_episodes = 10;
  int64_t checkpoint_every = 10000;
  int64_t log_every = 1000;
  std::string normalize_observations = "auto";  // auto (the algorithm's default) | true | false
  std::string reward_scaling = "auto";          // auto | none | locomotion
  // The fused path's matmuls (nn/matmul.h): fp32 | bf16 | auto (bf16 where the CPU runs bf16
  // products in hardware: AMX or AVX-512 BF16; fp32 elsewhere).
  std::string precision = "fp32";
  std::string run_dir;  // default runs/<algo>-<env>-s<seed>, runs/finetune-<algo>-<env>-s<seed>
  // Offline-to-online fine-tuning (algo/o2o/finetune.h): the pre-trained checkpoint to continue
  // online with `algo`; `steps` then counts env steps and learning_starts counts env steps of the
  // pre-trained policy (a warm-up) before updates. The dataset, where given, is the offline data
  // kept for mixing: offline_ratio of each minibatch comes from it (-1: the method's default;
  // 0: no offline data). Online learners (SAC, TD3) take offline_ratio and a dataset too: RLPD's
  // symmetric sampling (Ball et al. 2023) from scratch.
  std::string from;
  double offline_ratio = -1.0;

  void describe(ConfigFields& f);
  void validate() const;
};

// A training config resolved from JSON text: the trainer's keys, the algorithm's entry and its
// config struct, and the full JSON text.
struct ResolvedTrainConfig {
  TrainConfig train;
  std::unique_ptr<AlgoConfig> algo;
  ModelConfig model;  // model-based algorithms' "model.*" keys (unused by the others)
  const AlgoEntry* entry = nullptr;
  std::string json_text;
};
ResolvedTrainConfig resolve_train_config_text(const std::string& config_json);

// Whether the run's fused matmuls run in bf16: precision "bf16", or "auto" on a CPU with bf16
// matmuls (AMX or AVX-512 BF16) for an algorithm whose entry allows it (AlgoEntry::bf16_auto).
bool uses_bf16(const ResolvedTrainConfig& cfg, bool cpu_has_bf16_matmul);
// The same with "key=value" overrides applied after the text's keys; returns the full JSON text.
std::string resolve_train_config_text(const std::string& config_json,
                                      const std::vector<std::string>& overrides);

// Resolves the config (trainer keys, then "<algo>.<key>" keys) from a JSON file and --set
// overrides, and returns the full JSON text.
std::string resolve_train_config(TrainConfig& config, const std::string& json_path,
                                 const std::vector<std::string>& overrides);

}  // namespace stitch
