#include "data/manifest.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file_system.h"

namespace distgru::data {
namespace {

using json = nlohmann::json;
constexpr int kFormatVersion = 1;

std::string manifest_path(const std::string& dir) {
  return (std::filesystem::path(dir) / "manifest.json").string();
}

std::string openssl_error() {
  char buffer[256] = "unknown OpenSSL error";
  if (unsigned long code = ERR_get_error()) ERR_error_string_n(code, buffer, sizeof(buffer));
  return buffer;
}

bool is_hex_sha256(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// Typed field access: an error names the file, the field and what was wrong.
template <typename T>
T field(const json& object, const char* key, const std::string& where) {
  DISTGRU_CHECK(object.is_object() && object.contains(key),
                where + ": missing field '" + key + "'");
  try {
    return object.at(key).get<T>();
  } catch (const json::exception& e) {
    DISTGRU_FAIL(where + ": field '" + key + "' has the wrong type (" + e.what() + ")");
  }
}

// A digest as lower-case hex, as sha256sum prints it.
std::string hex_of(const unsigned char* digest, unsigned int length) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

}  // namespace

int64_t Manifest::num_samples(const std::string& split) const {
  int64_t total = 0;
  for (const ManifestFile& f : files) {
    if (f.split == split) total += f.num_samples;
  }
  return total;
}

std::vector<ManifestFile> Manifest::files_of(const std::string& split) const {
  std::vector<ManifestFile> out;
  for (const ManifestFile& f : files) {
    if (f.split == split) out.push_back(f);
  }
  return out;
}

void save_manifest(const std::string& dir, const Manifest& m) {
  json files = json::array();
  for (const ManifestFile& f : m.files) {
    json entry = {
        {"name", f.name}, {"split", f.split}, {"num_samples", f.num_samples}, {"sha256", f.sha256}};
    if (f.bytes >= 0) entry["bytes"] = f.bytes;
    files.push_back(std::move(entry));
  }
  // nlohmann::json objects are std::maps: keys come out sorted, so the text
  // is stable.
  json j = {{"format_version", kFormatVersion},
            {"vocab_size", m.vocab_size},
            {"sentence_size", m.sentence_size},
            {"pad_id", m.pad_id},
            {"start_id", m.start_id},
            {"oov_id", m.oov_id},
            {"index_offset", m.index_offset},
            {"seed", m.seed},
            {"source", m.source},
            {"files", std::move(files)}};
  if (!m.vocab_sha256.empty()) j["vocab_sha256"] = m.vocab_sha256;
  write_file_atomic(manifest_path(dir), j.dump(2) + "\n");
}

Manifest load_manifest(const std::string& dir) {
  const std::string path = manifest_path(dir);
  DISTGRU_CHECK(std::filesystem::exists(path),
                path + ": missing; run distgru-prepare to create the data directory");
  json j;
  try {
    j = json::parse(read_file(path));
  } catch (const json::exception& e) {
    DISTGRU_FAIL(path + ": invalid JSON: " + e.what());
  }
  DISTGRU_CHECK(j.is_object(), path + ": expected a JSON object");
  const int version = field<int>(j, "format_version", path);
  DISTGRU_CHECK(version == kFormatVersion,
                path + ": format_version " + std::to_string(version) + " is not supported");
  Manifest m;
  m.vocab_size = field<int32_t>(j, "vocab_size", path);
  m.sentence_size = field<int32_t>(j, "sentence_size", path);
  m.pad_id = field<int32_t>(j, "pad_id", path);
  m.start_id = field<int32_t>(j, "start_id", path);
  m.oov_id = field<int32_t>(j, "oov_id", path);
  m.index_offset = field<int32_t>(j, "index_offset", path);
  m.seed = field<uint64_t>(j, "seed", path);
  m.source = field<std::string>(j, "source", path);
  if (j.contains("vocab_sha256")) {
    m.vocab_sha256 = field<std::string>(j, "vocab_sha256", path);
    DISTGRU_CHECK(is_hex_sha256(m.vocab_sha256), path + ": vocab_sha256 is not 64 lower-case hex digits");
  }
  const json files = field<json>(j, "files", path);
  DISTGRU_CHECK(files.is_array(), path + ": field 'files' must be an array");
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string where = path + ": files[" + std::to_string(i) + "]";
    ManifestFile f;
    f.name = field<std::string>(files[i], "name", where);
    f.split = field<std::string>(files[i], "split", where);
    f.num_samples = field<int64_t>(files[i], "num_samples", where);
    f.sha256 = field<std::string>(files[i], "sha256", where);
    if (files[i].contains("bytes")) f.bytes = field<int64_t>(files[i], "bytes", where);
    // Names are plain file names: a manifest must not point outside its directory.
    DISTGRU_CHECK(
        !f.name.empty() && f.name.find('/') == std::string::npos && f.name != "." && f.name != "..",
        where + ": bad file name '" + f.name + "'");
    DISTGRU_CHECK(f.split == "train" || f.split == "test",
                  where + ": split must be 'train' or 'test', got '" + f.split + "'");
    DISTGRU_CHECK(f.num_samples >= 0, where + ": negative num_samples");
    DISTGRU_CHECK(is_hex_sha256(f.sha256), where + ": sha256 is not 64 lower-case hex digits");
    m.files.push_back(std::move(f));
  }
  return m;
}

std::string data_fingerprint(const std::string& dir) { return sha256_hex(read_file(manifest_path(dir))); }

std::string vocab_fingerprint(const std::string& dir) {
  const Manifest m = load_manifest(dir);
  if (!m.vocab_sha256.empty()) return m.vocab_sha256;
  return sha256_file((std::filesystem::path(dir) / "vocab.txt").string());
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  DISTGRU_CHECK(EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) == 1,
                "EVP_Digest(sha256) failed: " + openssl_error());
  return hex_of(digest, length);
}

std::string sha256_file(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  DISTGRU_CHECK(file != nullptr, path + ": cannot open: " + std::strerror(errno));
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  DISTGRU_CHECK(ctx != nullptr, path + ": EVP_MD_CTX_new failed: " + openssl_error());
  DISTGRU_CHECK(EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1,
                path + ": EVP_DigestInit_ex failed: " + openssl_error());
  std::vector<unsigned char> buffer(1 << 20);
  size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), file.get())) > 0) {
    DISTGRU_CHECK(EVP_DigestUpdate(ctx.get(), buffer.data(), n) == 1,
                  path + ": EVP_DigestUpdate failed: " + openssl_error());
  }
  DISTGRU_CHECK(!std::ferror(file.get()), path + ": read failed: " + std::strerror(errno));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  DISTGRU_CHECK(EVP_DigestFinal_ex(ctx.get(), digest, &length) == 1,
                path + ": EVP_DigestFinal_ex failed: " + openssl_error());
  return hex_of(digest, length);
}

}  // namespace distgru::data
