#pragma once
// Settings that take one of a few named values (--lr-schedule cosine,
// --truncate end) are parsed once into an enum, and an unknown value is an
// error that lists the valid ones. Each enum names its values once, beside
// its declaration, by specialising ChoiceNames:
//
//   template <> struct ChoiceNames<LrSchedule> {
//     static constexpr std::array<std::pair<LrSchedule, std::string_view>, 3> kValues{
//         {{LrSchedule::kConstant, "constant"}, {LrSchedule::kLinear, "linear"},
//          {LrSchedule::kCosine, "cosine"}}};
//   };
//
// and every parser, writer and --help text is generated from that list.

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/error.h"

namespace distgru {

template <typename E>
struct ChoiceNames;  // specialised beside each enum

// The value's name; "?" for a value outside the list.
template <typename E>
std::string choice_name(E value) {
  for (const auto& [v, name] : ChoiceNames<E>::kValues) {
    if (v == value) return std::string(name);
  }
  return "?";
}

// "constant, linear or cosine"; choice_list<E>(" | ", " | ") for --help.
template <typename E>
std::string choice_list(std::string_view separator = ", ", std::string_view last_separator = " or ") {
  std::string out;
  const auto& values = ChoiceNames<E>::kValues;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += std::string(i + 1 == values.size() ? last_separator : separator);
    out += values[i].second;
  }
  return out;
}

template <typename E>
std::optional<E> find_choice(std::string_view text) {
  for (const auto& [v, name] : ChoiceNames<E>::kValues) {
    if (name == text) return v;
  }
  return std::nullopt;
}

// Throws distgru::Error "<what> must be constant, linear or cosine, not 'x'".
template <typename E>
E parse_choice(const std::string& text, const std::string& what) {
  if (auto value = find_choice<E>(text)) return *value;
  DISTGRU_FAIL(what + " must be " + choice_list<E>() + ", not '" + text + "'");
}

}  // namespace distgru
