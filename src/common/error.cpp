#include "common/error.h"

#include <cstring>
#include <utility>

namespace distgru {
namespace {
std::string& label_storage() {
  static std::string label;
  return label;
}
}  // namespace

void set_process_label(std::string label) { label_storage() = std::move(label); }
const std::string& process_label() { return label_storage(); }

std::string without_process_label(const std::string& what) {
  const std::string label = "[" + process_label() + "] ";
  if (!process_label().empty() && what.compare(0, label.size(), label) == 0) return what.substr(label.size());
  return what;
}

std::string rank_label(int rank, int world_size, const std::string& host) {
  const auto number = [](int n) { return n < 0 ? std::string("?") : std::to_string(n); };
  return "rank " + number(rank) + "/" + number(world_size) + " on " + host;
}

void throw_error(const std::string& what, const char* file, int line) {
  const char* base = std::strrchr(file, '/');
  std::string msg;
  if (!process_label().empty()) msg += "[" + process_label() + "] ";
  msg += what;
  msg += " (at ";
  msg += base ? base + 1 : file;
  msg += ":" + std::to_string(line) + ")";
  throw Error(msg);
}

}  // namespace distgru
