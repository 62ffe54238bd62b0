#include "train/step_trace.h"

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/log.h"
#include "distributed/tensor_collectives.h"

namespace distgru::train {
namespace {

constexpr int kMainThread = 0, kCommunicationThread = 1;

double micros(StepTrace::Time t) {
  return std::chrono::duration<double, std::micro>(t.time_since_epoch()).count();
}

}  // namespace

std::optional<std::pair<int64_t, int64_t>> StepTrace::parse_range(const std::string& text) {
  if (text.empty()) return std::nullopt;
  const auto colon = text.find(':');
  try {
    size_t used_a = 0, used_b = 0;
    const int64_t a = std::stoll(text.substr(0, colon), &used_a);
    const int64_t b = std::stoll(text.substr(colon + 1), &used_b);
    if (colon != std::string::npos && used_a == colon && used_b == text.size() - colon - 1 && a >= 1 && a <= b) {
      return std::make_pair(a, b);
    }
  } catch (const std::exception&) {
  }
  DISTGRU_FAIL("--trace-steps must be A:B with 1 <= A <= B (steps, e.g. 5:8), not '" + text + "'");
}

StepTrace::StepTrace(int64_t first, int64_t last, int rank, std::string host)
    : first_(first), last_(last), rank_(rank), host_(std::move(host)) {
  const auto meta = [&](const std::string& name, int thread, const std::string& value) {
    nlohmann::json e = {{"name", name}, {"ph", "M"}, {"pid", rank_}, {"tid", thread}, {"args", {{"name", value}}}};
    events_ += (events_.empty() ? "" : ",") + e.dump();
  };
  meta("process_name", kMainThread, "rank " + std::to_string(rank_) + " (" + host_ + ")");
  meta("process_sort_index", kMainThread, std::to_string(rank_));
  meta("thread_name", kMainThread, "main: step");
  meta("thread_name", kCommunicationThread, "communication: gradient buckets");
}

void StepTrace::add(const std::string& name, int thread, Time begin, Time end, int64_t step) {
  nlohmann::json e = {{"name", name},        {"cat", thread == kMainThread ? "step" : "allreduce"},
                      {"ph", "X"},           {"ts", micros(begin)},
                      {"dur", micros(end) - micros(begin)}, {"pid", rank_},
                      {"tid", thread},       {"args", {{"step", step}}}};
  events_ += (events_.empty() ? "" : ",") + e.dump();
}

void StepTrace::record_step(int64_t step, Time batch_begin, Time batch_end, const StepTimes& t,
                            const std::vector<dist::Work::Span>& buckets) {
  add("data", kMainThread, batch_begin, batch_end, step);
  auto at = t.start;
  const auto part = [&](const char* name, double seconds) {
    const auto end = at + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                              std::chrono::duration<double>(seconds));
    add(name, kMainThread, at, end, step);
    at = end;
  };
  part("forward", t.forward);
  part("backward", t.backward);
  part("sync wait", t.sync);
  part("optimizer", t.optimizer);
  for (size_t b = 0; b < buckets.size(); ++b) {
    add("allreduce bucket " + std::to_string(b), kCommunicationThread, buckets[b].begin, buckets[b].end, step);
  }
}

void StepTrace::record(const std::string& name, Time begin, Time end, int64_t step) {
  add(name, kMainThread, begin, end, step);
}

std::string StepTrace::gather(dist::Communicator& comm) {
  if (written_) return "";
  written_ = true;
  const auto all = dist::allgather_strings(comm, events_);
  if (comm.rank() != 0) return "";
  std::string json = "{\"displayTimeUnit\": \"ms\", \"traceEvents\": [";
  bool first = true;
  for (const auto& rank : all) {
    if (rank.empty()) continue;
    json += (first ? "" : ",\n") + rank;
    first = false;
  }
  json += "]}\n";
  return json;
}

}  // namespace distgru::train
