#pragma once
// A run as TensorBoard shows it: an event file, events.out.tfevents.<time>.<host>.<pid>,
// of Event protos (TensorBoard's field numbers: report/proto/tensorboard_event.proto)
// in TFRecord framing: each record is its length (8 bytes, little-endian),
// the masked CRC-32C of those 8 bytes, the record, and the masked CRC-32C of
// the record; masked(crc) = ((crc >> 15) | (crc << 17)) + 0xa282ead8, as
// TensorFlow's crc32c::Mask. The first record holds file_version
// "brain.Event:2". Records are flushed one by one, so a crash loses at most
// the one being written; a resumed run writes a new file, with its steps
// carrying on from the checkpoint's. Pure C++ and protobuf; no torch.

#include <cstdint>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace distgru::report {

// CRC-32C (Castagnoli) of `data` (Boost.CRC), and TensorFlow's masking of it.
uint32_t crc32c(const std::string& data);
uint32_t masked_crc32c(const std::string& data);

class EventWriter {
 public:
  // Creates `dir` when missing and the file in it; writes the file_version
  // record. Throws distgru::Error naming the file when it cannot be written.
  explicit EventWriter(const std::string& dir);

  const std::string& path() const { return path_; }

  // Scalars at `step` (tag, value), one Event.
  void scalars(int64_t step, const std::vector<std::pair<std::string, double>>& values);
  // A text summary (TensorBoard's text plugin renders it as Markdown).
  void text(int64_t step, const std::string& tag, const std::string& markdown);

 private:
  void write_record(const std::string& event);

  std::string path_;
  std::ofstream out_;
};

}  // namespace distgru::report
