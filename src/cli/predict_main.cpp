// distgru-predict: class, probability and per-token attention for raw reviews
// (--text, --file) or a sample of a prepared split (--data --sample), as text,
// JSON lines, or one self-contained HTML heat map page (--html).
// A single process; no mpirun needed.
#include <boost/program_options.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>

#include "common/error.h"
#include "data/dataset.h"
#include "report/heatmap_html.h"
#include "train/inference.h"
#include "common/file_system.h"
#include "runtime/blas_kernels.h"
#include "runtime/process_settings.h"

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

// A prediction on raw text as the page shows it; the positions after the
// review are padding and carry whatever weight the real tokens do not.
report::ReviewView view_of(const train::Prediction& p, std::string name, int64_t sentence_size) {
  report::ReviewView v;
  v.name = std::move(name);
  v.predicted = p.label;
  v.probability = p.probability;
  v.truncated = p.truncated;
  double seen = 0.0;
  for (size_t i = 0; i < p.tokens.size(); ++i) {
    const auto& t = p.tokens[i];
    const auto kind = i == 0 ? report::TokenKind::kStart
                      : t.in_vocabulary ? report::TokenKind::kWord
                                        : report::TokenKind::kOov;
    v.tokens.push_back({t.token, kind, t.weight});
    seen += t.weight;
  }
  const auto pads = sentence_size - static_cast<int64_t>(p.tokens.size());
  for (int64_t i = 0; i < pads; ++i) {
    v.tokens.push_back({"<pad>", report::TokenKind::kPad, std::max(0.0, 1.0 - seen) / static_cast<double>(pads)});
  }
  return v;
}

// `ids` as stored in a shard (start, words, padding), scored by the model.
// Only the ids are known, so a word outside the vocabulary shows as <oov>.
report::ReviewView view_of_ids(model::AttentionGRU& model, const data::Vocabulary& vocab,
                               const std::vector<int32_t>& ids, int label, std::string name) {
  auto tokens = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()), torch::kLong).reshape({1, -1});
  torch::NoGradGuard no_grad;
  auto out = model->forward(tokens);
  const double positive = torch::softmax(out.logits, 1)[0][1].item<double>();
  auto weights = out.attention.to(torch::kCPU, torch::kDouble).contiguous();
  const auto w = weights.accessor<double, 2>();
  report::ReviewView v;
  v.name = std::move(name);
  v.predicted = positive >= 0.5 ? 1 : 0;
  v.probability = v.predicted == 1 ? positive : 1.0 - positive;
  v.truth = label;
  for (size_t i = 0; i < ids.size(); ++i) {
    const int32_t id = ids[i];
    const auto kind = id == data::TokenIds::kPad     ? report::TokenKind::kPad
                      : id == data::TokenIds::kStart ? report::TokenKind::kStart
                      : id == data::TokenIds::kOov   ? report::TokenKind::kOov
                                                     : report::TokenKind::kWord;
    v.tokens.push_back({vocab.word(id), kind, w[0][static_cast<int64_t>(i)]});
  }
  // A shard row ends in a real word (not padding) only when the review was cut.
  v.truncated = !ids.empty() && ids.back() != data::TokenIds::kPad;
  return v;
}

// `count` distinct rows of the split, chosen with `seed`, in file order.
std::vector<report::ReviewView> sample_split(train::LoadedModel& loaded, const data::Vocabulary& vocab,
                                             const std::string& dir, const std::string& split,
                                             int64_t count, uint64_t seed) {
  data::ShardedDataset dataset(dir, split, train::shard_meta(loaded.config, split),
                               /*verify_checksums=*/false);
  std::vector<int64_t> rows(static_cast<size_t>(dataset.size()));
  std::iota(rows.begin(), rows.end(), int64_t{0});
  std::mt19937_64 rng(seed);
  std::shuffle(rows.begin(), rows.end(), rng);
  rows.resize(static_cast<size_t>(std::min<int64_t>(count, dataset.size())));
  std::sort(rows.begin(), rows.end());
  std::vector<report::ReviewView> views;
  std::vector<int32_t> ids(static_cast<size_t>(dataset.sentence_size()));
  for (int64_t row : rows) {
    int32_t label = 0;
    dataset.read(row, row + 1, ids.data(), &label);
    views.push_back(view_of_ids(loaded.model, vocab, ids, label, split + " review #" + std::to_string(row)));
  }
  return views;
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
      views = sample_split(loaded, vocab, data_dir, split, sample, seed);
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
          views.push_back(view_of(p, text.empty() ? "line " + std::to_string(i + 1) : "review",
                                  loaded.config.sentence_size));
        } else if (json) {
          std::printf("%s\n", to_json(p).dump().c_str());
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
