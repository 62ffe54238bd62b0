// distgru-prepare: turns the IMDB archive into the sharded HDF5 directory that
// distgru-train reads. A thin main over distgru::data::prepare_imdb.

#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "common/choice_option.h"
#include "common/error.h"
#include "common/log.h"
#include "data/prepare.h"

namespace po = boost::program_options;

namespace distgru::data {
DISTGRU_CHOICE_OPTION(Truncation)
}  // namespace distgru::data

namespace {

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

constexpr const char* kDescription =
    "Usage: distgru-prepare --source PATH --out DIR [options]\n\n"
    "Reads the labeled IMDB reviews (the aclImdb_v1.tar.gz archive, streamed, or an unpacked\n"
    "aclImdb directory), builds a vocabulary from the training split (ids: 0 pad, 1 start,\n"
    "2 out-of-vocabulary, frequency rank + 2 for words), encodes every review as\n"
    "[start, ids...] truncated and padded to --sentence-size, shuffles deterministically with\n"
    "--seed and writes DIR/train-*-of-*.h5, DIR/test-*-of-*.h5, DIR/vocab.txt and\n"
    "DIR/manifest.json. The same input and flags always give byte-identical files.\n\n"
    "Options";

}  // namespace

int main(int argc, char** argv) {
  distgru::data::PrepareOptions opt;
  po::options_description desc(kDescription);
  // clang-format off
  desc.add_options()
      ("help,h", "show this help and exit")
      ("source", po::value(&opt.source)->value_name("PATH"),
       "aclImdb .tar.gz archive or aclImdb directory (required)")
      ("out", po::value(&opt.out_dir)->value_name("DIR"), "output directory (required)")
      ("shards", po::value(&opt.shards)->default_value(opt.shards),
       "number of training shards (e.g. one per rank)")
      ("test-shards", po::value(&opt.test_shards)->default_value(opt.test_shards),
       "number of test shards")
      ("vocab-size", po::value(&opt.vocab_size)->default_value(opt.vocab_size),
       "ids per token including the 3 reserved ones")
      ("sentence-size", po::value(&opt.sentence_size)->default_value(opt.sentence_size),
       "tokens per review including the start token")
      ("seed", po::value(&opt.seed)->default_value(opt.seed), "shuffle seed")
      ("truncate", po::value(&opt.truncation)->default_value(opt.truncation, distgru::choice_name(opt.truncation)),
       ("which words of a review longer than the sentence to keep (" +
        distgru::choice_list<distgru::data::Truncation>(" | ", " | ") +
        "): head-tail a quarter of the room from its beginning and the rest from its end, end its last "
        "words (Keras's pad_sequences default), start its first words").c_str())
      ("max-train", po::value(&opt.max_train)->default_value(opt.max_train),
       "keep only this many training reviews (0: all), for quick runs")
      ("max-test", po::value(&opt.max_test)->default_value(opt.max_test),
       "keep only this many test reviews (0: all), for quick runs");
  // clang-format on

  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "distgru-prepare: " << e.what() << "\nTry 'distgru-prepare --help'.\n";
    return kExitUsage;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  if (!vm.count("source") || !vm.count("out")) {
    std::cerr << "distgru-prepare: --source and --out are required\n"
              << "Try 'distgru-prepare --help'.\n";
    return kExitUsage;
  }

  try {
    distgru::data::validate_prepare_options(opt);
  } catch (const distgru::Error& e) {
    std::cerr << "distgru-prepare: " << e.what() << "\nTry 'distgru-prepare --help'.\n";
    return kExitUsage;
  }
  distgru::init_logging(0, 1);
  try {
    const auto start = std::chrono::steady_clock::now();
    const distgru::data::PrepareSummary summary = distgru::data::prepare_imdb(opt);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "prepared " << summary.train_samples << " train and " << summary.test_samples
              << " test reviews, vocabulary of " << summary.vocab_words << " words, in " << seconds
              << " s\n";
    for (const std::string& file : summary.files) std::cout << "  " << file << "\n";
  } catch (const distgru::Error& e) {
    std::cerr << "distgru-prepare: error: " << e.what() << "\n";
    return kExitError;
  }
  return 0;
}
