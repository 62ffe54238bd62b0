#pragma once
// The attention heat map: one self-contained HTML page (inline CSS and a few
// lines of inline script, nothing fetched) showing reviews with every token
// shaded by its attention weight. Pure; no torch, so it is tested on fixed
// inputs.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace distgru::report {

enum class TokenKind {
  kWord,   // a vocabulary word
  kOov,    // out of the vocabulary: the model saw <oov> here
  kStart,  // the <start> marker every sentence begins with
  kPad,    // padding after the end of the review
};

struct HeatToken {
  std::string text;  // the word as written (or "<oov>" when only the id is known)
  TokenKind kind = TokenKind::kWord;
  double weight = 0.0;  // attention weight; a review's weights sum to 1
};

struct ReviewView {
  std::string name;               // "test review 1234", "line 3"
  std::vector<HeatToken> tokens;  // in order; runs of padding are drawn as one chip
  int predicted = 0;              // 1 positive, 0 negative
  double probability = 0.0;       // of `predicted`
  std::optional<int> truth;       // the true label when known
  bool truncated = false;         // longer than the sentence: only the kept words were seen
  // Where a truncated review's unseen words were cut out: right after
  // tokens[gap_after] (-1: nowhere shown), and how many (0: not known, as for
  // a shard row, which keeps no original length).
  int64_t gap_after = -1;
  int64_t gap_words = 0;
};

struct PageInfo {
  std::string title = "distgru attention heat map";
  std::string subtitle;  // e.g. the checkpoint and step
};

// The whole page. Every review text is HTML-escaped.
std::string render_heatmap_page(const std::vector<ReviewView>& reviews, const PageInfo& info);

// &, <, >, " and ' as character references; safe in text and in attributes.
std::string html_escape(std::string_view text);

// Background colour for a shade in [0, 1] (clamped): white to deep amber,
// every step readable under black text (contrast above 8:1).
std::string shade_color(double shade);

}  // namespace distgru::report
