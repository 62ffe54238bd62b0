#pragma once
// manifest.json: the index of a prepared data directory. It is written last,
// so a directory with a manifest is complete; format in data/README.md.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace distgru::data {

struct ManifestFile {
  std::string name;   // file name inside the directory, e.g. "train-00000-of-00002.h5"
  std::string split;  // "train" or "test"
  int64_t num_samples = 0;
  std::string sha256;  // lower-case hex
  int64_t bytes = -1;  // file size; -1 = not recorded (then not checked)
};

struct Manifest {
  int32_t vocab_size = 0, sentence_size = 0, pad_id = 0, start_id = 0, oov_id = 0, index_offset = 0;
  uint64_t seed = 0;
  std::string source;  // what it was prepared from (basename only, for determinism)
  std::string vocab_sha256;  // of vocab.txt; empty in directories prepared before it was recorded
  std::vector<ManifestFile> files;

  int64_t num_samples(const std::string& split) const;
  // In shard order (the order of `files`).
  std::vector<ManifestFile> files_of(const std::string& split) const;
};

// Reads and validates dir/manifest.json; errors name the file and the field.
Manifest load_manifest(const std::string& dir);
// Atomic write of dir/manifest.json: pretty JSON, keys sorted.
void save_manifest(const std::string& dir, const Manifest& m);
// Lower-case hex SHA-256 of the file's contents (OpenSSL EVP, streamed).
std::string sha256_file(const std::string& path);
// Lower-case hex SHA-256 of `bytes`.
std::string sha256_hex(std::string_view bytes);

// The data directory's fingerprint: the SHA-256 of its manifest.json, which
// lists every shard's SHA-256, the vocabulary's and the encoding's settings.
// Two directories with the same fingerprint hold the same data.
std::string data_fingerprint(const std::string& dir);

// The vocabulary's fingerprint: the manifest's vocab_sha256, or, for a
// directory prepared before it was recorded, the SHA-256 of dir/vocab.txt.
std::string vocab_fingerprint(const std::string& dir);

}  // namespace distgru::data
