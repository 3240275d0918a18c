// meta.json of a run directory: what ran, where, with which versions, and how it ended.
//   {"stitch_version", "git_commit", "versions" (the `stitch version` lines), "blas_threads",
//    "host", "command_line", "start_time", "resumed_at" [...], "end_time",
//    "status": running | finished | stopped | failed, "error" (failed runs), plus the fields the
//    trainer passes (algo, env, dataset, dataset_sha256, ...)}
// Rewritten atomically at the start, at each resume and at the end, so it is valid whenever
// the run is killed (a killed run reads "running" with no end_time).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace stitch {

class RunMeta {
 public:
  // Starts (or, with resume, continues) the record of the run in run_dir. On resume, a field
  // "<input>_sha256" that the record holds must be unchanged (Error naming fields["<input>"]:
  // the dataset was replaced since the run started).
  RunMeta(std::filesystem::path run_dir, const nlohmann::json& fields, bool resume);
  void finish(const std::string& status);  // "finished" or "stopped"
  void fail(const std::string& error);
  const nlohmann::json& json() const { return meta_; }

 private:
  void write() const;
  std::filesystem::path path_;
  nlohmann::json meta_;
};

// The process's command line, recorded by main() (empty in tests).
void set_command_line(int argc, char** argv);
const std::string& command_line();

}  // namespace stitch
