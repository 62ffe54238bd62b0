// distgru-predict: class, probability and per-token attention for raw reviews
// (--text, --file) or a sample of a prepared split (--data --sample), as text,
// JSON lines, or one self-contained HTML heat map page (--html).
// A single process; no mpirun needed.
#include <boost/program_options.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "common/error.h"
#include "common/file_system.h"
#include "runtime/blas_kernels.h"
#include "runtime/process_settings.h"
#include "data/manifest.h"
#include "data/tokenizer.h"
#include "data/utf8.h"
#include "train/attention_views.h"
#include "train/inference.h"

namespace po = boost::program_options;
using namespace distgru;

namespace {

void print_text(const train::Prediction& p, size_t top) {
  std::string cut;
  if (p.truncated) {
    // 1-based word numbers, as a reader counts them.
    cut = "  [review truncated: words " + std::to_string(p.dropped_begin + 1) + "-" +
          std::to_string(p.dropped_begin + p.dropped_words) + " of " + std::to_string(p.review_words) +
          " not seen]";
  }
  std::printf("prediction: %s  probability %.4f  (P(positive) = %.4f)%s\n",
              p.label == 1 ? "positive" : "negative", p.probability, p.positive_probability, cut.c_str());
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
  int64_t top = 10;  // signed: Boost reads "-1" into a size_t as its largest value
  int64_t sample = 0;
  uint64_t seed = 1;
  po::options_description options(
      "Usage: distgru-predict --checkpoint <file or dir> --vocab <vocab.txt>\n"
      "         (--text \"...\" | --file F | --data <dir> --sample K) [--html out.html]\n\n"
      "Classifies reviews and shows the attention weight of every token.\nOptions");
  options.add_options()("help,h", "show this help")
      ("checkpoint", po::value(&checkpoint),
       "checkpoint file, a run directory (best.pt, else newest), or a model folder of distgru-export")
      ("vocab", po::value(&vocab_path), "vocab.txt written by distgru-prepare (default: <data>/vocab.txt)")
      ("text", po::value(&text), "one review")
      ("file", po::value(&file), "a file with one review per line: one result per line, with its number")
      ("data", po::value(&data_dir), "a directory written by distgru-prepare: score a sample of it")
      ("sample", po::value(&sample), "with --data: how many reviews to sample")
      ("split", po::value(&split)->default_value(split), "with --data: test | train")
      ("seed", po::value(&seed)->default_value(seed), "with --data: which sample")
      ("html", po::value(&html), "write an attention heat map page here instead of printing")
      ("json", po::bool_switch(&json), "print one JSON object per review")
      ("top", po::value(&top)->default_value(top), "how many most-attended tokens to list");
  bool has_text = false;
  try {
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, options), vm);
    po::notify(vm);
    if (vm.count("help")) {
      std::cout << options << std::endl;
      return 0;
    }
    if (vocab_path.empty() && !data_dir.empty()) vocab_path = data_dir + "/vocab.txt";
    // A model folder of distgru-export carries its vocabulary.
    if (vocab_path.empty() && train::is_model_folder(checkpoint)) vocab_path = checkpoint + "/vocab.txt";
    has_text = vm.count("text") > 0;
    const int sources = has_text + (vm.count("file") > 0) + (vm.count("data") > 0);
    if (checkpoint.empty() || vocab_path.empty() || sources != 1) {
      std::cerr << "error: --checkpoint, --vocab and exactly one of --text, --file or --data are required (see --help)\n";
      return 2;
    }
    if (has_text && data::tokenize(text).empty()) {
      std::cerr << "error: --text has no words to classify (it is empty, or only spaces and punctuation)\n";
      return 2;
    }
    if (!data_dir.empty() && (sample <= 0 || html.empty())) {
      std::cerr << "error: --data needs --sample K > 0 and --html (see --help)\n";
      return 2;
    }
    if (split != "test" && split != "train") {
      std::cerr << "error: --split must be test or train, not '" << split
                << "' (the validation reviews are the last --val-fraction of train)\n";
      return 2;
    }
    if (top < 0) {
      std::cerr << "error: --top must be 0 or more, not " << top << "\n";
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
    train::check_vocabulary(loaded, data::sha256_file(vocab_path), vocab_path);
    std::vector<report::ReviewView> views;
    if (!data_dir.empty()) {
      views = train::sample_views(loaded, vocab, data_dir, split, sample, seed);
      if (static_cast<int64_t>(views.size()) < sample) {
        std::fprintf(stderr, "note: --sample %lld: the %s split holds %zu reviews; all are shown\n",
                     static_cast<long long>(sample), split.c_str(), views.size());
      }
    } else {
      // Every input line gets one result, carrying its number.
      std::vector<std::pair<int64_t, std::string>> reviews;
      if (has_text) {
        reviews.emplace_back(0, text);
      } else {
        std::ifstream in(file);
        if (!in) throw Error(file + ": cannot open");
        int64_t number = 0;
        for (std::string line; std::getline(in, line);) reviews.emplace_back(++number, std::move(line));
        if (reviews.empty()) throw Error(file + ": empty file (one review per line expected)");
      }
      for (const auto& [number, review] : reviews) {
        const std::string where = has_text ? "--text" : file + ":" + std::to_string(number);
        if (const auto bad = data::first_invalid_utf8(review)) {
          std::fprintf(stderr, "warning: %s: not valid UTF-8 at byte %zu: shown with U+FFFD (the model reads "
                       "the bytes as distgru-prepare does)\n", where.c_str(), *bad + 1);
        }
        if (data::tokenize(review).empty()) {
          if (!html.empty()) {
            std::fprintf(stderr, "warning: %s: empty review, no words to classify: not on the page\n", where.c_str());
          } else if (json) {
            std::printf("%s\n", nlohmann::json{{"line", number}, {"error", "empty review: no words to classify"}}
                                    .dump().c_str());
          } else {
            std::printf("line %lld: empty review: no words to classify\n", static_cast<long long>(number));
          }
          continue;
        }
        auto p = train::predict(loaded.model, vocab, review, loaded.config.sentence_size);
        for (auto& t : p.tokens) t.token = data::to_valid_utf8(t.token);
        if (!html.empty()) {
          views.push_back(train::view_of(p, has_text ? "review" : "line " + std::to_string(number),
                                         loaded.config.sentence_size));
        } else if (json) {
          auto j = train::to_json(p);
          if (!has_text) j["line"] = number;
          std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        } else {
          if (!has_text) std::printf("line %lld: ", static_cast<long long>(number));
          print_text(p, static_cast<size_t>(top));
        }
      }
    }
    if (!html.empty()) {
      report::PageInfo info;
      info.subtitle = "Model " + loaded.path + " (step " + std::to_string(loaded.state.step) + ")" +
                      (data_dir.empty() ? "" : "; reviews sampled from the " + split + " split of " + data_dir);
      write_file_atomic(html, report::render_heatmap_page(views, info));
      std::printf("wrote %s (%zu review%s)\n", html.c_str(), views.size(), views.size() == 1 ? "" : "s");
    }
  } catch (const AgreedError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitFailure;
  }
  return 0;
}
