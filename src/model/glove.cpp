#include "model/glove.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "common/error.h"
#include "data/vocabulary.h"

namespace distgru::model {

GloveStats load_glove(const std::string& path, const data::Vocabulary& vocab,
                      torch::Tensor weight) {
  std::ifstream in(path);
  DISTGRU_CHECK(in.good(), path + ": cannot open GloVe file");
  DISTGRU_CHECK(weight.dim() == 2 && weight.size(0) == vocab.vocab_size(),
                "load_glove: embedding shape does not match the vocabulary");
  const int64_t dim = weight.size(1);
  torch::NoGradGuard no_grad;
  auto cpu = weight.to(torch::kCPU, torch::kFloat).contiguous();
  auto rows = cpu.accessor<float, 2>();
  GloveStats stats;
  std::string line;
  std::vector<float> values;
  int64_t line_no = 0;
  int64_t promised = -1;  // fastText's header: the vectors that follow
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    if (line_no == 1) {
      // "N E": two integers and nothing else (a GloVe line has a word and E floats).
      long long n = 0, e = 0;
      char rest = 0;
      if (std::sscanf(line.c_str(), "%lld %lld %c", &n, &e, &rest) == 2 && line.find('.') == std::string::npos) {
        DISTGRU_CHECK(e == dim, path + ":1: the header says " + std::to_string(e) +
                                    "-dimensional vectors but the embedding size is " + std::to_string(dim));
        promised = n;
        stats.header = true;
        continue;
      }
    }
    const auto space = line.find(' ');
    DISTGRU_CHECK(space != std::string::npos,
                  path + ":" + std::to_string(line_no) + ": expected 'word v1 ... vN'");
    values.clear();
    const char* p = line.c_str() + space;
    while (*p) {
      char* end = nullptr;
      errno = 0;
      const float v = std::strtof(p, &end);
      if (end == p) {
        while (*end == ' ' || *end == '\r' || *end == '\t') ++end;
        DISTGRU_CHECK(*end == '\0', path + ":" + std::to_string(line_no) + ": not a number");
        break;
      }
      const char* text = p;
      while (*text == ' ' || *text == '\t') ++text;
      DISTGRU_CHECK(std::isfinite(v), path + ":" + std::to_string(line_no) + ": value " +
                                          std::to_string(values.size() + 1) + " is '" +
                                          std::string(text, static_cast<const char*>(end)) + "', not a finite number");
      values.push_back(v);
      p = end;
    }
    DISTGRU_CHECK(static_cast<int64_t>(values.size()) == dim,
                  path + ":" + std::to_string(line_no) + ": vector has " +
                      std::to_string(values.size()) + " values but the embedding size is " +
                      std::to_string(dim));
    ++stats.lines;
    const auto id = vocab.id(std::string_view(line.data(), space));
    if (id == data::TokenIds::kOov) continue;
    for (int64_t j = 0; j < dim; ++j) rows[id][j] = values[j];
    ++stats.matched;
  }
  DISTGRU_CHECK(promised < 0 || promised == stats.lines,
                path + ": the header promises " + std::to_string(promised) + " vectors but " +
                    std::to_string(stats.lines) + " follow (a truncated or concatenated file?)");
  weight.copy_(cpu);
  return stats;
}

}  // namespace distgru::model
