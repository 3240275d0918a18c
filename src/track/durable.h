// Durable atomic writes: the one way stitch replaces a file (or a directory) on disk.
//
// Every writer in the project (datasets, checkpoints, replay buffers, exported policies, suite
// records, run files, reports) goes through here:
//   1. the new contents are written to `<path>.tmp` (a sibling, so the rename stays on one
//      file system), by the caller's writer or from bytes;
//   2. the temporary file is fsync'ed (a directory: every file in it and the directory);
//   3. it is renamed over `path` (a directory that exists is moved aside first and removed
//      after, so that a failure never loses both);
//   4. the parent directory is fsync'ed, so that the rename itself survives a power cut.
// A reader therefore sees the old contents or the new, never a mix, and after a crash or power
// cut at any moment `path` holds one of the two. On any failure the temporary is removed and an
// Error names the file and the system's reason ("data/x.hdf5: cannot fsync: No space left on
// device"); `path` is untouched.
//
// The fault seam: tests install a hook that is called before every system call of these
// functions and may make it fail with an errno (ENOSPC, EIO, ...) or a short write.
#pragma once

#include <filesystem>
#include <functional>
#include <string_view>

namespace stitch {

// Replaces `path` with `bytes`.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

// Replaces `path` with what `write(tmp)` creates at `tmp` (a file or a directory), for writers
// that need a file name (libhdf5, libtorch archives). `write` throws on failure.
void write_atomic_with(const std::filesystem::path& path,
                       const std::function<void(const std::filesystem::path& tmp)>& write);

// Replaces `to` with a copy of the file `from`.
void copy_file_atomic(const std::filesystem::path& from, const std::filesystem::path& to);

namespace durable {

// The system calls the helpers make, in the order they make them.
enum class Op { kWrite, kFsyncFile, kRename, kFsyncDir };
const char* op_name(Op op);  // "write", "fsync", "rename", "fsync the directory of"

// What a hook asks for: proceed (errno_value 0), fail the call with errno_value, or (kWrite
// only) write just `short_write` bytes and then fail with errno_value.
struct Fault {
  int errno_value = 0;
  bool short_write = false;
};
using Hook = std::function<Fault(Op op, const std::filesystem::path& path)>;

// Installs `hook` (empty: none) for this process; returns the previous one. Tests only.
Hook set_hook(Hook hook);

}  // namespace durable
}  // namespace stitch
