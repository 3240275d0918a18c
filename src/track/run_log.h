// What a training loop reports as it runs, besides its JSON lines: TensorBoard scalars
// (track/tensorboard.h) and the progress line (core/progress.h). Shared by the offline, online
// and streaming trainers.
//   metrics(step, line)  appends line to metrics.jsonl and writes its numbers as "train/<key>"
//   evaluation(...)      appends {step, returns, mean, normalized, d4rl_normalized} to
//                        eval.jsonl (the scores where the env has references, eval/scores.h)
//                        and writes "eval/mean_return", "eval/normalized_score" and
//                        "eval/d4rl_normalized_score"; the progress line
//                        shows the last score
//   progress(step)       advances the progress line
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

namespace stitch {

class Progress;
namespace tensorboard {
class EventWriter;
}

class RunLog {
 public:
  // `start` is the step a resumed run continues from (0 for a new run); `unit` names a step
  // in the progress line ("steps", "env steps").
  RunLog(const std::filesystem::path& run_dir, int64_t start, int64_t total,
         const std::string& unit);
  ~RunLog();
  RunLog(const RunLog&) = delete;
  RunLog& operator=(const RunLog&) = delete;

  void metrics(int64_t step, const nlohmann::json& line);
  void evaluation(int64_t step, const std::vector<double>& returns, double mean_return,
                  std::optional<double> normalized, std::optional<double> d4rl_normalized = {});
  void progress(int64_t step);

 private:
  std::filesystem::path run_dir_;
  std::unique_ptr<tensorboard::EventWriter> events_;
  std::unique_ptr<Progress> progress_;
};

}  // namespace stitch
