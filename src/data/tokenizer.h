#pragma once
// The one tokeniser used to build the vocabulary and to encode text at train,
// eval and predict time. Rules (also in data/README.md):
//   1. HTML line breaks "<br />", "<br/>", "<br>" (any case) separate words.
//   2. ASCII letters are lower-cased; other bytes are kept as they are.
//   3. A word is a maximal run of word bytes: ASCII letters and digits, the
//      apostrophe, and every byte >= 0x80 (so UTF-8 words such as "café" stay
//      whole). Everything else separates words.
//   4. Apostrophes at the start or end of a word are stripped ("'hello'" ->
//      "hello", "don't" stays); words left empty are dropped.

#include <string>
#include <string_view>
#include <vector>

namespace distgru::data {

std::vector<std::string> tokenize(std::string_view text);

}  // namespace distgru::data
