#include "track/durable.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace stitch {
namespace durable {

const char* op_name(Op op) {
  switch (op) {
    case Op::kWrite:
      return "write";
    case Op::kFsyncFile:
      return "fsync";
    case Op::kRename:
      return "rename";
    case Op::kFsyncDir:
      return "fsync the directory of";
  }
  return "?";
}

namespace {
Hook& installed_hook() {
  static Hook hook;
  return hook;
}
}  // namespace

Hook set_hook(Hook hook) {
  Hook previous = std::move(installed_hook());
  installed_hook() = std::move(hook);
  return previous;
}

}  // namespace durable

namespace {

namespace fs = std::filesystem;
using durable::Fault;
using durable::Op;

Fault ask(Op op, const fs::path& path) {
  const durable::Hook& hook = durable::installed_hook();
  return hook ? hook(op, path) : Fault{};
}

[[noreturn]] void fail_errno(const fs::path& named, const char* what, int err) {
  fail("{}: cannot {}: {}", named.string(), what, std::strerror(err));
}

// Fails with the hook's errno, if it asks for one.
void check_hook(Op op, const fs::path& path, const fs::path& named) {
  const Fault f = ask(op, path);
  if (f.errno_value != 0) fail_errno(named, durable::op_name(op), f.errno_value);
}

void fsync_one(const fs::path& path, bool directory, const fs::path& named) {
  check_hook(directory ? Op::kFsyncDir : Op::kFsyncFile, path, named);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
  if (fd < 0) fail_errno(named, "open for fsync", errno);
  int rc = 0;
  do {
    rc = ::fsync(fd);
  } while (rc != 0 && errno == EINTR);
  const int err = errno;
  ::close(fd);
  // Some file systems cannot fsync a directory (EINVAL); the data itself was synced.
  if (rc != 0 && !(directory && err == EINVAL)) {
    fail_errno(named, directory ? "fsync the directory of" : "fsync", err);
  }
}

// Every file and directory under `path` (or the file itself), deepest first.
void fsync_tree(const fs::path& path, const fs::path& named) {
  if (fs::is_directory(path)) {
    for (const auto& entry : fs::recursive_directory_iterator(path)) {
      if (entry.is_regular_file()) fsync_one(entry.path(), false, named);
    }
    for (const auto& entry : fs::recursive_directory_iterator(path)) {
      if (entry.is_directory()) fsync_one(entry.path(), true, named);
    }
    fsync_one(path, true, named);
  } else {
    fsync_one(path, false, named);
  }
}

fs::path parent_of(const fs::path& path) {
  const fs::path parent = path.parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

void rename_or_fail(const fs::path& from, const fs::path& to, const fs::path& named) {
  check_hook(Op::kRename, from, named);
  if (::rename(from.c_str(), to.c_str()) != 0) fail_errno(named, "rename", errno);
}

// Steps 2-4 of the header: fsync tmp, rename it over path, fsync the directory.
void commit(const fs::path& tmp, const fs::path& path) {
  fsync_tree(tmp, path);
  if (fs::is_directory(path) && !fs::is_symlink(path)) {
    // rename(2) cannot replace a non-empty directory: move the old one aside first.
    const fs::path old = path.string() + ".old";
    std::error_code ignored;
    fs::remove_all(old, ignored);
    rename_or_fail(path, old, path);
    try {
      rename_or_fail(tmp, path, path);
    } catch (...) {
      ::rename(old.c_str(), path.c_str());  // put the old one back
      throw;
    }
    // The new directory is in place: the old one goes whether or not the fsync succeeds.
    try {
      fsync_one(parent_of(path), true, path);
    } catch (...) {
      fs::remove_all(old, ignored);
      throw;
    }
    fs::remove_all(old, ignored);
  } else {
    rename_or_fail(tmp, path, path);
    fsync_one(parent_of(path), true, path);
  }
}

void write_bytes(const fs::path& tmp, std::string_view bytes, const fs::path& named) {
  const Fault f = ask(Op::kWrite, tmp);
  if (f.errno_value != 0 && !f.short_write) fail_errno(named, "write", f.errno_value);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail_errno(named, "create", errno);
  size_t limit = bytes.size();
  if (f.short_write) limit /= 2;
  size_t done = 0;
  int err = 0;
  while (done < limit) {
    const ssize_t n = ::write(fd, bytes.data() + done, limit - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (err == 0 && f.short_write) err = f.errno_value != 0 ? f.errno_value : ENOSPC;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) fail_errno(named, "write", err);
}

void replace_with(const fs::path& path, const std::function<void(const fs::path& tmp)>& write) {
  const fs::path tmp = path.string() + ".tmp";
  std::error_code ignored;
  fs::remove_all(tmp, ignored);
  try {
    write(tmp);
    if (!fs::exists(tmp)) fail("{}: the writer created nothing", path.string());
    commit(tmp, path);
  } catch (...) {
    fs::remove_all(tmp, ignored);
    throw;
  }
}

}  // namespace

void write_atomic_with(const fs::path& path,
                       const std::function<void(const fs::path& tmp)>& write) {
  replace_with(path, [&](const fs::path& tmp) {
    check_hook(Op::kWrite, tmp, path);  // the library's writes, as one
    write(tmp);
  });
}

void write_file_atomic(const fs::path& path, std::string_view bytes) {
  replace_with(path, [&](const fs::path& tmp) { write_bytes(tmp, bytes, path); });
}

void copy_file_atomic(const fs::path& from, const fs::path& to) {
  std::ifstream in(from, std::ios::binary);
  if (!in) fail("{}: cannot open", from.string());
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (!in && !in.eof()) fail("{}: cannot read", from.string());
  write_file_atomic(to, bytes.str());
}

}  // namespace stitch
