#include "report/run_metrics.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace distgru::report {
namespace {

EvalRecord eval_from_json(const nlohmann::json& j) {
  EvalRecord r;
  r.step = j.at("step").get<int64_t>();
  r.split = j.at("split").get<std::string>();
  r.samples = j.value("samples", int64_t{0});
  r.checkpoint = j.value("checkpoint", std::string());
  r.run = j.value("run", std::string());
  r.accuracy = j.at("accuracy").get<double>();
  // AUC is NaN when a split holds one class; the log writes it as null.
  r.auc = j.at("auc").is_number() ? j.at("auc").get<double>() : std::nan("");
  r.loss = j.at("loss").get<double>();
  r.tp = j.at("tp").get<int64_t>();
  r.fp = j.at("fp").get<int64_t>();
  r.tn = j.at("tn").get<int64_t>();
  r.fn = j.at("fn").get<int64_t>();
  return r;
}

double ratio(int64_t a, int64_t b) { return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : 0.0; }

}  // namespace

double EvalRecord::precision() const { return ratio(tp, tp + fp); }
double EvalRecord::recall() const { return ratio(tp, tp + fn); }
double EvalRecord::f1() const {
  const double p = precision(), r = recall();
  return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

nlohmann::json to_json(const StepRecord& r) {
  nlohmann::json j = {{"step", r.step}, {"epoch", r.epoch}, {"loss", r.loss},
                      {"samples_per_sec", r.samples_per_sec}, {"lr", r.lr}, {"sync_seconds", r.sync_seconds}};
  if (!r.run.empty()) j["run"] = r.run;
  return j;
}

nlohmann::json to_json(const EvalRecord& r) {
  nlohmann::json j = {{"step", r.step},         {"split", r.split},         {"samples", r.samples},
                      {"accuracy", r.accuracy}, {"auc", r.auc},             {"loss", r.loss},
                      {"tp", r.tp},             {"fp", r.fp},               {"tn", r.tn},
                      {"fn", r.fn},             {"precision", r.precision()}, {"recall", r.recall()},
                      {"f1", r.f1()}};
  if (!r.checkpoint.empty()) j["checkpoint"] = r.checkpoint;
  if (!r.run.empty()) j["run"] = r.run;
  return j;
}

RunMetrics parse_metrics_jsonl(std::istream& in, const std::string& source) {
  // Keyed by step so a resumed run, which repeats the steps after its
  // checkpoint, keeps only the records of the run that continued.
  std::map<int64_t, StepRecord> steps;
  std::map<int64_t, EvalRecord> validation, validation_ema;
  RunMetrics run;
  int line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      const auto j = nlohmann::json::parse(line);
      if (j.contains("provenance")) continue;  // a run's first record: what made it
      if (j.contains("split")) {
        auto r = eval_from_json(j);
        if (r.split == "test") {
          run.test = r;
        } else if (r.split == "validation_ema") {
          validation_ema[r.step] = r;
        } else {
          validation[r.step] = r;
        }
      } else {
        StepRecord r;
        r.step = j.at("step").get<int64_t>();
        r.epoch = j.value("epoch", int64_t{0});
        r.loss = j.at("loss").get<double>();
        r.samples_per_sec = j.at("samples_per_sec").get<double>();
        r.lr = j.value("lr", 0.0);
        r.sync_seconds = j.value("sync_seconds", 0.0);
        r.run = j.value("run", std::string());
        steps[r.step] = r;
      }
    } catch (const nlohmann::json::exception& e) {
      DISTGRU_FAIL(source + ":" + std::to_string(line_number) + ": not a metrics record (" +
                   e.what() + ")");
    }
  }
  for (const auto& [step, r] : steps) run.steps.push_back(r);
  for (const auto& [step, r] : validation) run.validation.push_back(r);
  for (const auto& [step, r] : validation_ema) run.validation_ema.push_back(r);
  return run;
}

EvalRecord parse_eval_record(const std::string& json_text, const std::string& source) {
  try {
    return eval_from_json(nlohmann::json::parse(json_text));
  } catch (const nlohmann::json::exception& e) {
    DISTGRU_FAIL(source + ": not an evaluation record (" + e.what() + ")");
  }
}

}  // namespace distgru::report
