#pragma once
// UTF-8 checks for text that reaches output formats (JSON, HTML, terminals):
// review files are not always UTF-8 (a Latin-1 "é" is the single byte 0xE9),
// and a JSON writer must not be handed such bytes. The tokeniser itself
// keeps every byte >= 0x80 as it is, so what the model sees never changes.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace distgru::data {

// The offset of the first byte that does not start or continue a valid UTF-8
// sequence (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF), or
// nothing when `text` is valid.
std::optional<size_t> first_invalid_utf8(std::string_view text);

// `text` with every invalid byte replaced by U+FFFD (the replacement character).
std::string to_valid_utf8(std::string_view text);

}  // namespace distgru::data
