// TensorBoard event files, written natively: TFRecord framing (length, masked CRC-32C of the
// length, the serialised Event, masked CRC-32C of the data) around Event/Summary protobuf
// messages (track/tensorboard.proto). A run directory gets one file per process that writes to
// it, `events.out.tfevents.<unix time>.<host>.<pid>`, as TensorFlow names them, so a resumed run
// adds a file and TensorBoard merges them by step.
//
// Files grow by whole records and are flushed after each batch of scalars, so a run killed at
// any moment leaves at most one torn record at the end, which readers (TensorBoard's and
// read_events below) stop at.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace stitch::tensorboard {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) and TFRecord's masking of it:
// ((crc >> 15) | (crc << 17)) + 0xa282ead8.
uint32_t crc32c(std::span<const uint8_t> data);
uint32_t masked_crc32c(std::span<const uint8_t> data);

class EventWriter {
 public:
  // Creates run_dir/events.out.tfevents.<time>.<host>.<pid> and writes the file-version event.
  explicit EventWriter(const std::filesystem::path& run_dir);
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  // One event at `step` holding every (tag, value) scalar; flushed to disk before returning.
  void scalars(int64_t step, const std::vector<std::pair<std::string, double>>& values);
  const std::filesystem::path& path() const { return path_; }

 private:
  void write_record(const std::string& data);
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

struct Scalar {
  int64_t step = 0;
  double wall_time = 0.0;
  std::string tag;
  float value = 0.0f;
};

// Every scalar of an event file, in file order. Checks both CRCs of every record; a torn last
// record (a killed writer) ends the read, any other damage is an Error naming the file and the
// record's byte offset.
std::vector<Scalar> read_events(const std::filesystem::path& path);

}  // namespace stitch::tensorboard
