// The algorithm registry (torch-free): every learner, minibatch (algorithm.h, libtorch) or
// streaming (streaming/agent.h), registers under a name with its config struct and factory.
// Registration is one line in the algorithm's own .cpp (STITCH_REGISTER_ALGORITHM).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "algo/algo_config.h"

namespace stitch {

class Algorithm;
class ConfigFields;
class StreamAgent;

struct AlgoDims {
  int64_t obs_dim = 0;
  int64_t act_dim = 0;
  double max_action = 1.0;  // actions lie in [-max_action, max_action]^act_dim
  int64_t total_steps = 0;  // planned gradient steps (for schedules); 0 when unknown
  int64_t num_actions = 0;  // Discrete action spaces: the number of actions (act_dim is 1)
  std::string env;          // the env id (streaming prediction acts with its scripted policy)
};

// What `stitch finetune --algo NAME` does by default with a pre-trained checkpoint
// (algo/o2o/finetune.h); an algorithm whose `from` is empty does not fine-tune.
struct FinetuneDefaults {
  std::vector<std::string> from;  // the checkpoint algorithms it continues
  int64_t learning_starts = 0;    // env steps of the pre-trained policy before updates (warm-up)
  double offline_ratio = 0.5;     // share of each minibatch drawn from the offline data
  double utd_ratio = 1.0;         // gradient steps per env step
  // The keys `stitch finetune` takes from a checkpoint of another algorithm (those that shape
  // the networks); empty: every key the method shares. From its own algorithm's: every key.
  std::vector<std::string> network_keys;
  // Method keys set after the checkpoint's, before the user's ("key=value").
  std::vector<std::string> set;
};

// What a model-based algorithm (src/algo/model_based) asks of the model-based loop: branched
// rollouts of the dynamics ensemble (model/rollout.h) and the real share of every minibatch.
struct ModelRollouts {
  int horizon = 5;                // steps per rollout
  double penalty = 0.0;           // MOPO's lambda: reward - penalty * uncertainty (0: none)
  int64_t rollout_batch = 50000;  // rollouts started (from dataset states) each time
  int64_t rollout_every = 1000;   // gradient steps between rollouts
  int retain = 5;                 // the model buffer holds this many rollout batches
  double real_ratio = 0.05;       // share of each minibatch from the dataset
};

// The rollout keys of a model-based algorithm's config (horizon, penalty when `with_penalty`,
// rollout_batch, rollout_every, retain, real_ratio).
void describe_model_rollouts(ConfigFields& f, ModelRollouts& r, bool with_penalty);
// Error naming the keys when the model buffer (rollout_batch x horizon x retain transitions)
// would hold more than 100 million transitions (about 10 GB at hopper's sizes).
void check_model_rollouts(const ModelRollouts& r, const std::string& algo);

struct AlgoEntry {
  std::string name;
  std::string summary;
  bool normalize_observations = false;     // trainer default (e.g. TD3+BC normalises states)
  bool locomotion_reward_scaling = false;  // trainer default (IQL's r * 1000 / return range)
  int64_t learning_starts = 5000;  // online: default env steps of random actions before updates
  int64_t batch_size = 256;        // trainer default minibatch size (ReBRAC: 1024)
  bool next_actions = false;       // offline: batches carry the dataset's next actions
  bool returns_to_go = false;      // batches carry Monte-Carlo returns-to-go (Cal-QL)
  // Return-conditioned (RCSL, MBRCSL: algo/return_conditioned.h): batches carry undiscounted
  // returns-to-go and the loop hands the algorithm its data's returns.
  bool return_conditioned = false;
  // MBRCSL: the offline loop trains it on a dataset of whole-episode rollouts of a dynamics
  // model that it builds first (model_based/mbrcsl.cpp); config keys model.*.
  bool model_dataset = false;
  // precision=auto picks bf16 for this algorithm on a CPU with bf16 matmuls; false where the
  // suite's fp32-vs-bf16 comparison found bf16 hurting it, or scoring clearly lower without a
  // resolved interval (docs/results.md, "fp32 against bf16").
  bool bf16_auto = true;
  FinetuneDefaults finetune;  // online fine-tuning from a checkpoint (stitch finetune)
  // Set for the model-based algorithms: they train in the model-based loop on rollouts of a
  // dynamics ensemble mixed with the data (config keys model.*, model/model_config.h).
  std::function<ModelRollouts(const AlgoConfig&)> model_rollouts;
  bool online = false;  // learns from the env (`--online`): the online loop for `make`, the
                        // streaming loop for `make_stream`; otherwise from a dataset
  std::function<std::unique_ptr<AlgoConfig>()> make_config;
  // Exactly one of these is set: a minibatch learner (libtorch) or a streaming agent.
  std::function<std::unique_ptr<Algorithm>(const AlgoConfig&, const AlgoDims&, uint64_t seed)> make;
  std::function<std::unique_ptr<StreamAgent>(const AlgoConfig&, const AlgoDims&, uint64_t seed)>
      make_stream;
};

class AlgoRegistry {
 public:
  static AlgoRegistry& global();
  void add(AlgoEntry entry);
  const AlgoEntry& entry(const std::string& name) const;  // throws Error listing known names
  std::vector<std::string> names() const;

 private:
  std::vector<AlgoEntry> entries_;
};

namespace detail {
struct AlgoRegistration {
  explicit AlgoRegistration(AlgoEntry entry) { AlgoRegistry::global().add(std::move(entry)); }
};
}  // namespace detail

}  // namespace stitch

#define STITCH_REGISTER_ALGORITHM(name, ...) \
  static const ::stitch::detail::AlgoRegistration stitch_algo_registration_##name(__VA_ARGS__)
