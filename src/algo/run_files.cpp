#include "algo/run_files.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "algo/trainer.h"
#include "core/error.h"
#include "suite/suite.h"
#include "track/run_log.h"

namespace stitch {

void write_file_atomic(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    out.flush();
    if (!out) fail("{}: cannot write", tmp.string());
  }
  std::filesystem::rename(tmp, path);
}

std::string read_file_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open", path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void append_json_line(const std::filesystem::path& path, const nlohmann::json& object) {
  std::ofstream out(path, std::ios::app);
  out << object.dump() << "\n";
  out.flush();
  if (!out) fail("{}: cannot append", path.string());
}

void truncate_json_lines(const std::filesystem::path& path, int64_t max_step) {
  if (!std::filesystem::exists(path)) return;
  std::ifstream in(path);
  std::string line, kept;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("step", int64_t{0}) <= max_step) kept += line + "\n";
  }
  write_file_atomic(path, kept);
}

void log_evaluation(const std::string& env, int64_t step, const EvalResult& e, RunLog& log) {
  const auto score = normalized_score(env, e.mean);
  log.evaluation(step, e.returns, e.mean, score);
  const std::string normalized = score ? fmt::format(" (normalised score {:.1f})", *score) : "";
  spdlog::info("eval at step {}: mean return {:.3f}{} over {} episodes", step, e.mean, normalized,
               e.returns.size());
}

}  // namespace stitch
