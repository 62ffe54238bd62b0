#include "data/utf8.h"

#include <gtest/gtest.h>

namespace distgru::data {
namespace {

TEST(Utf8, ValidTextPassesUnchanged) {
  for (const char* text : {"", "plain ascii", "caf\xc3\xa9", "\xe2\x82\xac 5", "\xf0\x9f\x8e\xac film"}) {
    EXPECT_FALSE(first_invalid_utf8(text).has_value()) << text;
    EXPECT_EQ(to_valid_utf8(text), text);
  }
}

TEST(Utf8, InvalidBytesAreFoundAndReplaced) {
  EXPECT_EQ(first_invalid_utf8("Caf\xe9 scenes"), 3u);                 // Latin-1
  EXPECT_EQ(to_valid_utf8("Caf\xe9!"), "Caf\xef\xbf\xbd!");
  EXPECT_EQ(first_invalid_utf8("\xc0\xaf"), 0u);                       // overlong
  EXPECT_EQ(first_invalid_utf8("ok \xed\xa0\x80"), 3u);                // a surrogate
  EXPECT_EQ(first_invalid_utf8("\xf4\x90\x80\x80"), 0u);               // above U+10FFFF
  EXPECT_EQ(first_invalid_utf8("cut \xe2\x82"), 4u);                   // truncated
  EXPECT_EQ(to_valid_utf8("\xff\xfe"), "\xef\xbf\xbd\xef\xbf\xbd");
}

}  // namespace
}  // namespace distgru::data
