#include "data/prepare.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <random>
#include <system_error>
#include <unordered_map>

#include "common/error.h"
#include "common/file_system.h"
#include "data/imdb_reader.h"
#include "data/manifest.h"
#include "data/shard.h"
#include "data/tokenizer.h"
#include "data/vocabulary.h"

namespace distgru::data {
namespace fs = std::filesystem;
namespace {

// Test order is shuffled with a seed derived from the train seed so that the
// two permutations are unrelated (golden-ratio constant, as in SplitMix64).
constexpr uint64_t kTestSeedMix = 0x9e3779b97f4a7c15ULL;

// Uniform draw in [0, bound) by rejection: mt19937_64's output sequence is
// fixed by the standard, this function makes the rest fixed too.
uint64_t bounded(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
  for (;;) {
    const uint64_t r = rng();
    if (r >= threshold) return r % bound;
  }
}

struct Encoded {
  std::vector<int32_t> x;  // row-major [n, sentence_size]
  std::vector<int32_t> y;
};

// Encodes `reviews` in the shuffled order `order`.
Encoded encode_all(const std::vector<Review>& reviews, const std::vector<size_t>& order,
                   const Vocabulary& vocab, int32_t sentence_size) {
  Encoded out;
  out.x.reserve(reviews.size() * static_cast<size_t>(sentence_size));
  out.y.reserve(reviews.size());
  for (size_t index : order) {
    const Review& review = reviews[index];
    std::vector<int32_t> ids = vocab.encode(tokenize(review.text), sentence_size);
    out.x.insert(out.x.end(), ids.begin(), ids.end());
    out.y.push_back(review.label);
  }
  return out;
}

// Splits `data` into `count` contiguous shards (sizes differ by at most one),
// writes them and records them in the manifest.
void write_split(const std::string& split, const Encoded& data, int32_t count,
                 const PrepareOptions& opt, Manifest& manifest, PrepareSummary& summary) {
  const int64_t n = static_cast<int64_t>(data.y.size());
  DISTGRU_CHECK(n >= count, "prepare: " + std::to_string(count) + " " + split +
                                " shards requested but there are only " + std::to_string(n) + " " +
                                split + " reviews");
  const size_t row = static_cast<size_t>(opt.sentence_size);
  for (int32_t i = 0; i < count; ++i) {
    const int64_t begin = n * i / count, end = n * (i + 1) / count;
    ShardMeta meta;
    meta.split = split;
    meta.vocab_size = opt.vocab_size;
    meta.sentence_size = opt.sentence_size;
    meta.shard_index = i;
    meta.shard_count = count;
    meta.num_samples = end - begin;
    const std::vector<int32_t> x(data.x.begin() + begin * row, data.x.begin() + end * row);
    const std::vector<int32_t> y(data.y.begin() + begin, data.y.begin() + end);
    const std::string name = shard_name(split, i, count);
    const std::string path = (fs::path(opt.out_dir) / name).string();
    write_shard(path, meta, x, y);
    int64_t positives = 0;
    for (int32_t label : y) positives += label;
    spdlog::info("wrote {} ({} samples, {} positive)", path, meta.num_samples, positives);
    manifest.files.push_back(
        ManifestFile{name, split, meta.num_samples, sha256_file(path), file_size(path)});
    summary.files.push_back(path);
  }
}

std::string source_basename(const std::string& source) {
  fs::path p = fs::path(source).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().string();
}

}  // namespace

void validate_prepare_options(const PrepareOptions& opt) {
  DISTGRU_CHECK(!opt.source.empty(), "prepare: --source is required");
  DISTGRU_CHECK(!opt.out_dir.empty(), "prepare: --out is required");
  DISTGRU_CHECK(opt.shards >= 1,
                "prepare: --shards must be at least 1, got " + std::to_string(opt.shards));
  DISTGRU_CHECK(opt.test_shards >= 1, "prepare: --test-shards must be at least 1, got " +
                                          std::to_string(opt.test_shards));
  DISTGRU_CHECK(opt.vocab_size > 3,
                "prepare: --vocab-size must be greater than 3 (ids 0..2 are "
                "reserved), got " +
                    std::to_string(opt.vocab_size));
  DISTGRU_CHECK(opt.sentence_size >= 2,
                "prepare: --sentence-size must be at least 2 (start "
                "token + one word), got " +
                    std::to_string(opt.sentence_size));
  DISTGRU_CHECK(opt.max_train >= 0 && opt.max_test >= 0,
                "prepare: --max-train and --max-test must be 0 (all) or more, got " + std::to_string(opt.max_train) +
                    " and " + std::to_string(opt.max_test));
  std::error_code ec;
  DISTGRU_CHECK(fs::exists(opt.source, ec), opt.source + ": no such file or directory");
}


std::vector<size_t> shuffled_order(size_t n, uint64_t seed) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 rng(seed);
  for (size_t i = n; i > 1; --i) {
    const size_t j = static_cast<size_t>(bounded(rng, i));
    std::swap(order[i - 1], order[j]);
  }
  return order;
}

