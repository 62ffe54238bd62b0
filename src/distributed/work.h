#pragma once
// A collective in flight, as c10d's Work: the asynchronous calls of
// communicator.h return one at once, and the caller decides when to wait for
// it and for how long. Every backend honours the same deadline: wait() gives
// up after `timeout` with an error naming the operation, so a rank that died
// or stalled ends the job with a message instead of leaving the others
// waiting for ever.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace distgru::dist {

class Work {
 public:
  virtual ~Work() = default;

  // Blocks until this rank's part of the collective is done and its output
  // may be read. Throws distgru::Error naming the operation when the backend
  // reported a failure, or when `timeout` passed first (the other ranks did
  // not all arrive: one died, stalled, or called something else); after a
  // timeout the communicator cannot be used again and the job must end.
  // May be called more than once; later calls return (or throw) at once.
  virtual void wait(std::chrono::milliseconds timeout) = 0;

  // True once the collective finished on this rank, successfully or not
  // (wait() then returns or throws without blocking). Never blocks.
  virtual bool completed() = 0;

  // "allreduce (sum) of 185000 float (collective #12)": for errors and logs.
  virtual const std::string& what() const = 0;

  // When the collective ran on this rank (wall clock), for step timelines;
  // nothing when the backend cannot tell (NCCL without timing events) or it
  // has not finished.
  struct Span {
    std::chrono::system_clock::time_point begin, end;
  };
  virtual std::optional<Span> span() const { return std::nullopt; }
};

using WorkHandle = std::shared_ptr<Work>;

// "<what>: not completed within 300 s on this rank: ..." — the one message
// every backend throws when a wait runs out.
std::string timeout_message(const std::string& what, std::chrono::milliseconds timeout);

}  // namespace distgru::dist
