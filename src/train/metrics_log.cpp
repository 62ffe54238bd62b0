#include "train/metrics_log.h"

#include "common/error.h"

namespace distgru::train {

MetricsLog::MetricsLog(const std::string& path) : path_(path), out_(path, std::ios::app) {
  DISTGRU_CHECK(out_.good(), path + ": cannot open for appending");
}

void MetricsLog::append(const nlohmann::json& record) {
  out_ << dump_json(record) << '\n';
  out_.flush();
  DISTGRU_CHECK(out_.good(), path_ + ": write failed");
}

std::string dump_json(const nlohmann::json& value, int indent) {
  // nlohmann::json already prints doubles round-trippably (max_digits10).
  return value.dump(indent);
}

}  // namespace distgru::train