std::string shard_name(const std::string& split, int32_t index, int32_t count) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%s-%05d-of-%05d.h5", split.c_str(), index, count);
  return buffer;
}

PrepareSummary prepare_imdb(const PrepareOptions& opt) {
  validate_prepare_options(opt);
  std::error_code ec;
  fs::create_directories(opt.out_dir, ec);
  DISTGRU_CHECK(
      !ec && fs::is_directory(opt.out_dir),
      opt.out_dir + ": cannot create output directory: " + (ec ? ec.message() : "not a directory"));

  spdlog::info("reading {}", opt.source);
  const ImdbCorpus corpus = read_imdb(opt.source);
  spdlog::info("read {} train and {} test reviews", corpus.train.size(), corpus.test.size());

  // The vocabulary comes from the training split only: test words must not
  // leak into the model's inputs.
  auto train_order = shuffled_order(corpus.train.size(), opt.seed);
  auto test_order = shuffled_order(corpus.test.size(), opt.seed ^ kTestSeedMix);
  if (opt.max_train > 0 && static_cast<size_t>(opt.max_train) < train_order.size()) {
    train_order.resize(static_cast<size_t>(opt.max_train));
  }
  if (opt.max_test > 0 && static_cast<size_t>(opt.max_test) < test_order.size()) {
    test_order.resize(static_cast<size_t>(opt.max_test));
  }
  std::unordered_map<std::string, int64_t> counts;
  for (size_t i : train_order) {
    for (std::string& word : tokenize(corpus.train[i].text)) ++counts[std::move(word)];
  }
  const Vocabulary vocab = Vocabulary::build(
      counts, opt.vocab_size, opt.truncation);
  spdlog::info("{} distinct train words; vocabulary keeps {} (ids 3..{})", counts.size(),
               vocab.num_words(), vocab.num_words() + 2);

  Manifest manifest;
  manifest.vocab_size = opt.vocab_size;
  manifest.sentence_size = opt.sentence_size;
  manifest.pad_id = TokenIds::kPad;
  manifest.start_id = TokenIds::kStart;
  manifest.oov_id = TokenIds::kOov;
  manifest.index_offset = TokenIds::kIndexOffset;
  manifest.seed = opt.seed;
  manifest.source = source_basename(opt.source);

  PrepareSummary summary{static_cast<int64_t>(train_order.size()),
                         static_cast<int64_t>(test_order.size()),
                         vocab.num_words(),
                         {}};
  {
    const Encoded train = encode_all(corpus.train, train_order, vocab, opt.sentence_size);
    write_split("train", train, opt.shards, opt, manifest, summary);
  }
  {
    const Encoded test = encode_all(corpus.test, test_order, vocab, opt.sentence_size);
    write_split("test", test, opt.test_shards, opt, manifest, summary);
  }
  const std::string vocab_path = (fs::path(opt.out_dir) / "vocab.txt").string();
  vocab.save(vocab_path);
  summary.files.push_back(vocab_path);
  manifest.vocab_sha256 = sha256_file(vocab_path);
  save_manifest(opt.out_dir, manifest);  // last: marks the directory complete
  summary.files.push_back((fs::path(opt.out_dir) / "manifest.json").string());
  spdlog::info("wrote {}", summary.files.back());
  return summary;
}

}  // namespace distgru::data
