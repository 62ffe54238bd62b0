#include "train/checkpoint_file.h"

#include <openssl/evp.h>

#include <cstring>

#include "common/error.h"

namespace distgru::train {
namespace {

// Layout: magic, format, reserved, payload length, SHA-256, payload.
constexpr char kMagic[8] = {'D', 'I', 'S', 'T', 'G', 'R', 'U', '\n'};
constexpr size_t kDigestAt = 24;
constexpr size_t kHeaderBytes = 8 + 4 + 4 + 8 + 32;

std::string sha256(const char* data, size_t n) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  DISTGRU_CHECK(EVP_Digest(data, n, digest, &length, EVP_sha256(), nullptr) == 1, "EVP_Digest(sha256) failed");
  return std::string(reinterpret_cast<char*>(digest), length);
}

template <typename T>
void put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(value));  // little-endian hosts
}

}  // namespace

std::string frame_checkpoint(const std::string& payload) {
  std::string file(kMagic, sizeof(kMagic));
  put<uint32_t>(file, static_cast<uint32_t>(kCheckpointFormat));
  put<uint32_t>(file, 0);
  put<uint64_t>(file, payload.size());
  file += sha256(payload.data(), payload.size());
  file += payload;
  return file;
}

std::string unframe_checkpoint(const std::string& file, std::string* problem) {
  auto fail = [&](const std::string& why) {
    *problem = why;
    return std::string();
  };
  if (file.size() < kHeaderBytes) return fail("truncated (" + std::to_string(file.size()) + " bytes)");
  if (std::memcmp(file.data(), kMagic, sizeof(kMagic)) != 0) return fail("not a distgru checkpoint");
  uint32_t format = 0;
  uint64_t length = 0;
  std::memcpy(&format, file.data() + 8, sizeof(format));
  std::memcpy(&length, file.data() + 16, sizeof(length));
  if (format != kCheckpointFormat) {
    return fail("checkpoint format " + std::to_string(format) + " but this build reads " +
                std::to_string(kCheckpointFormat));
  }
  if (file.size() != kHeaderBytes + length) {
    return fail("truncated: " + std::to_string(file.size()) + " bytes, expected " +
                std::to_string(kHeaderBytes + length));
  }
  if (sha256(file.data() + kHeaderBytes, length) != file.substr(kDigestAt, 32)) {
    return fail("checksum mismatch (corrupted)");
  }
  problem->clear();
  return file.substr(kHeaderBytes);
}

std::string framed_digest(const std::string& file) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (size_t i = kDigestAt; i < kDigestAt + 32 && i < file.size(); ++i) {
    const auto byte = static_cast<unsigned char>(file[i]);
    hex += kHex[byte >> 4];
    hex += kHex[byte & 0xf];
  }
  return hex;
}

}  // namespace distgru::train
