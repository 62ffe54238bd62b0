#include "report/heatmap_html.h"

#include <gtest/gtest.h>

namespace distgru::report {
namespace {

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(HeatmapHtml, EscapesEverySpecialCharacter) {
  EXPECT_EQ(html_escape(R"(<a href="x">Tom & 'Jerry'</a>)"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;");
  EXPECT_EQ(html_escape("plain"), "plain");
}

TEST(HeatmapHtml, ShadesFromWhiteToAmberAndClamps) {
  EXPECT_EQ(shade_color(0.0), "rgb(255,255,255)");
  EXPECT_EQ(shade_color(1.0), "rgb(255,140,0)");
  EXPECT_EQ(shade_color(0.5), "rgb(255,198,128)");
  EXPECT_EQ(shade_color(7.0), "rgb(255,140,0)");
  EXPECT_EQ(shade_color(-1.0), "rgb(255,255,255)");
}

ReviewView example() {
  ReviewView r;
  r.name = "test review #3";
  r.tokens = {{"<start>", TokenKind::kStart, 0.05}, {"<b>great</b>", TokenKind::kWord, 0.6},
              {"zyzzyva", TokenKind::kOov, 0.25},   {"film", TokenKind::kWord, 0.1},
              {"<pad>", TokenKind::kPad, 0.0},      {"<pad>", TokenKind::kPad, 0.0},
              {"<pad>", TokenKind::kPad, 0.0}};
  r.predicted = 1;
  r.probability = 0.93;
  r.truth = 0;
  return r;
}

TEST(HeatmapHtml, ShowsEscapedTokensShadedWithWeightsOnHover) {
  const auto page = render_heatmap_page({example()}, {"title & <more>", "model at step 7"});
  EXPECT_TRUE(has(page, "<title>title &amp; &lt;more&gt;</title>"));
  EXPECT_FALSE(has(page, "<b>great</b>"));  // review text never becomes markup
  // The heaviest token gets rank 1 in its hover text and a shade of 0.6 on a
  // scale of 5 x an even share (5 / 4 real tokens = 1.25): 0.48.
  EXPECT_TRUE(has(
      page,
      R"x(<span class="tok" style="background:rgb(255,200,133)" title="attention 0.6000 (rank 1 of 4)">&lt;b&gt;great&lt;/b&gt;</span>)x"))
      << page;
  EXPECT_TRUE(has(page, R"(class="tok oov")"));
  EXPECT_TRUE(has(page, "not in the vocabulary"));
  EXPECT_TRUE(has(page, R"(class="tok marker")"));
  EXPECT_TRUE(has(page, "&lt;pad&gt; &times; 3"));  // padding collapsed into one chip
  EXPECT_TRUE(has(page, "predicted positive"));
  EXPECT_TRUE(has(page, "probability 93.0%"));
  EXPECT_TRUE(has(page, "true label: negative"));
  EXPECT_TRUE(has(page, R"(data-correct="wrong")"));
  EXPECT_TRUE(has(page, "0 of 1 with a known label predicted correctly"));
  EXPECT_TRUE(has(page, "Most attention: <b>&lt;b&gt;great&lt;/b&gt;</b> 0.600"));
  // Self-contained: nothing to fetch.
  EXPECT_FALSE(has(page, "http://"));
  EXPECT_FALSE(has(page, "https://"));
  EXPECT_FALSE(has(page, "src="));
}

TEST(HeatmapHtml, ThePeakOfAConcentratedReviewIsDarkest) {
  ReviewView r;
  r.name = "peaked";
  for (int i = 0; i < 20; ++i) r.tokens.push_back({"w", TokenKind::kWord, 0.01});
  r.tokens.push_back({"superb", TokenKind::kWord, 0.8});
  const auto page = render_heatmap_page({r}, {});
  EXPECT_TRUE(
      has(page,
          R"x(style="background:rgb(255,140,0)" title="attention 0.8000 (rank 1 of 21)">superb<)x"))
      << page;
  EXPECT_TRUE(has(page, "<span class=\"ramp\"></span> 0.800</span>"));  // the review's scale
}

TEST(HeatmapHtml, UnknownLabelsAndTruncation) {
  auto r = example();
  r.truth.reset();
  r.truncated = true;
  const auto page = render_heatmap_page({r}, {});
  EXPECT_TRUE(has(page, R"(data-correct="unknown")"));
  EXPECT_FALSE(has(page, "true label"));
  EXPECT_TRUE(has(page, "longer than the model's sentence size"));
  EXPECT_TRUE(has(page, "1 review."));
}

// The words a truncated review lost are marked where they were cut out (for
// head-tail, between its start and its end), with their count when known.
TEST(HeatmapHtml, TruncatedReviewShowsWhereWordsWereCutOut) {
  auto r = example();
  r.truncated = true;
  r.gap_after = 1;  // after "great"
  r.gap_words = 120;
  auto page = render_heatmap_page({r}, {});
  const auto great = page.find("&lt;b&gt;great&lt;/b&gt;</span>");
  const auto gap = page.find("&hellip; 120 words not seen &hellip;");
  const auto zyzzyva = page.find(">zyzzyva<");
  ASSERT_NE(great, std::string::npos);
  ASSERT_NE(gap, std::string::npos) << page;
  EXPECT_LT(great, gap);
  EXPECT_LT(gap, zyzzyva);
  r.gap_words = 0;  // a shard row: where, not how many
  page = render_heatmap_page({r}, {});
  EXPECT_TRUE(has(page, "&hellip; words not seen &hellip;"));
  r.truncated = false;  // nothing lost, no mark
  EXPECT_FALSE(has(render_heatmap_page({r}, {}), "not seen"));
}

}  // namespace
}  // namespace distgru::report
