// A run directory's files, shared by the training loops (offline, online, streaming). Each keeps
// the directory valid whenever a run is killed: whole files are replaced through the durable
// atomic writer (track/durable.h) and logs grow by whole lines.
//
//   config.json     the resolved configuration
//   versions.txt    `stitch version` at the start of the run
//   meta.json       what ran and how it ended (track/meta.h)
//   stdout.log      every info-level log line of the run
//   *.jsonl         the loop's logs (metrics, eval, episodes): one JSON object per line, each
//                   with its "step"
//   checkpoints/    the loop's checkpoint (track/checkpoint.h)
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace stitch {

// The whole file; throws Error naming it when it cannot be read.
std::string read_file_text(const std::filesystem::path& path);
// Appends one JSON object as a line and flushes.
void append_json_line(const std::filesystem::path& path, const nlohmann::json& object);
// Keeps only the JSON lines of `path` whose "step" is <= max_step (after a resume).
void truncate_json_lines(const std::filesystem::path& path, int64_t max_step);

struct RunFiles {
  std::filesystem::path dir;
  std::vector<std::string> logs;  // the loop's JSON-lines logs, e.g. {"metrics.jsonl", ...}

  std::filesystem::path checkpoints() const { return dir / "checkpoints"; }
  // A new run: creates checkpoints/, writes config.json and versions.txt, empties the logs and
  // logs the config.
  void start(const std::string& config_json) const;
  // A resumed run: drops every log line past `step` (written after the checkpoint).
  void rewind(int64_t step) const;
};

// One writer per run directory: an advisory lock (flock) on <dir>/.lock, held for the life of
// the object. A second process fails with one Error naming the holder's pid; a lock left by a
// killed process is free again (the kernel drops it with the process).
class RunLock {
 public:
  explicit RunLock(const std::filesystem::path& dir);  // creates dir when missing
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  int fd_ = -1;
};

// Before a run starts: a resumed run needs `checkpoint`; a new one must not find one.
void check_run_directory(const std::filesystem::path& dir, const std::filesystem::path& checkpoint,
                         bool resume);

}  // namespace stitch
