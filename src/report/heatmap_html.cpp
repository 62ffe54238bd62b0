#include "report/heatmap_html.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace distgru::report {
namespace {

// Dark text on light backgrounds, system fonts (no web fonts: nothing may be
// fetched), tokens that wrap like prose.
constexpr const char* kStyle = R"css(
body { font: 16px/1.6 system-ui, "DejaVu Sans", sans-serif; color: #111; background: #fafafa;
       margin: 0 auto; max-width: 60rem; padding: 1rem 1.5rem; }
h1 { font-size: 1.5rem; margin: .2rem 0; }
.sub, .help { color: #444; margin: .2rem 0 .8rem; }
.controls { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; margin: .8rem 0;
            padding: .6rem .8rem; background: #fff; border: 1px solid #ccc; border-radius: 6px; }
.legend { display: inline-flex; align-items: center; gap: .4rem; }
.ramp { display: inline-block; width: 10rem; height: 1rem; border: 1px solid #888;
        background: linear-gradient(to right, rgb(255,255,255), rgb(255,190,80), rgb(255,140,0)); }
.review { background: #fff; border: 1px solid #ccc; border-radius: 6px; margin: 1rem 0; padding: .8rem 1rem; }
.review.wrong { border-left: 6px solid #b00020; }
.review.right { border-left: 6px solid #1b7f3b; }
.head { display: flex; flex-wrap: wrap; gap: .6rem; align-items: baseline; margin-bottom: .4rem; }
.name { font-weight: 600; }
.badge { padding: .05rem .5rem; border-radius: 4px; color: #fff; font-weight: 600; }
.badge.positive { background: #1b5e20; } .badge.negative { background: #8e0000; }
.verdict.right { color: #1b5e20; font-weight: 600; } .verdict.wrong { color: #8e0000; font-weight: 600; }
.text { line-height: 2; }
.tok { padding: .1rem .12rem; border-radius: 3px; cursor: default; }
.tok:hover { outline: 2px solid #000; }
.tok.oov { font-style: italic; text-decoration: underline dashed #555; }
.tok.marker { font-size: .8rem; color: #333; border: 1px dashed #777; }
.gap { font-size: .8rem; color: #333; font-style: italic; border: 1px dashed #777; padding: 0 .3em; }
.top { color: #333; margin-top: .4rem; font-size: .95rem; }
.note { color: #8e0000; font-size: .9rem; }
)css";

// Sorting and filtering in place; without script the page still shows every
// review in its original order.
constexpr const char* kScript = R"js(
(function () {
  const list = document.getElementById('reviews');
  const sort = document.getElementById('sort');
  const filter = document.getElementById('filter');
  const shown = document.getElementById('shown');
  const items = Array.from(list.children);
  function apply() {
    const key = sort.value;
    const sorted = items.slice().sort(function (a, b) {
      if (key === 'order') return a.dataset.order - b.dataset.order;
      const d = a.dataset.confidence - b.dataset.confidence;
      return key === 'confident' ? -d : d;
    });
    let n = 0;
    sorted.forEach(function (item) {
      const keep = filter.value === 'all' || item.dataset.correct === filter.value;
      item.hidden = !keep;
      if (keep) n++;
      list.appendChild(item);
    });
    shown.textContent = n + ' of ' + items.length + ' shown';
  }
  sort.addEventListener('change', apply);
  filter.addEventListener('change', apply);
  apply();
})();
)js";

constexpr double kEmphasis = 5.0;

const char* class_name(int label) { return label == 1 ? "positive" : "negative"; }

// Where a truncated review's unseen words were cut out: no attention, not a
// token, so drawn unshaded, with the count when it is known.
std::string gap_html(int64_t words) {
  const std::string what = words > 0 ? fmt::format("{} words not seen", words) : "words not seen";
  return fmt::format(
      R"x(<span class="gap" title="the model's sentence holds no more: these words of the review were cut out)x"
      R"x( (distgru-prepare --truncate)">&hellip; {} &hellip;</span> )x",
      what);
}

std::string token_html(const HeatToken& t, double max_weight, int rank, size_t count) {
  const double shade = max_weight > 0 ? t.weight / max_weight : 0.0;
  std::string kind_note;
  std::string css = "tok";
  if (t.kind == TokenKind::kOov) {
    css += " oov";
    kind_note = " - not in the vocabulary, the model saw <oov>";
  } else if (t.kind == TokenKind::kStart) {
    css += " marker";
    kind_note = " - the start marker of every review";
  }
  const auto title =
      fmt::format("attention {:.4f} (rank {} of {}){}", t.weight, rank, count, kind_note);
  return fmt::format(R"(<span class="{}" style="background:{}" title="{}">{}</span> )", css,
                     shade_color(shade), html_escape(title), html_escape(t.text));
}

std::string review_html(const ReviewView& r, size_t order) {
  // Rank of every token by weight, for the hover text and the top list.
  std::vector<size_t> by_weight;
  for (size_t i = 0; i < r.tokens.size(); ++i) {
    if (r.tokens[i].kind != TokenKind::kPad) by_weight.push_back(i);
  }
  std::stable_sort(by_weight.begin(), by_weight.end(),
                   [&](size_t a, size_t b) { return r.tokens[a].weight > r.tokens[b].weight; });
  std::vector<int> rank(r.tokens.size(), 0);
  for (size_t k = 0; k < by_weight.size(); ++k) rank[by_weight[k]] = static_cast<int>(k + 1);
  // The darkest shade is the review's highest weight, but never less than
  // kEmphasis times an even share: a model that spreads attention evenly (an
  // untrained one) then looks pale, not uniformly dark.
  const double highest = by_weight.empty() ? 0.0 : r.tokens[by_weight.front()].weight;
  const double max_weight =
      by_weight.empty() ? 0.0
                        : std::max(highest, kEmphasis / static_cast<double>(by_weight.size()));

  const std::string correct = !r.truth ? "unknown" : *r.truth == r.predicted ? "right" : "wrong";
  std::string out = fmt::format(
      R"(<article class="review {}" data-order="{}" data-confidence="{:.6f}" data-correct="{}">)"
      "\n<div class=\"head\"><span class=\"name\">{}</span>"
      R"(<span class="badge {}">predicted {}</span><span>probability {:.1f}%</span>)",
      correct, order, r.probability, correct, html_escape(r.name), class_name(r.predicted),
      class_name(r.predicted), 100.0 * r.probability);
  if (r.truth) {
    out += fmt::format(R"(<span class="verdict {}">{} (true label: {})</span>)", correct,
                       correct == "right" ? "&#10003; correct" : "&#10007; wrong",
                       class_name(*r.truth));
  }
  out +=
      fmt::format(R"(<span class="legend">0 <span class="ramp"></span> {:.3f}</span>)", max_weight);
  out += "</div>\n<div class=\"text\">";
  for (size_t i = 0; i < r.tokens.size();) {
    if (r.tokens[i].kind != TokenKind::kPad) {
      out += token_html(r.tokens[i], max_weight, rank[i], by_weight.size());
      if (r.truncated && static_cast<int64_t>(i) == r.gap_after) out += gap_html(r.gap_words);
      ++i;
      continue;
    }
    size_t j = i;
    double weight = 0.0;
    for (; j < r.tokens.size() && r.tokens[j].kind == TokenKind::kPad; ++j)
      weight += r.tokens[j].weight;
    out += fmt::format(
        R"(<span class="tok marker" style="background:{}" title="{} padding positions after the review, total attention {:.4f}">&lt;pad&gt; &times; {}</span> )",
        shade_color(max_weight > 0 ? weight / max_weight : 0.0), j - i, weight, j - i);
    i = j;
  }
  out += "</div>\n<div class=\"top\">Most attention: ";
  size_t listed = 0;
  for (size_t k = 0; k < by_weight.size() && listed < 8; ++k) {
    const auto& t = r.tokens[by_weight[k]];
    if (t.kind == TokenKind::kStart) continue;
    out += fmt::format("{}<b>{}</b> {:.3f}", listed++ ? " &middot; " : "", html_escape(t.text),
                       t.weight);
  }
  out += "</div>\n";
  if (r.truncated) {
    out +=
        "<div class=\"note\">This review was longer than the model's sentence size; "
        "only the words shown were seen.</div>\n";
  }
  return out + "</article>\n";
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string shade_color(double shade) {
  const double s = std::isfinite(shade) ? std::clamp(shade, 0.0, 1.0) : 0.0;
  // White (255,255,255) to amber (255,140,0): black text stays above 8:1.
  const auto g = static_cast<int>(std::lround(255.0 - 115.0 * s));
  const auto b = static_cast<int>(std::lround(255.0 * (1.0 - s)));
  return fmt::format("rgb(255,{},{})", g, b);
}

std::string render_heatmap_page(const std::vector<ReviewView>& reviews, const PageInfo& info) {
  int labeled = 0, right = 0;
  for (const auto& r : reviews) {
    if (!r.truth) continue;
    ++labeled;
    right += *r.truth == r.predicted;
  }
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
      html_escape(info.title), kStyle, html_escape(info.title));
  if (!info.subtitle.empty())
    out += fmt::format("<p class=\"sub\">{}</p>\n", html_escape(info.subtitle));
  out +=
      fmt::format("<p class=\"sub\">{} review{}", reviews.size(), reviews.size() == 1 ? "" : "s");
  if (labeled > 0) {
    out += fmt::format(", {} of {} with a known label predicted correctly ({:.1f}%)", right,
                       labeled, 100.0 * right / labeled);
  }
  out +=
      ".</p>\n<p class=\"help\">Each word is shaded by the attention the model gave it: the "
      "darker, "
      "the more that word drove the prediction (each review's scale is shown beside it: the "
      "darkest "
      "shade is its highest weight, or five times an even share when attention is spread evenly). "
      "Hover over a word for its exact weight. "
      "<i>Dashed italic</i> words were not in the vocabulary; boxed chips mark the start of a "
      "review and padding.</p>\n";
  out +=
      "<div class=\"controls\"><label>Sort <select id=\"sort\">"
      "<option value=\"order\">original order</option>"
      "<option value=\"confident\">most confident first</option>"
      "<option value=\"unsure\">least confident first</option></select></label>"
      "<label>Show <select id=\"filter\"><option value=\"all\">all reviews</option>"
      "<option value=\"right\">correct predictions</option>"
      "<option value=\"wrong\">wrong predictions</option>"
      "<option value=\"unknown\">label unknown</option></select></label>"
      "<span id=\"shown\"></span>"
      "<span class=\"legend\">attention: low <span class=\"ramp\"></span> high</span></div>\n"
      "<main id=\"reviews\">\n";
  for (size_t i = 0; i < reviews.size(); ++i) out += review_html(reviews[i], i);
  out += "</main>\n<script>";
  out += kScript;
  out += "</script>\n</body>\n</html>\n";
  return out;
}

}  // namespace distgru::report
