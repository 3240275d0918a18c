// TensorBoard event files: CRC-32C against published test vectors, write/read round trips, torn
// and damaged files, and an independent reader (read_tfevents.py: python3-protobuf and its own
// framing parser) reading what stitch writes.
#include "track/tensorboard.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"
#include "testing/run_command.h"

namespace stitch::tensorboard {
namespace {

namespace fs = std::filesystem;

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

fs::path fresh_dir(const std::string& name) {
  const fs::path dir =
      fs::path(::testing::TempDir()) / fmt::format("stitch_tb_{}_{}", name, getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(TensorBoard, Crc32cMatchesPublishedVectors) {
  // The CRC-32C check value (Castagnoli; e.g. the catalogue of parametrised CRCs) and the
  // 32-byte vectors of RFC 3720, Appendix B.4.
  EXPECT_EQ(crc32c(bytes("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c(bytes(std::string(32, '\0'))), 0x8A9136AAu);
  EXPECT_EQ(crc32c(bytes(std::string(32, '\xff'))), 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending += static_cast<char>(i);
  EXPECT_EQ(crc32c(bytes(ascending)), 0x46DD794Eu);
  // Masking: rotate right by 15, add 0xa282ead8.
  const uint32_t c = crc32c(bytes("abc"));
  EXPECT_EQ(masked_crc32c(bytes("abc")), ((c >> 15) | (c << 17)) + 0xa282ead8u);
}

TEST(TensorBoard, WritesAndReadsScalars) {
  const fs::path dir = fresh_dir("rw");
  fs::path path;
  {
    EventWriter w(dir);
    path = w.path();
    EXPECT_NE(path.filename().string().find("events.out.tfevents."), std::string::npos);
    w.scalars(10, {{"train/loss", 0.5}, {"train/q", -3.25}});
    w.scalars(20, {{"train/loss", 0.25}});
    w.scalars(30, {});  // nothing to write
  }
  const auto s = read_events(path);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].step, 10);
  EXPECT_EQ(s[0].tag, "train/loss");
  EXPECT_FLOAT_EQ(s[0].value, 0.5f);
  EXPECT_EQ(s[1].tag, "train/q");
  EXPECT_FLOAT_EQ(s[1].value, -3.25f);
  EXPECT_EQ(s[2].step, 20);
  EXPECT_GT(s[2].wall_time, 1.6e9);
  fs::remove_all(dir);
}

TEST(TensorBoard, TornLastRecordEndsTheReadAndDamageIsAnError) {
  const fs::path dir = fresh_dir("torn");
  fs::path path;
  {
    EventWriter w(dir);
    path = w.path();
    for (int i = 1; i <= 5; ++i) w.scalars(i, {{"x", i * 1.0}});
  }
  std::string file = testing::read_file(path.string());
  // Cut the last record at every possible point: the first four scalars always survive.
  const size_t full = file.size();
  for (size_t cut = 1; cut < 30; ++cut) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << file.substr(0, full - cut);
    const auto s = read_events(path);
    EXPECT_EQ(s.size(), 4u) << "cut " << cut;
  }
  // A flipped byte inside a record's data.
  std::string damaged = file;
  damaged[damaged.size() - 10] ^= 0x40;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << damaged;
  try {
    read_events(path);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("CRC does not match"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(TensorBoard, IndependentReaderReadsOurFiles) {
  const fs::path dir = fresh_dir("indep");
  fs::path path;
  {
    EventWriter w(dir);
    path = w.path();
    w.scalars(1000, {{"train/critic_loss", 1.5}, {"eval/normalized_score", 87.25}});
    w.scalars(2000, {{"train/critic_loss", 0.75}});
  }
  const auto r = testing::run_command(fmt::format(
      "/usr/bin/python3 {}/tests/track/read_tfevents.py {}", STITCH_SOURCE_DIR, path.string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<nlohmann::json> lines;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0]["step"], 1000);
  EXPECT_EQ(lines[0]["tag"], "train/critic_loss");
  EXPECT_DOUBLE_EQ(lines[0]["value"].get<double>(), 1.5);
  EXPECT_EQ(lines[1]["tag"], "eval/normalized_score");
  EXPECT_DOUBLE_EQ(lines[1]["value"].get<double>(), 87.25);
  EXPECT_EQ(lines[2]["step"], 2000);
  // And it rejects a damaged file, as ours does.
  std::string file = testing::read_file(path.string());
  file[file.size() - 10] ^= 0x40;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << file;
  const auto bad = testing::run_command(fmt::format(
      "/usr/bin/python3 {}/tests/track/read_tfevents.py {}", STITCH_SOURCE_DIR, path.string()));
  EXPECT_NE(bad.exit_code, 0);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace stitch::tensorboard
