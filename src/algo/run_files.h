// Small file helpers for run directories, shared by the offline and streaming trainers. Each
// keeps the directory valid whenever a run is killed: whole files are replaced atomically
// (write a temp file, then rename) and logs grow by whole lines.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace stitch {

// Replaces `path` with `text` atomically (path.tmp, then rename).
void write_file_atomic(const std::filesystem::path& path, const std::string& text);
// The whole file; throws Error naming it when it cannot be read.
std::string read_file_text(const std::filesystem::path& path);
// Appends one JSON object as a line and flushes.
void append_json_line(const std::filesystem::path& path, const nlohmann::json& object);
// Keeps only the JSON lines of `path` whose "step" is <= max_step (after a resume).
void truncate_json_lines(const std::filesystem::path& path, int64_t max_step);

struct EvalResult;
class RunLog;
// Computes the normalised score (when the suite has references for env), hands the evaluation
// to `log` (eval.jsonl, TensorBoard, progress) and logs one line.
void log_evaluation(const std::string& env, int64_t step, const EvalResult& e, RunLog& log);

}  // namespace stitch
