#include "track/run_log.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/progress.h"
#include "track/run_files.h"
#include "track/tensorboard.h"

namespace stitch {

RunLog::RunLog(const std::filesystem::path& run_dir, int64_t start, int64_t total,
               const std::string& unit)
    : run_dir_(run_dir),
      events_(std::make_unique<tensorboard::EventWriter>(run_dir)),
      // The trainers log their own periodic lines, so no plain progress lines here.
      progress_(std::make_unique<Progress>("train", total, unit, /*log_interval_s=*/0.0, start)) {}

RunLog::~RunLog() = default;

void RunLog::metrics(int64_t step, const nlohmann::json& line) {
  append_json_line(run_dir_ / "metrics.jsonl", line);
  std::vector<std::pair<std::string, double>> scalars;
  for (const auto& [key, value] : line.items()) {
    if (key != "step" && value.is_number())
      scalars.emplace_back("train/" + key, value.get<double>());
  }
  events_->scalars(step, scalars);
}

void RunLog::evaluation(int64_t step, const std::vector<double>& returns, double mean_return,
                        std::optional<double> normalized, std::optional<double> d4rl_normalized) {
  nlohmann::json line{{"step", step}, {"returns", returns}, {"mean", mean_return}};
  if (normalized) line["normalized"] = *normalized;
  if (d4rl_normalized) line["d4rl_normalized"] = *d4rl_normalized;
  append_json_line(run_dir_ / "eval.jsonl", line);
  std::vector<std::pair<std::string, double>> scalars{{"eval/mean_return", mean_return}};
  if (normalized) scalars.emplace_back("eval/normalized_score", *normalized);
  if (d4rl_normalized) scalars.emplace_back("eval/d4rl_normalized_score", *d4rl_normalized);
  events_->scalars(step, scalars);
  progress_->set_note(normalized
                          ? fmt::format("eval {:.1f} (score {:.1f})", mean_return, *normalized)
                          : fmt::format("eval {:.1f}", mean_return));
}

void RunLog::progress(int64_t step) { progress_->update(step); }

}  // namespace stitch
