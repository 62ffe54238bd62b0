#pragma once
// The thread that makes a communicator's blocking library calls, in the order
// they were queued, as c10d's ProcessGroupMPI runs its calls on one worker
// thread. Callers on any thread queue an operation and get a Work handle back
// at once; the operation runs while they go on (a gradient bucket is reduced
// while backward computes the layers below), and Work::wait(timeout) gives up
// with an error naming it when it does not finish in time. The blocking MPI
// collectives are used, not their MPI_I* forms: Open MPI's non-blocking
// allreduce (libnbc) measured 1.5-2x slower at the gradient buckets' sizes.
//
// Without a thread (threaded = false: an MPI that does not allow calls from a
// second thread), each operation runs in the calling thread when it is
// queued, and its Work is complete when submit() returns.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "distributed/work.h"

namespace distgru::dist {

class WorkQueue {
 public:
  // `call_mutex` is held around every operation: the one lock that keeps
  // every thread's MPI calls apart (MPI_THREAD_SERIALIZED).
  WorkQueue(bool threaded, std::mutex& call_mutex);
  // Operations still queued are cancelled (their Work throws). One still
  // running after a short grace (none once a wait has passed its deadline)
  // is abandoned to its thread, which is left
  // detached: it waits in a collective that other ranks may never join, and
  // the job is ending (mpi_main aborts it).
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // What an operation may say about itself while it runs ("ranks 1, 3 have
  // not arrived"): a waiter whose deadline passes adds the latest note to
  // its error.
  using Note = std::function<void(const std::string&)>;

  // What a waiter whose deadline passes asks last, at that moment ("no
  // heartbeat from rank 1 for 9.8 s"); added to its error when not "".
  using Diagnosis = std::function<std::string()>;
  // Applies to the operations submitted after it; call it before any.
  void set_diagnosis(Diagnosis diagnosis);
  // A waiter still waiting this long logs a "stall:" warning with the
  // diagnosis, unless the operation already noted one (0: never). Applies
  // to the operations submitted after it.
  void set_stall_warning(std::chrono::milliseconds after);

  // `run` throws distgru::Error on failure; `what` names it in errors.
  WorkHandle submit(std::string what, std::function<void(const Note&)> run);

  bool threaded() const { return threaded_; }

  // What the destructor does, callable before it: cancels what is queued,
  // waits a little for what runs, and returns true when it had to leave an
  // operation running (abandoned to its thread). Idempotent.
  bool shutdown();

 private:
  struct State;  // shared with the thread, which may outlive this object

  const bool threaded_;
  std::mutex& call_mutex_;
  std::shared_ptr<State> state_;
  std::shared_ptr<const Diagnosis> diagnosis_;
  std::chrono::milliseconds stall_warning_{0};
  std::shared_ptr<std::atomic<bool>> timed_out_ = std::make_shared<std::atomic<bool>>(false);
  bool shut_down_ = false;
  bool abandoned_ = false;
};

}  // namespace distgru::dist
