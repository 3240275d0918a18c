#include "track/run_files.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/runtime.h"
#include "track/durable.h"

namespace stitch {

namespace fs = std::filesystem;
using nlohmann::json;

std::string read_file_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open", path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void append_json_line(const fs::path& path, const json& object) {
  std::ofstream out(path, std::ios::app);
  out << object.dump() << "\n";
  out.flush();
  if (!out) fail("{}: cannot append", path.string());
}

void truncate_json_lines(const fs::path& path, int64_t max_step) {
  if (!fs::exists(path)) return;
  std::ifstream in(path);
  std::string line, kept;
  while (std::getline(in, line)) {
    const auto j = json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.value("step", int64_t{0}) <= max_step) {
      kept += line + "\n";
    }
  }
  write_file_atomic(path, kept);
}

void RunFiles::start(const std::string& config_json) const {
  fs::create_directories(checkpoints());
  write_file_atomic(dir / "config.json", config_json + "\n");
  write_file_atomic(dir / "versions.txt", version_report());
  for (const std::string& log : logs) write_file_atomic(dir / log, "");
  spdlog::info("config: {}", json::parse(config_json).dump());
}

void RunFiles::rewind(int64_t step) const {
  for (const std::string& log : logs) truncate_json_lines(dir / log, step);
  spdlog::info("resuming {} at step {}", dir.string(), step);
}

RunLock::RunLock(const fs::path& dir) {
  fs::create_directories(dir);
  const fs::path path = dir / ".lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("{}: cannot open: {}", path.string(), std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char pid[32] = {};
    const ssize_t n = ::pread(fd_, pid, sizeof(pid) - 1, 0);
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK) {
      fail("{}: in use by another stitch process (pid {})", dir.string(),
           n > 0 ? std::string(pid, static_cast<size_t>(n)) : "unknown");
    }
    fail("{}: cannot lock: {}", path.string(), std::strerror(err));
  }
  const std::string me = std::to_string(::getpid());
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, me.data(), me.size(), 0) < 0) {
    // The pid is only for the message above; the lock itself holds.
  }
}

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

void check_run_directory(const fs::path& dir, const fs::path& checkpoint, bool resume) {
  if (resume && !fs::exists(checkpoint)) {
    fail("{}: nothing to resume (no checkpoints/{})", dir.string(), checkpoint.filename().string());
  }
  if (!resume && fs::exists(checkpoint)) {
    fail("{}: already holds a run; resume it with --resume or choose another --run-dir",
         dir.string());
  }
}

}  // namespace stitch
