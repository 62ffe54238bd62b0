#include "report/tensorboard.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include <unistd.h>

#include "tensorboard_event.pb.h"

namespace distgru::report {
namespace {

namespace fs = std::filesystem;

// Little-endian unsigned integer of `bytes` bytes at `at`.
uint64_t read_le(const std::string& s, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s.at(at + static_cast<size_t>(i)));
  return v;
}

// The records of a TFRecord file, each checked against both of its CRCs.
std::vector<std::string> records_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::vector<std::string> records;
  size_t at = 0;
  while (at < bytes.size()) {
    EXPECT_LE(at + 12, bytes.size());
    const auto length = read_le(bytes, at, 8);
    EXPECT_EQ(read_le(bytes, at + 8, 4), masked_crc32c(bytes.substr(at, 8)));
    const auto record = bytes.substr(at + 12, length);
    EXPECT_EQ(read_le(bytes, at + 12 + length, 4), masked_crc32c(record));
    records.push_back(record);
    at += 12 + length + 4;
  }
  return records;
}

TEST(TensorBoard, Crc32cIsCastagnolis) {
  // The check value of CRC-32C (RFC 3720, B.4; the CRC catalogue's "check").
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(""), 0u);
  // RFC 3720 B.4: 32 bytes of zeros.
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
}

TEST(TensorBoard, MaskIsTensorFlowsRotateAndAdd) {
  const uint32_t crc = crc32c("123456789");
  EXPECT_EQ(masked_crc32c("123456789"), ((crc >> 15) | (crc << 17)) + 0xa282ead8u);
  EXPECT_NE(masked_crc32c("123456789"), crc);
}

TEST(TensorBoard, EventFileIsFramedAndReadsBack) {
  const auto dir = fs::temp_directory_path() / ("distgru_tb_test_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  std::string path;
  {
    EventWriter writer((dir / "tb").string());
    path = writer.path();
    EXPECT_NE(fs::path(path).filename().string().find("events.out.tfevents."), std::string::npos);
    writer.scalars(7, {{"train/loss", 0.5}, {"train/lr", 1e-3}});
    writer.text(0, "config", "| key | value |");
  }
  const auto records = records_of(path);
  ASSERT_EQ(records.size(), 3u);
  tensorboard::Event first, scalars, text;
  ASSERT_TRUE(first.ParseFromString(records[0]));
  EXPECT_EQ(first.file_version(), "brain.Event:2");
  ASSERT_TRUE(scalars.ParseFromString(records[1]));
  EXPECT_EQ(scalars.step(), 7);
  ASSERT_EQ(scalars.summary().value_size(), 2);
  EXPECT_EQ(scalars.summary().value(0).tag(), "train/loss");
  EXPECT_FLOAT_EQ(scalars.summary().value(0).simple_value(), 0.5f);
  EXPECT_FLOAT_EQ(scalars.summary().value(1).simple_value(), 1e-3f);
  ASSERT_TRUE(text.ParseFromString(records[2]));
  EXPECT_EQ(text.summary().value(0).metadata().plugin_data().plugin_name(), "text");
  EXPECT_EQ(text.summary().value(0).tensor().string_val(0), "| key | value |");
  fs::remove_all(dir);
}

TEST(TensorBoard, UnwritableDirectoryIsAnErrorNamingIt) {
  try {
    EventWriter writer("/proc/distgru-cannot-be-here/tb");
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("/proc/distgru-cannot-be-here"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace distgru::report
