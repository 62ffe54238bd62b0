#include "distributed/work_queue.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <thread>

#include "common/error.h"
#include "common/log.h"

namespace distgru::dist {
namespace {

// How long the destructor waits for a running operation before leaving it
// to its thread; not at all once a wait has passed its deadline (the
// operation is stuck, and the job is ending: every second counts).
constexpr std::chrono::seconds kShutdownGrace{2};

class QueuedWork final : public Work {
 public:
  QueuedWork(std::string what, std::shared_ptr<const WorkQueue::Diagnosis> diagnosis,
             std::shared_ptr<std::atomic<bool>> timed_out, std::chrono::milliseconds stall_warning)
      : what_(std::move(what)),
        diagnosis_(std::move(diagnosis)),
        timed_out_(std::move(timed_out)),
        stall_warning_(stall_warning) {}

  void wait(std::chrono::milliseconds timeout) override {
    std::unique_lock<std::mutex> lock(mu_);
    const auto done = [&] { return done_; };
    auto left = timeout;
    if (stall_warning_.count() > 0 && stall_warning_ < timeout && !cv_.wait_for(lock, stall_warning_, done)) {
      // Every rank may have reached the collective (so the arrival protocol,
      // which notes its own warning, said nothing) and one stopped inside
      // it: the heartbeat can still name that one.
      if (note_.empty()) {
        const std::string more = diagnosis_ && *diagnosis_ ? (*diagnosis_)() : "";
        spdlog::warn("stall: {} has not completed after {:.0f} s on this rank; {}", what_,
                     std::chrono::duration<double>(stall_warning_).count(),
                     more.empty() ? "every rank reached it, so one is slow or stopped inside it" : more);
      }
      left = timeout - stall_warning_;
    }
    if (!cv_.wait_for(lock, left, done)) {
      *timed_out_ = true;
      std::string text = timeout_message(what_, timeout) + (note_.empty() ? "" : "; " + note_);
      const std::string more = diagnosis_ && *diagnosis_ ? (*diagnosis_)() : "";
      DISTGRU_FAIL(text + (more.empty() ? "" : "; " + more));
    }
    if (error_) std::rethrow_exception(error_);
  }

  bool completed() override {
    std::lock_guard<std::mutex> lock(mu_);
    return done_;
  }

  const std::string& what() const override { return what_; }

  std::optional<Span> span() const override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!done_) return std::nullopt;
    return span_;
  }

  void started() {
    std::lock_guard<std::mutex> lock(mu_);
    span_.begin = std::chrono::system_clock::now();
  }

  void note(const std::string& text) {
    std::lock_guard<std::mutex> lock(mu_);
    note_ = text;
  }

  void finish(std::exception_ptr error) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
      error_ = std::move(error);
      span_.end = std::chrono::system_clock::now();
    }
    cv_.notify_all();
  }

 private:
  const std::string what_;
  const std::shared_ptr<const WorkQueue::Diagnosis> diagnosis_;
  const std::shared_ptr<std::atomic<bool>> timed_out_;  // the queue's: some wait passed its deadline
  const std::chrono::milliseconds stall_warning_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;  // guarded by mu_
  std::exception_ptr error_;
  std::string note_;  // guarded by mu_
  Span span_;         // guarded by mu_
};

struct Entry {
  std::shared_ptr<QueuedWork> work;
  std::function<void(const WorkQueue::Note&)> run;
};

void run_entry(Entry& entry, std::mutex& call_mutex) {
  std::exception_ptr error;
  try {
    std::lock_guard<std::mutex> lock(call_mutex);
    auto* work = entry.work.get();
    work->started();
    entry.run([work](const std::string& text) { work->note(text); });
  } catch (...) {
    error = std::current_exception();
  }
  entry.run = nullptr;  // drops the tensors the operation held
  entry.work->finish(error);
}

}  // namespace

struct WorkQueue::State {
  std::mutex mu;
  std::condition_variable cv;
  // Guarded by mu.
  std::deque<Entry> queue;
  bool running = false;
  bool stop = false;
};

WorkQueue::WorkQueue(bool threaded, std::mutex& call_mutex)
    : threaded_(threaded), call_mutex_(call_mutex), state_(std::make_shared<State>()) {
  if (!threaded_) return;
  std::thread([state = state_, &call_mutex] {
    for (;;) {
      Entry entry;
      {
        std::unique_lock<std::mutex> lock(state->mu);
        state->cv.wait(lock, [&] { return state->stop || !state->queue.empty(); });
        if (state->queue.empty()) return;
        entry = std::move(state->queue.front());
        state->queue.pop_front();
        state->running = true;
      }
      run_entry(entry, call_mutex);
      {
        std::lock_guard<std::mutex> lock(state->mu);
        state->running = false;
      }
      state->cv.notify_all();
    }
  }).detach();  // joined by the destructor's handshake below, or abandoned
}

WorkQueue::~WorkQueue() { shutdown(); }

void WorkQueue::set_stall_warning(std::chrono::milliseconds after) { stall_warning_ = after; }

void WorkQueue::set_diagnosis(Diagnosis diagnosis) {
  diagnosis_ = std::make_shared<const Diagnosis>(std::move(diagnosis));
}

bool WorkQueue::shutdown() {
  if (!threaded_ || shut_down_) return abandoned_;
  shut_down_ = true;
  std::deque<Entry> cancelled;
  {
    std::unique_lock<std::mutex> lock(state_->mu);
    state_->stop = true;
    cancelled.swap(state_->queue);
    state_->cv.notify_all();
    // The thread exits once it is idle; wait for that, a little.
    const auto grace = *timed_out_ ? std::chrono::seconds(0) : kShutdownGrace;
    abandoned_ = !state_->cv.wait_for(lock, grace, [&] { return !state_->running; });
  }
  for (auto& entry : cancelled) {
    entry.work->finish(std::make_exception_ptr(
        Error(entry.work->what() + ": cancelled, the communicator was destroyed before it ran")));
  }
  return abandoned_;
}

WorkHandle WorkQueue::submit(std::string what, std::function<void(const Note&)> run) {
  Entry entry{std::make_shared<QueuedWork>(std::move(what), diagnosis_, timed_out_, stall_warning_), std::move(run)};
  auto work = entry.work;
  if (!threaded_) {
    run_entry(entry, call_mutex_);
    return work;
  }
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    DISTGRU_CHECK(!state_->stop, work->what() + ": the communicator is shutting down");
    state_->queue.push_back(std::move(entry));
  }
  state_->cv.notify_all();
  return work;
}

}  // namespace distgru::dist
