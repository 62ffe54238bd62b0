#include "support/synthetic_data.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <unordered_map>
#include <vector>

#include "data/manifest.h"
#include "data/vocabulary.h"
#include "data/shard.h"
#include "data/sampler.h"

namespace fs = std::filesystem;

namespace distgru::testing {
namespace {

void write_split(const std::string& dir, const std::string& split, int64_t n, int32_t shards,
                 const SyntheticSpec& spec, data::Manifest& manifest) {
  std::mt19937_64 rng(spec.seed + (split == "train" ? 0 : 1));
  const int32_t half = (spec.vocab_size - 3) / 2;
  for (int32_t s = 0; s < shards; ++s) {
    const auto range = data::block_of(n, s, shards);
    std::vector<int32_t> x(static_cast<size_t>(range.size() * spec.sentence_size), 0);
    std::vector<int32_t> y(static_cast<size_t>(range.size()));
    for (int64_t i = 0; i < range.size(); ++i) {
      const int32_t label = static_cast<int32_t>((range.begin + i) % 2);
      y[i] = label;
      const int64_t length = 2 + static_cast<int64_t>(rng() % (spec.sentence_size - 2));
      int32_t* row = x.data() + i * spec.sentence_size;
      row[0] = 1;
      for (int64_t t = 1; t < length; ++t) {
        row[t] = 3 + (label ? half : 0) + static_cast<int32_t>(rng() % half);
      }
    }
    data::ShardMeta meta;
    meta.split = split;
    meta.vocab_size = spec.vocab_size;
    meta.sentence_size = spec.sentence_size;
    meta.shard_index = s;
    meta.shard_count = shards;
    meta.num_samples = range.size();
    char name[64];
    std::snprintf(name, sizeof(name), "%s-%05d-of-%05d.h5", split.c_str(), s, shards);
    const auto path = (fs::path(dir) / name).string();
    data::write_shard(path, meta, x, y);
    manifest.files.push_back({name, split, range.size(), data::sha256_file(path),
                              static_cast<int64_t>(fs::file_size(path))});
  }
}

}  // namespace

void write_synthetic_dataset(const std::string& dir, const SyntheticSpec& spec) {
  fs::create_directories(dir);
  data::Manifest manifest;
  manifest.vocab_size = spec.vocab_size;
  manifest.sentence_size = spec.sentence_size;
  manifest.pad_id = 0;
  manifest.start_id = 1;
  manifest.oov_id = 2;
  manifest.index_offset = 2;
  manifest.seed = spec.seed;
  manifest.source = "synthetic";
  write_split(dir, "train", spec.train, spec.train_shards, spec, manifest);
  write_split(dir, "test", spec.test, 1, spec, manifest);
  // A vocabulary whose words are named by their ids ("w3", "w4", ...), in
  // the order of the ids (falling counts), as distgru-prepare writes one.
  std::unordered_map<std::string, int64_t> counts;
  for (int32_t id = 3; id < spec.vocab_size; ++id) counts["w" + std::to_string(id)] = 1000000 - id;
  const auto vocab_path = (fs::path(dir) / "vocab.txt").string();
  data::Vocabulary::build(counts, spec.vocab_size).save(vocab_path);
  manifest.vocab_sha256 = data::sha256_file(vocab_path);
  data::save_manifest(dir, manifest);
}

ScratchDir::ScratchDir(const std::string& tag) {
  const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  path_ = (fs::temp_directory_path() /
           ("distgru_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(now)))
              .string();
  fs::create_directories(path_);
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

}  // namespace distgru::testing
