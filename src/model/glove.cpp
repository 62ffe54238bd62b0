#include "model/glove.h"

#include <cerrno>
#include <cmath>
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
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
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
  weight.copy_(cpu);
  return stats;
}

}  // namespace distgru::model
