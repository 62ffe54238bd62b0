#include "data/tokenizer.h"

#include <gtest/gtest.h>

namespace distgru::data {
namespace {

using Tokens = std::vector<std::string>;

TEST(Tokenizer, LowerCasesAndSplitsOnPunctuation) {
  EXPECT_EQ(tokenize("Hello, World! It's GREAT...really"),
            (Tokens{"hello", "world", "it's", "great", "really"}));
}

TEST(Tokenizer, HtmlLineBreaksSeparateWords) {
  EXPECT_EQ(tokenize("one<br />two<br/>three<BR>four<Br />five"),
            (Tokens{"one", "two", "three", "four", "five"}));
  // Other tags are plain punctuation: their names stay words.
  EXPECT_EQ(tokenize("<i>italic</i>"), (Tokens{"i", "italic", "i"}));
}

TEST(Tokenizer, DigitsAreWordCharacters) {
  EXPECT_EQ(tokenize("10/10, a 7.5 of 1984"), (Tokens{"10", "10", "a", "7", "5", "of", "1984"}));
}

TEST(Tokenizer, EdgeApostrophesStripped) {
  EXPECT_EQ(tokenize("'hello' don't ''' rock'n'roll' 'tis"),
            (Tokens{"hello", "don't", "rock'n'roll", "tis"}));
}

TEST(Tokenizer, Utf8BytesStayInWords) {
  EXPECT_EQ(tokenize("Café CRÈME, naïve!"), (Tokens{"café", "crÈme", "naïve"}));
}

TEST(Tokenizer, EmptyAndSeparatorOnlyInput) {
  EXPECT_TRUE(tokenize("").empty());
  EXPECT_TRUE(tokenize(" \t\n--<br />!?").empty());
}

TEST(Tokenizer, HyphensAndUnderscoresSeparate) {
  EXPECT_EQ(tokenize("well-made snake_case"), (Tokens{"well", "made", "snake", "case"}));
}

}  // namespace
}  // namespace distgru::data
