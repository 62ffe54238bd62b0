#pragma once
// Rank 0's record of a run: one JSON object per line in
// <checkpoint-dir>/metrics.jsonl, appended and flushed line by line so a crash
// loses at most the line being written, and a resumed run continues the file.

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

namespace distgru::train {

class MetricsLog {
 public:
  explicit MetricsLog(const std::string& path);
  void append(const nlohmann::json& record);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
};

// JSON text with doubles printed to full precision (17 significant digits).
std::string dump_json(const nlohmann::json& value, int indent = -1);

}  // namespace distgru::train
