#include "track/tensorboard.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <fstream>

#include "core/error.h"
#include "track/tensorboard.pb.h"

namespace stitch::tensorboard {

namespace {

constexpr uint32_t kCrc32cPolynomial = 0x82F63B78u;  // Castagnoli, bit-reflected
constexpr uint32_t kMaskDelta = 0xa282ead8u;         // TFRecord's CRC mask

const std::array<uint32_t, 256>& crc_table() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ kCrc32cPolynomial : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return table;
}

double unix_time_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::array<uint8_t, 8> little_endian64(uint64_t v) {
  std::array<uint8_t, 8> b{};
  for (int i = 0; i < 8; ++i) b[static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
  return b;
}

std::array<uint8_t, 4> little_endian32(uint32_t v) {
  std::array<uint8_t, 4> b{};
  for (int i = 0; i < 4; ++i) b[static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
  return b;
}

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

uint32_t crc32c(std::span<const uint8_t> data) {
  const auto& table = crc_table();
  uint32_t c = 0xFFFFFFFFu;
  for (uint8_t b : data) c = table[(c ^ b) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(std::span<const uint8_t> data) {
  const uint32_t c = crc32c(data);
  return ((c >> 15) | (c << 17)) + kMaskDelta;
}

EventWriter::EventWriter(const std::filesystem::path& run_dir) {
  std::array<char, 256> host{};
  if (gethostname(host.data(), host.size() - 1) != 0) std::strcpy(host.data(), "localhost");
  const auto seconds = static_cast<int64_t>(unix_time_s());
  path_ = run_dir / fmt::format("events.out.tfevents.{}.{}.{}", seconds, host.data(), getpid());
  file_ = std::fopen(path_.c_str(), "ab");
  if (file_ == nullptr) fail("{}: cannot create the TensorBoard event file", path_.string());
  Event first;
  first.set_wall_time(unix_time_s());
  first.set_file_version("brain.Event:2");
  write_record(first.SerializeAsString());
  std::fflush(file_);
}

EventWriter::~EventWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void EventWriter::write_record(const std::string& data) {
  const auto length = little_endian64(data.size());
  const auto length_crc = little_endian32(masked_crc32c(length));
  const auto data_crc = little_endian32(masked_crc32c(bytes_of(data)));
  bool ok = std::fwrite(length.data(), 1, length.size(), file_) == length.size();
  ok = ok && std::fwrite(length_crc.data(), 1, length_crc.size(), file_) == length_crc.size();
  ok = ok && std::fwrite(data.data(), 1, data.size(), file_) == data.size();
  ok = ok && std::fwrite(data_crc.data(), 1, data_crc.size(), file_) == data_crc.size();
  if (!ok) fail("{}: cannot write", path_.string());
}

void EventWriter::scalars(int64_t step, const std::vector<std::pair<std::string, double>>& values) {
  if (values.empty()) return;
  Event event;
  event.set_wall_time(unix_time_s());
  event.set_step(step);
  Summary* summary = event.mutable_summary();
  for (const auto& [tag, value] : values) {
    Summary::Value* v = summary->add_value();
    v->set_tag(tag);
    v->set_simple_value(static_cast<float>(value));
  }
  write_record(event.SerializeAsString());
  if (std::fflush(file_) != 0) fail("{}: cannot write", path_.string());
}

std::vector<Scalar> read_events(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open", path.string());
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto* bytes = reinterpret_cast<const uint8_t*>(file.data());
  auto u32 = [&](size_t at) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | bytes[at + static_cast<size_t>(i)];
    return v;
  };
  std::vector<Scalar> out;
  size_t at = 0;
  while (at < file.size()) {
    if (file.size() - at < 12) break;  // torn header of the last record
    uint64_t length = 0;
    for (int i = 7; i >= 0; --i) length = (length << 8) | bytes[at + static_cast<size_t>(i)];
    if (masked_crc32c({bytes + at, 8}) != u32(at + 8)) {
      fail("{}: record at byte {}: the length's CRC does not match (not a TensorBoard event file?)",
           path.string(), at);
    }
    if (length > file.size() - at - 12 || file.size() - at - 12 - length < 4)
      break;  // torn last record
    const size_t data_at = at + 12;
    if (masked_crc32c({bytes + data_at, length}) != u32(data_at + length)) {
      fail("{}: record at byte {}: the data's CRC does not match", path.string(), at);
    }
    Event event;
    if (!event.ParseFromArray(bytes + data_at, static_cast<int>(length))) {
      fail("{}: record at byte {}: not an Event message", path.string(), at);
    }
    if (event.has_summary()) {
      for (const auto& v : event.summary().value()) {
        out.push_back({.step = event.step(),
                       .wall_time = event.wall_time(),
                       .tag = v.tag(),
                       .value = v.simple_value()});
      }
    }
    at = data_at + length + 4;
  }
  return out;
}

}  // namespace stitch::tensorboard
