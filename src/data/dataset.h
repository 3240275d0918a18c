// The in-memory dataset: one contiguous column per field plus an episode index.
//
// Rows are transitions (s, a, r, s', terminal, timeout). Float columns are float32 and
// row-major: observations [N, obs_dim], actions [N, act_dim], rewards [N], next_observations
// [N, obs_dim], costs [N] (empty when the data has none). Flag columns hold 0/1 bytes.
//
// Episode boundaries (D4RL's convention): an episode ends at row i when terminals[i] (a true
// terminal state) or timeouts[i] (cut by a time limit). Rows after the last end form a final
// episode "cut by the end of the data" (neither flag set).
//
// has_next[i] says whether next_observations row i is a real successor state. It is 1 when the
// file stored next_observations, and when it was derived from observations[i + 1] inside an
// episode. It is 0 for the last row of an episode that was not terminated (a time-out or the end
// of the data) when the file has no next_observations: that successor was never recorded, so
// the row cannot be used for a TD target (samplers skip it) but is kept for BC and statistics.
// For a terminated row the successor is irrelevant (no bootstrap); it is set to the row's own
// observation and has_next is 1.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace stitch {

struct Episode {
  int64_t start = 0;   // first row
  int64_t length = 0;  // rows
  double total_return = 0.0;
  bool terminated = false;  // last row has terminals = 1
  bool timed_out = false;   // last row has timeouts = 1 (and terminals = 0)
  // Cut by the data rather than by the env: by a collector's transition budget (recorded in
  // the metadata, see kCutEpisodeEnds; the row is still a time-out for bootstrapping) or by the
  // end of the data. Its return is partial, so returns-based statistics leave it out.
  bool cut = false;
  int64_t end() const { return start + length; }
  bool complete() const { return !cut; }
};

// Metadata key: a JSON list of the rows that end an episode cut by a collector's budget (each a
// time-out row), e.g. [999999]; a mixture's parts each add one. Files carry it as any metadata.
inline constexpr const char* kCutEpisodeEnds = "cut_episode_ends";

// An extra per-row column, e.g. infos/qpos: `width` values per row, held as float64 and stored
// in files as float64 when `float64` (MuJoCo states, so a recorded state restores exactly) or
// as float32 otherwise (what most files hold).
struct Column {
  int64_t width = 1;
  bool float64 = false;
  std::vector<double> data;  // [N, width]
};

struct Dataset {
  int64_t obs_dim = 0;
  int64_t act_dim = 0;
  std::vector<float> observations;       // [N, obs_dim]
  std::vector<float> actions;            // [N, act_dim]
  std::vector<float> rewards;            // [N]
  std::vector<float> next_observations;  // [N, obs_dim]
  std::vector<float> costs;              // [N] or empty
  std::vector<uint8_t> terminals;        // [N] 0/1
  std::vector<uint8_t> timeouts;         // [N] 0/1
  std::vector<uint8_t> has_next;         // [N] 0/1, see above
  std::map<std::string, Column> infos;   // extra per-row columns (infos/* in the files)
  // Dataset-level metadata, values as JSON text (e.g. env_id -> "\"pendulum-v1\"").
  std::map<std::string, std::string> metadata;
  std::vector<Episode> episodes;  // built by index_episodes()

  int64_t size() const { return static_cast<int64_t>(rewards.size()); }

  // Rebuilds `episodes` from terminals/timeouts and rewards.
  void index_episodes();
  // Fills next_observations and has_next from observations when the source had none.
  void derive_next_observations();
  // Checks that every column has N rows of the right width (an internal invariant).
  void check_shapes() const;

  // Metadata helpers: the string value of a key, or "" when absent / not a string.
  std::string metadata_string(const std::string& key) const;
  // The numeric value of a key, or NaN.
  double metadata_number(const std::string& key) const;
  void set_metadata_string(const std::string& key, const std::string& value);
  void set_metadata_number(const std::string& key, double value);
};

// The rows listed under kCutEpisodeEnds (sorted; entries that are not row numbers are left out:
// validate_dataset reports them), and the setter (an empty list removes the key).
std::vector<int64_t> cut_episode_ends(const Dataset& d);
void set_cut_episode_ends(Dataset& d, std::vector<int64_t> rows);
// That key's value as JSON: files store the list as JSON text, itself sometimes inside a JSON
// string. Parsed through core/json_read.h (throws Error "<source>: JSON nested deeper than ..."
// rather than recursing through a hostile file); null when absent, discarded when not JSON.
nlohmann::json cut_episode_ends_json(const Dataset& d, std::string_view source);

// Returns over the complete episodes (not cut), or over all episodes when none is complete.
std::vector<double> complete_episode_returns(const Dataset& d);

// Appends every row of `src` to `dst` (same dimensions required; infos kept only when both have
// them) and re-indexes episodes. Throws Error on a dimension mismatch.
void append_dataset(Dataset& dst, const Dataset& src);

// A dataset made of the given episodes of `src`, in order (infos and metadata kept).
Dataset select_episodes(const Dataset& src, const std::vector<int64_t>& episode_indices);

}  // namespace stitch
