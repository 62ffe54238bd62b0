// distgru-predict's library half on a small model: which words a long review
// lost, as the text line, the JSON and the heat map report them.
#include "train/inference.h"

#include <gtest/gtest.h>

#include "train/attention_views.h"

namespace distgru::train {
namespace {

model::AttentionGRU tiny_model(int64_t vocab_size) {
  model::ModelConfig c;
  c.vocab_size = vocab_size;
  c.embed_dim = 4;
  c.hidden_size = 3;
  c.attention_size = 2;
  torch::manual_seed(0);
  model::AttentionGRU m(c);
  m->eval();
  return m;
}

data::Vocabulary vocabulary(data::Truncation truncation) {
  return data::Vocabulary::build({{"one", 10}, {"two", 9}, {"three", 8}, {"four", 7}, {"five", 6}, {"six", 5},
                                  {"seven", 4}, {"eight", 3}, {"nine", 2}, {"ten", 1}},
                                 30, truncation);
}

std::vector<std::string> tokens_of(const Prediction& p) {
  std::vector<std::string> out;
  for (const auto& t : p.tokens) out.push_back(t.token);
  return out;
}

TEST(Predict, ALongReviewSaysWhichWordsItLost) {
  auto model = tiny_model(30);
  const std::string review = "one two three four five six seven eight nine ten";
  // Room for 4 words at sentence size 5: head-tail keeps 1 from the start and 3 from the end.
  auto p = predict(model, vocabulary(data::Truncation::kKeepHeadTail), review, 5);
  EXPECT_TRUE(p.truncated);
  EXPECT_EQ(tokens_of(p), (std::vector<std::string>{"<start>", "one", "eight", "nine", "ten"}));
  EXPECT_EQ(p.review_words, 10);
  EXPECT_EQ(p.dropped_begin, 1);  // words 2-7 (1-based) lost, right after tokens[1]
  EXPECT_EQ(p.dropped_words, 6);
  const auto json = to_json(p);
  EXPECT_EQ(json["dropped_words"], 6);
  EXPECT_EQ(json["dropped_begin"], 1);
  EXPECT_EQ(json["review_words"], 10);
  const auto view = view_of(p, "line 1", 5);
  EXPECT_EQ(view.gap_after, 1);
  EXPECT_EQ(view.gap_words, 6);

  p = predict(model, vocabulary(data::Truncation::kKeepEnd), review, 5);
  EXPECT_EQ(tokens_of(p), (std::vector<std::string>{"<start>", "seven", "eight", "nine", "ten"}));
  EXPECT_EQ(p.dropped_begin, 0);  // the start lost: right after <start>
  EXPECT_EQ(p.dropped_words, 6);

  p = predict(model, vocabulary(data::Truncation::kKeepHeadTail), "one two three", 5);
  EXPECT_FALSE(p.truncated);
  EXPECT_EQ(p.dropped_words, 0);
  EXPECT_EQ(view_of(p, "line 2", 5).gap_after, -1);
}

}  // namespace
}  // namespace distgru::train
