// distgru-predict: class, probability and per-token attention for raw reviews.
// A single process; no mpirun needed.
#include <boost/program_options.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "train/inference.h"
#include "train/runtime.h"

namespace po = boost::program_options;
using namespace distgru;

namespace {

void print_text(const train::Prediction& p, size_t top) {
  std::printf("prediction: %s  probability %.4f  (P(positive) = %.4f)%s\n",
              p.label == 1 ? "positive" : "negative", p.probability, p.positive_probability,
              p.truncated ? "  [review truncated]" : "");
  std::printf("attention:");
  for (const auto& t : p.tokens) {
    std::printf(" %s%s:%.4f", t.token.c_str(), t.in_vocabulary ? "" : "(oov)", t.weight);
  }
  std::printf("\n");
  std::vector<const train::TokenWeight*> sorted;
  for (const auto& t : p.tokens) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->weight > b->weight; });
  std::printf("most attended:");
  for (size_t i = 0; i < std::min(top, sorted.size()); ++i) {
    std::printf(" %s (%.3f)", sorted[i]->token.c_str(), sorted[i]->weight);
  }
  std::printf("\n");
}

nlohmann::json to_json(const train::Prediction& p) {
  nlohmann::json tokens = nlohmann::json::array();
  for (const auto& t : p.tokens) {
    tokens.push_back({{"token", t.token}, {"in_vocabulary", t.in_vocabulary}, {"attention", t.weight}});
  }
  return {{"label", p.label == 1 ? "positive" : "negative"}, {"probability", p.probability},
          {"positive_probability", p.positive_probability}, {"truncated", p.truncated},
          {"tokens", tokens}};
}

}  // namespace

int main(int argc, char** argv) {
  std::string checkpoint, vocab_path, text, file;
  bool json = false;
  size_t top = 10;
  po::options_description options(
      "Usage: distgru-predict --checkpoint <file or dir> --vocab <vocab.txt> (--text \"...\" | --file F)\n\n"
      "Classifies reviews and shows the attention weight of every token.\nOptions");
  options.add_options()("help,h", "show this help")
      ("checkpoint", po::value(&checkpoint), "checkpoint file, or a directory (best.pt, else newest)")
      ("vocab", po::value(&vocab_path), "vocab.txt written by distgru-prepare")
      ("text", po::value(&text), "one review")
      ("file", po::value(&file), "a file with one review per line")
      ("json", po::bool_switch(&json), "print one JSON object per review")
      ("top", po::value(&top)->default_value(top), "how many most-attended tokens to list");
  try {
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, options), vm);
    po::notify(vm);
    if (vm.count("help")) {
      std::cout << options << std::endl;
      return 0;
    }
    if (checkpoint.empty() || vocab_path.empty() || (text.empty() == file.empty())) {
      std::cerr << "error: --checkpoint, --vocab and exactly one of --text or --file are required (see --help)\n";
      return 2;
    }
  } catch (const po::error& e) {
    std::cerr << "error: " << e.what() << " (see --help)\n";
    return 2;
  }
  try {
    train::configure_threads(0, 1);
    auto loaded = train::load_model(checkpoint, torch::kCPU);
    auto vocab = data::Vocabulary::load(vocab_path);
    std::vector<std::string> reviews;
    if (!text.empty()) {
      reviews.push_back(text);
    } else {
      std::ifstream in(file);
      if (!in) throw Error(file + ": cannot open");
      for (std::string line; std::getline(in, line);) {
        if (!line.empty()) reviews.push_back(line);
      }
      if (reviews.empty()) throw Error(file + ": no reviews (one per line expected)");
    }
    for (const auto& review : reviews) {
      auto p = train::predict(loaded.model, vocab, review, loaded.config.sentence_size);
      if (json) {
        std::printf("%s\n", to_json(p).dump().c_str());
      } else {
        print_text(p, top);
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
