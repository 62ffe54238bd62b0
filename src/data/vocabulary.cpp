#include "data/vocabulary.h"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <numeric>
#include <utility>

#include "common/error.h"
#include "common/file_system.h"

namespace distgru::data {
namespace {

constexpr int32_t kFirstWordId = TokenIds::kIndexOffset + 1;  // rank 1
constexpr std::string_view kHeaderPrefix = "# distgru vocab ";

const std::string kReservedWords[] = {"<pad>", "<start>", "<oov>"};

// Strict integer parse: the whole of `text` must be the number.
template <typename T>
bool parse_int(std::string_view text, T& value) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

// Ranking order: count descending, then word bytewise ascending
// (std::string compares as unsigned char).
bool ranks_before(int64_t count_a, const std::string& a, int64_t count_b, const std::string& b) {
  return count_a != count_b ? count_a > count_b : a < b;
}

void check_vocab_size(int32_t vocab_size, const std::string& where) {
  DISTGRU_CHECK(vocab_size > kFirstWordId,
                where + "vocab_size must be greater than " + std::to_string(kFirstWordId) +
                    " (ids 0..2 are reserved), got " + std::to_string(vocab_size));
}

}  // namespace

Vocabulary::Vocabulary(int32_t vocab_size, std::vector<std::string> words,
                       std::vector<int64_t> counts)
    : vocab_size_(vocab_size), words_(std::move(words)), counts_(std::move(counts)) {
  ids_.reserve(words_.size());
  for (size_t i = 0; i < words_.size(); ++i) {
    ids_.emplace(words_[i], static_cast<int32_t>(i) + kFirstWordId);
  }
}

Vocabulary Vocabulary::build(const std::unordered_map<std::string, int64_t>& counts,
                             int32_t vocab_size, Truncation truncation) {
  check_vocab_size(vocab_size, "");
  std::vector<std::pair<std::string, int64_t>> ranked;
  ranked.reserve(counts.size());
  for (const auto& [word, count] : counts) {
    if (count <= 0) continue;
    DISTGRU_CHECK(!word.empty() && word.find_first_of("\t\n\r") == std::string::npos,
                  "vocabulary word '" + word + "' is empty or contains a tab or newline");
    ranked.emplace_back(word, count);
  }
  const size_t keep = std::min(ranked.size(), static_cast<size_t>(vocab_size - kFirstWordId));
  auto order = [](const auto& a, const auto& b) {
    return ranks_before(a.second, a.first, b.second, b.first);
  };
  std::partial_sort(ranked.begin(), ranked.begin() + keep, ranked.end(), order);
  std::vector<std::string> words;
  std::vector<int64_t> word_counts;
  words.reserve(keep);
  word_counts.reserve(keep);
  for (size_t i = 0; i < keep; ++i) {
    words.push_back(std::move(ranked[i].first));
    word_counts.push_back(ranked[i].second);
  }
  Vocabulary vocab(vocab_size, std::move(words), std::move(word_counts));
  vocab.truncation_ = truncation;
  return vocab;
}

void Vocabulary::save(const std::string& path) const {
  std::string out = std::string(kHeaderPrefix) + "vocab_size=" + std::to_string(vocab_size_) +
                    " index_offset=" + std::to_string(TokenIds::kIndexOffset) + " truncate=" +
                    choice_name(truncation_) + "\n";
  for (size_t i = 0; i < words_.size(); ++i) {
    out += words_[i];
    out += '\t';
    out += std::to_string(counts_[i]);
    out += '\n';
  }
  write_file_atomic(path, out);
}

Vocabulary Vocabulary::load(const std::string& path) {
  const std::string text = read_file(path);
  std::string_view rest(text);
  int line_no = 0;
  auto next_line = [&](std::string_view& line) {
    if (rest.empty()) return false;
    size_t nl = rest.find('\n');
    line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    ++line_no;
    return true;
  };
  auto where = [&] { return path + ":" + std::to_string(line_no) + ": "; };

  std::string_view line;
  DISTGRU_CHECK(next_line(line), path + ": empty file, not a distgru vocabulary");
  int32_t vocab_size = 0, index_offset = 0;
  const std::string_view fields = line.substr(std::min(line.size(), kHeaderPrefix.size()));
  const size_t space = fields.find(' ');
  const bool header_ok = line.substr(0, kHeaderPrefix.size()) == kHeaderPrefix &&
                         space != std::string_view::npos && fields.substr(0, 11) == "vocab_size=" &&
                         parse_int(fields.substr(11, space - 11), vocab_size) &&
                         fields.substr(space + 1, 13) == "index_offset=" &&
                         parse_int(fields.substr(space + 14, fields.find(' ', space + 1) - space - 14),
                                   index_offset);
  // Files written before the truncate field kept the beginning.
  Truncation truncation = Truncation::kKeepStart;
  const size_t truncate_at = fields.find(" truncate=");
  if (header_ok && truncate_at != std::string_view::npos) {
    truncation = parse_choice<Truncation>(std::string(fields.substr(truncate_at + 10)), where() + "truncate");
  }
  DISTGRU_CHECK(header_ok, where() + "bad header '" + std::string(line) +
                               "', expected '# distgru vocab vocab_size=N index_offset=2'");
  DISTGRU_CHECK(index_offset == TokenIds::kIndexOffset,
                where() + "index_offset is " + std::to_string(index_offset) +
                    " but this build uses " + std::to_string(TokenIds::kIndexOffset));
  check_vocab_size(vocab_size, where());

  std::vector<std::string> words;
  std::vector<int64_t> counts;
  std::unordered_map<std::string, int32_t> seen;
  while (next_line(line)) {
    const size_t tab = line.find('\t');
    int64_t count = 0;
    DISTGRU_CHECK(tab != std::string_view::npos && tab > 0 &&
                      parse_int(line.substr(tab + 1), count) && count > 0,
                  where() + "expected 'word<TAB>count' with a positive count, got '" +
                      std::string(line) + "'");
    std::string word(line.substr(0, tab));
    DISTGRU_CHECK(seen.emplace(word, line_no).second, where() + "duplicate word '" + word + "'");
    DISTGRU_CHECK(words.empty() || ranks_before(counts.back(), words.back(), count, word),
                  where() + "word '" + word + "' is out of rank order (count desc, then word)");
    words.push_back(std::move(word));
    counts.push_back(count);
  }
  DISTGRU_CHECK(words.size() <= static_cast<size_t>(vocab_size - kFirstWordId),
                path + ": " + std::to_string(words.size()) +
                    " words do not fit vocab_size=" + std::to_string(vocab_size));
  Vocabulary vocab(vocab_size, std::move(words), std::move(counts));
  vocab.truncation_ = truncation;
  return vocab;
}

int32_t Vocabulary::id(std::string_view word) const {
  auto it = ids_.find(std::string(word));
  return it == ids_.end() ? TokenIds::kOov : it->second;
}

const std::string& Vocabulary::word(int32_t id) const {
  if (id >= 0 && id < kFirstWordId) return kReservedWords[id];
  const int64_t index = static_cast<int64_t>(id) - kFirstWordId;
  DISTGRU_CHECK(index >= 0 && index < static_cast<int64_t>(words_.size()),
                "word id " + std::to_string(id) + " is out of range: the vocabulary has ids 0.." +
                    std::to_string(words_.size() + kFirstWordId - 1));
  return words_[static_cast<size_t>(index)];
}

size_t Vocabulary::kept_head(size_t n, int32_t sentence_size) const {
  const size_t room = static_cast<size_t>(std::max(0, sentence_size - 1));
  if (n <= room) return n;
  switch (truncation_) {
    case Truncation::kKeepStart: return room;
    case Truncation::kKeepEnd: return 0;
    case Truncation::kKeepHeadTail: return room / 4;
  }
  return room;
}

std::vector<size_t> Vocabulary::kept_words(size_t n, int32_t sentence_size) const {
  const size_t room = static_cast<size_t>(std::max(0, sentence_size - 1));
  std::vector<size_t> kept(std::min(n, room));
  // The first `head` words, then the rest from the end (none when it all fits:
  // head is then n).
  const size_t head = kept_head(n, sentence_size);
  std::iota(kept.begin(), kept.begin() + static_cast<std::ptrdiff_t>(head), size_t{0});
  std::iota(kept.begin() + static_cast<std::ptrdiff_t>(head), kept.end(), n - (kept.size() - head));
  return kept;
}

std::vector<int32_t> Vocabulary::encode(const std::vector<std::string>& tokens,
                                        int32_t sentence_size) const {
  DISTGRU_CHECK(sentence_size >= 1,
                "sentence_size must be at least 1, got " + std::to_string(sentence_size));
  std::vector<int32_t> ids(static_cast<size_t>(sentence_size), TokenIds::kPad);
  ids[0] = TokenIds::kStart;
  const std::vector<size_t> kept = kept_words(tokens.size(), sentence_size);
  for (size_t i = 0; i < kept.size(); ++i) {
    auto it = ids_.find(tokens[kept[i]]);
    ids[i + 1] = it == ids_.end() ? TokenIds::kOov : it->second;
  }
  return ids;
}

}  // namespace distgru::data
