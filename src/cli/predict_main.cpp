// distgru-predict: class, probability and per-token attention for raw reviews
// (--text, --file) or a sample of a prepared split (--data --sample), as text,
// JSON lines, or one self-contained HTML heat map page (--html).
// A single process; no mpirun needed.
#include <boost/program_options.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "common/error.h"
#include "common/file_system.h"
#include "runtime/blas_kernels.h"
#include "runtime/process_settings.h"
#include "train/attention_views.h"
#include "train/inference.h"

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

}  // namespace

int main(int argc, char** argv) {
  runtime::use_best_blas_kernels(argv);  // may re-exec: before anything else
  std::string checkpoint, vocab_path, text, file, html, data_dir, split = "test";
  bool json = false;
  size_t top = 10;
  int64_t sample = 0;
  uint64_t seed = 1;
  po::options_description options(
      "Usage: distgru-predict --checkpoint <file or dir> --vocab <vocab.txt>\n"
      "         (--text \"...\" | --file F | --data <dir> --sample K) [--html out.html]\n\n"
      "Classifies reviews and shows the attention weight of every token.\nOptions");
  options.add_options()("help,h", "show this help")
      ("checkpoint", po::value(&checkpoint), "checkpoint file, or a directory (best.pt, else newest)")
      ("vocab", po::value(&vocab_path), "vocab.txt written by distgru-prepare (default: <data>/vocab.txt)")
      ("text", po::value(&text), "one review")
      ("file", po::value(&file), "a file with one review per line")
      ("data", po::value(&data_dir), "a directory written by distgru-prepare: score a sample of it")
      ("sample", po::value(&sample), "with --data: how many reviews to sample")
      ("split", po::value(&split)->default_value(split), "with --data: test | train")
      ("seed", po::value(&seed)->default_value(seed), "with --data: which sample")
      ("html", po::value(&html), "write an attention heat map page here instead of printing")
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
    if (vocab_path.empty() && !data_dir.empty()) vocab_path = data_dir + "/vocab.txt";
    const int sources = !text.empty() + !file.empty() + !data_dir.empty();
    if (checkpoint.empty() || vocab_path.empty() || sources != 1) {
      std::cerr << "error: --checkpoint, --vocab and exactly one of --text, --file or --data are required (see --help)\n";
      return 2;
    }
    if (!data_dir.empty() && (sample <= 0 || html.empty())) {
      std::cerr << "error: --data needs --sample K > 0 and --html (see --help)\n";
      return 2;
    }
  } catch (const po::error& e) {
    std::cerr << "error: " << e.what() << " (see --help)\n";
    return 2;
  }
  try {
    runtime::configure_threads(0, 1);
    auto loaded = train::load_model(checkpoint, torch::kCPU);
    auto vocab = data::Vocabulary::load(vocab_path);
    DISTGRU_CHECK(vocab.vocab_size() == loaded.config.vocab_size,
                  vocab_path + ": vocabulary has " + std::to_string(vocab.vocab_size()) +
                      " ids but the model in " + loaded.path + " expects " +
                      std::to_string(loaded.config.vocab_size));
    std::vector<report::ReviewView> views;
    if (!data_dir.empty()) {
      views = train::sample_views(loaded, vocab, data_dir, split, sample, seed);
    } else {
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
      for (size_t i = 0; i < reviews.size(); ++i) {
        auto p = train::predict(loaded.model, vocab, reviews[i], loaded.config.sentence_size);
        if (!html.empty()) {
          views.push_back(train::view_of(p, text.empty() ? "line " + std::to_string(i + 1) : "review",
                                  loaded.config.sentence_size));
        } else if (json) {
          std::printf("%s\n", train::to_json(p).dump().c_str());
        } else {
          print_text(p, top);
        }
      }
    }
    if (!html.empty()) {
      report::PageInfo info;
      info.subtitle = "Model " + loaded.path + " (step " + std::to_string(loaded.state.step) + ")" +
                      (data_dir.empty() ? "" : "; reviews sampled from the " + split + " split of " + data_dir);
      write_file_atomic(html, report::render_heatmap_page(views, info));
      std::printf("wrote %s (%zu reviews)\n", html.c_str(), views.size());
    }
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
