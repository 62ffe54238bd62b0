#pragma once
// Boost.Program_options reads a ChoiceNames enum (common/choice.h) straight
// into its field: po::value<E>(&field). An unknown value is a po::error that
// names the option and lists the valid values, on the command line and in
// config files alike. Program_options finds the parser by argument-dependent
// lookup, so the enum's own namespace opts in, in the file that parses it:
//
//   namespace distgru::train { DISTGRU_CHOICE_OPTION(LrSchedule) }

#include <boost/any.hpp>
#include <boost/program_options.hpp>

#include <string>
#include <vector>

#include "common/choice.h"

namespace distgru {

template <typename E>
void validate_choice(boost::any& out, const std::vector<std::string>& values) {
  namespace po = boost::program_options;
  po::validators::check_first_occurrence(out);
  const std::string& text = po::validators::get_single_string(values);
  if (auto value = find_choice<E>(text)) {
    out = boost::any(*value);
    return;
  }
  po::error_with_option_name error("'%value%' is not a value of '%canonical_option%': expected " +
                                   choice_list<E>());
  error.set_substitute("value", text);
  throw error;
}

}  // namespace distgru

#define DISTGRU_CHOICE_OPTION(E)                                                                 \
  [[maybe_unused]] inline void validate(boost::any& out, const std::vector<std::string>& values, \
                                        E*, int) {                                               \
    ::distgru::validate_choice<E>(out, values);                                                  \
  }
