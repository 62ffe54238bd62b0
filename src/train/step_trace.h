#pragma once
// --trace-steps A:B: where the time of steps A to B went on every rank, as
// one Chrome trace (the JSON of chrome://tracing and Perfetto,
// ui.perfetto.dev; distgru-report draws it too). Per rank, a row for the main
// thread (data, forward, backward, sync wait, optimizer, validation,
// checkpoint) and one for the communication thread (each gradient bucket's
// allreduce), every span tagged with its step: overlap and stragglers at a
// glance. Times are the hosts' wall clocks, in microseconds.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "distributed/communicator.h"
#include "train/train_step.h"

namespace distgru::train {

class StepTrace {
 public:
  using Time = std::chrono::system_clock::time_point;

  // "A:B" (1-based steps, A <= B) as {A, B}; nothing for "". Throws
  // distgru::Error naming --trace-steps otherwise.
  static std::optional<std::pair<int64_t, int64_t>> parse_range(const std::string& text);

  StepTrace(int64_t first, int64_t last, int rank, std::string host);

  int64_t last() const { return last_; }
  bool covers(int64_t step) const { return step >= first_ && step <= last_ && !written_; }

  // The step that ended as step number `step`: reading its batch, then its
  // parts (StepTimes), and the buckets' allreduces on the communication thread.
  void record_step(int64_t step, Time batch_begin, Time batch_end, const StepTimes& times,
                   const std::vector<dist::Work::Span>& buckets);
  // Anything else on the main thread after step `step` (validation, checkpoint).
  void record(const std::string& name, Time begin, Time end, int64_t step);

  // collective: every rank's spans gathered into the trace's JSON text, on
  // rank 0 (the others get ""). Once: later calls return "" everywhere and
  // covers() is false from then on.
  std::string gather(dist::Communicator& comm);
  bool gathered() const { return written_; }

  // The trace's JSON events of this rank (for the tests).
  const std::string& events() const { return events_; }

 private:
  void add(const std::string& name, int thread, Time begin, Time end, int64_t step);

  const int64_t first_, last_;
  const int rank_;
  const std::string host_;
  std::string events_;  // comma-separated JSON objects
  bool written_ = false;
};

}  // namespace distgru::train
