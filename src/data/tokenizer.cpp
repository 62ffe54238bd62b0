#include "data/tokenizer.h"

namespace distgru::data {
namespace {

bool is_word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '\'' ||
         c >= 0x80;
}

char to_lower_ascii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool starts_with_ignore_case(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (to_lower_ascii(text[i]) != prefix[i]) return false;
  }
  return true;
}

// Length of the HTML line break starting at text[0], or 0. Without this "br"
// would become the most frequent word of the IMDB corpus.
size_t line_break_length(std::string_view text) {
  static constexpr std::string_view kBreaks[] = {"<br />", "<br/>", "<br>"};
  for (std::string_view br : kBreaks) {
    if (starts_with_ignore_case(text, br)) return br.size();
  }
  return 0;
}

void flush_word(std::string& word, std::vector<std::string>& out) {
  size_t begin = word.find_first_not_of('\'');
  if (begin != std::string::npos) {
    size_t end = word.find_last_not_of('\'');
    out.push_back(word.substr(begin, end - begin + 1));
  }
  word.clear();
}

}  // namespace

std::vector<std::string> tokenize(std::string_view text) {
  std::vector<std::string> out;
  std::string word;
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (is_word_byte(c)) {
      word.push_back(to_lower_ascii(text[i]));
      ++i;
      continue;
    }
    flush_word(word, out);
    size_t skip = (c == '<') ? line_break_length(text.substr(i)) : 0;
    i += skip > 0 ? skip : 1;
  }
  flush_word(word, out);
  return out;
}

}  // namespace distgru::data
