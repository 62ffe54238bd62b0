#pragma once
// The report's index.html: a table of the run's headline numbers and every
// picture with a caption. Self-contained apart from the pictures beside it.

#include <string>
#include <utility>
#include <vector>

namespace distgru::report {

struct Figure {
  std::string image;  // path relative to the index page
  std::string caption;
};

// `facts`: (name, value) rows, shown in order. All text is HTML-escaped.
std::string render_report_index(const std::string& title,
                                const std::vector<std::pair<std::string, std::string>>& facts,
                                const std::vector<Figure>& figures);

}  // namespace distgru::report
