// The checkpoint containers: everything a training loop needs to continue exactly where it
// stopped, written through the durable atomic writer (track/durable.h).
//
// Minibatch loops (offline and online, libtorch algorithms): a header line
// "stitch-checkpoint-v2 <sha256 of the archive> <archive size>", then one libtorch archive (read
// only when its bytes match the header, so libtorch never parses a damaged file) holding
//   "config"        the run's resolved config (JSON text)
//   "dims"          [obs_dim, act_dim] int64;  "max_action" float64
//   "sampler_rng"   the minibatch sampler's xoshiro state: 4 words, has-cached-normal, cached
//   "normalize"     0/1; "obs_mean", "obs_std" [obs_dim] when 1; "reward_scale" float64
//   "online_state"  [env step, episode cuts] and "online_credit" (online loop only)
//   and the algorithm's own entries (Algorithm::save: "module/*", "optimizer/*", "steps",
//   "generator", "algorithm"), written and read by the caller through archive().
// Streaming loop: "stitch-stream-checkpoint-v1\n" then one CBOR object (the agent, feature
// normalisers and loop counters, see algo/streaming/stream_loop.cpp).
//
// Every value read back is checked before it is used (dims and normaliser sizes agree, the RNG
// state is not all zero, numbers are finite), so a damaged file is one Error naming it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

#include "core/rng.h"
#include "data/normalize.h"

namespace torch::serialize {
class InputArchive;
class OutputArchive;
}  // namespace torch::serialize

namespace stitch {

struct OnlineLoopState {
  int64_t env_step = 0;
  int64_t cuts = 0;     // episodes cut at checkpoints so far
  double credit = 0.0;  // gradient steps owed (utd_ratio per transition)
};

struct CheckpointContents {
  std::string config_json;
  int64_t obs_dim = 0, act_dim = 0;
  double max_action = 1.0;
  Rng::State sampler_rng{};
  Normalizers normalizers;
  std::optional<OnlineLoopState> online;
};

// Writes the container; `write_algorithm` adds the algorithm's entries.
void save_checkpoint(const std::filesystem::path& path, const CheckpointContents& contents,
                     const std::function<void(torch::serialize::OutputArchive&)>& write_algorithm);

// An opened checkpoint: its contents, and the archive for the algorithm's own load.
class Checkpoint {
 public:
  explicit Checkpoint(const std::string& path);  // Error: missing, unreadable or damaged
  ~Checkpoint();
  Checkpoint(Checkpoint&&) noexcept;
  const std::string& path() const { return path_; }
  const CheckpointContents& contents() const { return contents_; }
  // Runs `read(archive)` (e.g. Algorithm::load); any libtorch error becomes one Error naming
  // the file.
  void read_algorithm(const std::function<void(torch::serialize::InputArchive&)>& read);

 private:
  std::string path_;
  std::unique_ptr<torch::serialize::InputArchive> archive_;
  CheckpointContents contents_;
};

// The streaming container.
void save_stream_checkpoint(const std::filesystem::path& path, const nlohmann::json& state);
nlohmann::json load_stream_checkpoint(const std::string& path);
bool is_stream_checkpoint(const std::string& path);

}  // namespace stitch
