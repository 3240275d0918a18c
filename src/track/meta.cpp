#include "track/meta.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/runtime.h"
#include "track/durable.h"
#include "track/run_files.h"

namespace stitch {
namespace {

std::string& command_line_storage() {
  static std::string line;
  return line;
}

std::string now_utc() {
  const auto now = std::chrono::system_clock::now();
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z",
                     fmt::gmtime(std::chrono::system_clock::to_time_t(now)));
}

std::string host_name() {
  char buffer[256] = {};
  return gethostname(buffer, sizeof(buffer) - 1) == 0 ? std::string(buffer)
                                                      : std::string("unknown");
}

}  // namespace

void set_command_line(int argc, char** argv) {
  std::string line;
  for (int i = 0; i < argc; ++i) {
    if (i > 0) line += ' ';
    line += argv[i];
  }
  command_line_storage() = line;
}

const std::string& command_line() { return command_line_storage(); }

RunMeta::RunMeta(std::filesystem::path run_dir, const nlohmann::json& fields, bool resume)
    : path_(std::move(run_dir) / "meta.json") {
  if (resume && std::filesystem::exists(path_)) {
    meta_ = nlohmann::json::parse(read_file_text(path_), nullptr, false);
    if (meta_.is_discarded() || !meta_.is_object()) meta_ = nlohmann::json::object();
    // An input recorded by its digest (dataset_sha256) must be the same file it was.
    for (auto it = fields.begin(); it != fields.end(); ++it) {
      const std::string& key = it.key();
      if (!key.ends_with("_sha256") || !meta_.contains(key) || meta_[key] == it.value()) continue;
      const std::string input = key.substr(0, key.size() - 7);
      const std::string was = meta_[key].is_string() ? meta_[key].get<std::string>() : "?";
      const std::string now = it.value().is_string() ? it.value().get<std::string>() : "?";
      stitch::fail(
          "{}: changed since the run started (sha256 {}... then, {}... now); a resumed run "
          "trains on the {} it started with: restore it, or start a new run",
          fields.contains(input) && fields[input].is_string() ? fields[input].get<std::string>()
                                                              : input,
          was.substr(0, 12), now.substr(0, 12), input);
    }
    meta_["resumed_at"].push_back(now_utc());
  } else {
    meta_ = nlohmann::json::object();
    meta_["start_time"] = now_utc();
  }
  for (auto it = fields.begin(); it != fields.end(); ++it) meta_[it.key()] = it.value();
  meta_["stitch_version"] = version_string();
  std::vector<std::string> lines;
  std::istringstream report(version_report());
  for (std::string line; std::getline(report, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  meta_["versions"] = lines;
  meta_["blas_threads"] = blas_info().threads;
  meta_["host"] = host_name();
  meta_["command_line"] = command_line();
  meta_["pid"] = static_cast<int64_t>(getpid());
  meta_["status"] = "running";
  meta_.erase("end_time");
  meta_.erase("error");
  write();
}

void RunMeta::finish(const std::string& status) {
  meta_["status"] = status;
  meta_["end_time"] = now_utc();
  write();
}

void RunMeta::fail(const std::string& error) {
  meta_["status"] = "failed";
  meta_["error"] = error;
  meta_["end_time"] = now_utc();
  write();
}

void RunMeta::write() const { write_file_atomic(path_, meta_.dump(2) + "\n"); }

}  // namespace stitch
