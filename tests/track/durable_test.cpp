// The durable atomic writer: the order of its system calls (write, fsync the file, rename, fsync
// the directory) seen through its fault seam, and a fault injected at each of them leaves the
// previous file intact, no temporary behind, and one Error naming the file and the errno text.
#include "track/durable.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <vector>

#include "core/error.h"
#include "testing/run_command.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;
using durable::Fault;
using durable::Op;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

class Durable : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / fmt::format("stitch_durable_{}", getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    durable::set_hook({});
    fs::remove_all(dir_);
  }
  // Records every call; fails the k-th (0-based) with `fault`.
  void record(int fail_at = -1, Fault fault = {}) {
    calls_.clear();
    durable::set_hook([this, fail_at, fault](Op op, const fs::path& p) {
      calls_.emplace_back(op, p);
      return static_cast<int>(calls_.size()) - 1 == fail_at ? fault : Fault{};
    });
  }
  std::vector<std::string> leftovers() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) {
      const std::string name = e.path().filename().string();
      if (name.find(".tmp") != std::string::npos || name.find(".old") != std::string::npos)
        out.push_back(name);
    }
    return out;
  }
  fs::path dir_;
  std::vector<std::pair<Op, fs::path>> calls_;
};

TEST_F(Durable, WritesFsyncsRenamesAndFsyncsTheDirectory) {
  const fs::path file = dir_ / "a.json";
  record();
  write_file_atomic(file, "new");
  const fs::path tmp = file.string() + ".tmp";
  EXPECT_THAT(calls_, ElementsAre(Pair(Op::kWrite, tmp), Pair(Op::kFsyncFile, tmp),
                                  Pair(Op::kRename, tmp), Pair(Op::kFsyncDir, dir_)));
  EXPECT_EQ(testing::read_file(file.string()), "new");
  EXPECT_TRUE(leftovers().empty());
}

TEST_F(Durable, ADirectoryIsSyncedFileByFileAndReplacedWhole) {
  const fs::path target = dir_ / "minari";
  fs::create_directories(target / "old_only");
  auto writer = [](const fs::path& tmp) {
    fs::create_directories(tmp / "sub");
    testing::write_file((tmp / "sub" / "x.h5").string(), "x");
    testing::write_file((tmp / "meta.json").string(), "{}");
  };
  record();
  write_atomic_with(target, writer);
  int file_syncs = 0, dir_syncs = 0;
  for (const auto& [op, p] : calls_) {
    file_syncs += op == Op::kFsyncFile;
    dir_syncs += op == Op::kFsyncDir;
  }
  EXPECT_EQ(file_syncs, 2);
  EXPECT_EQ(dir_syncs, 3);  // sub/, the new directory, and its parent
  EXPECT_TRUE(fs::exists(target / "sub" / "x.h5"));
  EXPECT_FALSE(fs::exists(target / "old_only"));
  EXPECT_TRUE(leftovers().empty());
}

TEST_F(Durable, AFaultAtEveryCallKeepsThePreviousFile) {
  const fs::path file = dir_ / "checkpoint.pt";
  write_file_atomic(file, "previous");
  record();
  write_file_atomic(file, "next contents");
  const int calls = static_cast<int>(calls_.size());
  ASSERT_EQ(calls, 4);
  durable::set_hook({});
  write_file_atomic(file, "previous");
  for (int k = 0; k < calls; ++k) {
    for (const Fault fault : {Fault{ENOSPC}, Fault{EIO}, Fault{ENOSPC, true}}) {
      if (fault.short_write && k != 0) continue;  // short writes apply to writes only
      SCOPED_TRACE(fmt::format("fault at call {} errno {} short {}", k, fault.errno_value,
                               fault.short_write));
      record(k, fault);
      try {
        write_file_atomic(file, "next contents");
        ADD_FAILURE() << "no error";
      } catch (const Error& e) {
        EXPECT_THAT(e.what(), HasSubstr(file.string()));
        EXPECT_THAT(e.what(), HasSubstr(std::strerror(fault.errno_value)));
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
      }
      // A fault before the rename keeps the old bytes; after it (fsync of the directory) the
      // new file is in place but the caller is told it may not be durable.
      EXPECT_EQ(testing::read_file(file.string()), k < 3 ? "previous" : "next contents");
      EXPECT_TRUE(leftovers().empty());
      durable::set_hook({});
      write_file_atomic(file, "previous");
    }
  }
}

TEST_F(Durable, AFailingWriterLeavesNothingBehind) {
  const fs::path file = dir_ / "data.hdf5";
  write_file_atomic(file, "previous");
  EXPECT_THROW(write_atomic_with(file,
                                 [](const fs::path& tmp) {
                                   testing::write_file(tmp.string(), "half");
                                   fail("disk full");
                                 }),
               Error);
  EXPECT_EQ(testing::read_file(file.string()), "previous");
  EXPECT_TRUE(leftovers().empty());
  copy_file_atomic(file, dir_ / "copy");
  EXPECT_EQ(testing::read_file((dir_ / "copy").string()), "previous");
}

}  // namespace
}  // namespace stitch
