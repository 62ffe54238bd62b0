// The queue that makes a communicator's blocking calls on its own thread:
// order, overlap with the caller, deadlines, errors and shutdown, without MPI.
#include "distributed/work_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "common/error.h"

namespace distgru::dist {
namespace {

using namespace std::chrono_literals;

std::mutex& test_mutex() {
  static std::mutex m;
  return m;
}

TEST(WorkQueue, RunsInQueueOrderWhileTheCallerGoesOn) {
  WorkQueue queue(/*threaded=*/true, test_mutex());
  std::vector<int> order;
  std::atomic<bool> release{false};
  auto first = queue.submit("first", [&](const WorkQueue::Note&) {
    while (!release) std::this_thread::sleep_for(1ms);
    order.push_back(1);
  });
  auto second = queue.submit("second", [&](const WorkQueue::Note&) { order.push_back(2); });
  // The caller is not blocked by the running operation.
  EXPECT_FALSE(first->completed());
  EXPECT_FALSE(second->completed());
  release = true;
  second->wait(5s);
  EXPECT_TRUE(first->completed());
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  first->wait(0ms);  // already done: returns at once
}

TEST(WorkQueue, AWaitThatRunsOutNamesTheOperationAndTheDeadline) {
  WorkQueue queue(true, test_mutex());
  std::atomic<bool> release{false};
  auto work = queue.submit("allreduce (sum) of 7 float (collective #3)", [&](const WorkQueue::Note&) {
    while (!release) std::this_thread::sleep_for(1ms);
  });
  const auto start = std::chrono::steady_clock::now();
  try {
    work->wait(200ms);
    FAIL() << "the wait should have run out";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("allreduce (sum) of 7 float (collective #3): not completed within 0.2 s"),
              std::string::npos)
        << e.what();
  }
  EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms);
  release = true;
  work->wait(5s);  // it finishes later after all
}

TEST(WorkQueue, AWaitThatRunsOutAddsTheDiagnosisOfThatMoment) {
  WorkQueue queue(true, test_mutex());
  std::atomic<int> asked{0};
  queue.set_diagnosis([&] {
    ++asked;
    return std::string("no heartbeat from rank 1 (node2) for 9.8 s");
  });
  std::atomic<bool> release{false};
  auto work = queue.submit("allgather", [&](const WorkQueue::Note&) {
    while (!release) std::this_thread::sleep_for(1ms);
  });
  try {
    work->wait(50ms);
    FAIL() << "the wait should have run out";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not completed within 0.05 s (--collective-timeout): another rank died, "
                                         "stalled, or is in a different collective; no heartbeat from rank 1 "
                                         "(node2) for 9.8 s"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(asked, 1);  // asked at the deadline, not before
  release = true;
  work->wait(5s);
  EXPECT_EQ(asked, 1);  // nor after a wait that succeeds
}

// The default logger's lines while alive, then the logger as it was.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>("captured", std::make_shared<spdlog::sinks::ostream_sink_mt>(text_));
    logger->set_pattern("%v");
    spdlog::set_default_logger(logger);
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::string text() const { return text_.str(); }

 private:
  std::ostringstream text_;
  std::shared_ptr<spdlog::logger> previous_;
};

// Every rank reached the collective and one stopped inside it: the arrival
// protocol saw everyone arrive and said nothing, so the waiter warns, with
// the heartbeat's diagnosis, once the stall warning's time has passed; not
// when the operation already noted its own warning.
TEST(WorkQueue, AWaitPastTheStallWarningWarnsOnceWithTheDiagnosis) {
  WorkQueue queue(true, test_mutex());
  queue.set_diagnosis([] { return std::string("no heartbeat from rank 1 (node2) for 2.1 s"); });
  queue.set_stall_warning(50ms);
  for (const bool noted : {false, true}) {
    CapturedLog log;
    std::atomic<bool> release{false};
    auto work = queue.submit("allreduce (collective #4)", [&](const WorkQueue::Note& note) {
      if (noted) note("rank 1 (node2) has not reached allreduce (collective #4) after 0 s");
      while (!release) std::this_thread::sleep_for(1ms);
    });
    std::thread later([&] {
      std::this_thread::sleep_for(300ms);
      release = true;
    });
    work->wait(5s);
    later.join();
    const std::string warned =
        "stall: allreduce (collective #4) has not completed after 0 s on this rank; no heartbeat from rank 1 (node2)";
    if (noted) {
      EXPECT_EQ(log.text().find("stall:"), std::string::npos) << log.text();
    } else {
      EXPECT_NE(log.text().find(warned), std::string::npos) << log.text();
      EXPECT_EQ(log.text().find("stall:"), log.text().rfind("stall:")) << "once: " << log.text();
    }
  }
}

TEST(WorkQueue, AfterADeadlineShutdownAbandonsAStuckOperationAtOnce) {
  std::atomic<bool> release{false};
  WorkHandle stuck;
  {
    WorkQueue queue(true, test_mutex());
    stuck = queue.submit("stuck", [&](const WorkQueue::Note&) {
      while (!release) std::this_thread::sleep_for(1ms);
    });
    EXPECT_THROW(stuck->wait(20ms), Error);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(queue.shutdown());
    // Without the deadline it waits its 2 s grace (the test below).
    EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);
  }
  release = true;
  stuck->wait(5s);
}

TEST(WorkQueue, AFailureReachesTheWaiter) {
  WorkQueue queue(true, test_mutex());
  auto work = queue.submit("broadcast", [](const WorkQueue::Note&) { DISTGRU_FAIL("MPI_Bcast failed"); });
  EXPECT_THROW(work->wait(5s), Error);
  auto next = queue.submit("next", [](const WorkQueue::Note&) {});
  next->wait(5s);  // the queue carries on
}

TEST(WorkQueue, OperationsHoldTheCallMutex) {
  WorkQueue queue(true, test_mutex());
  std::unique_lock<std::mutex> held(test_mutex());
  std::atomic<bool> ran{false};
  auto work = queue.submit("needs the lock", [&](const WorkQueue::Note&) { ran = true; });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(ran);  // waits for the lock another thread holds
  held.unlock();
  work->wait(5s);
  EXPECT_TRUE(ran);
}

TEST(WorkQueue, ShutdownCancelsWhatIsQueuedAndLeavesAStuckOperation) {
  std::atomic<bool> release{false};
  WorkHandle stuck, queued;
  {
    WorkQueue queue(true, test_mutex());
    stuck = queue.submit("stuck", [&](const WorkQueue::Note&) {
      while (!release) std::this_thread::sleep_for(1ms);
    });
    queued = queue.submit("queued", [](const WorkQueue::Note&) {});
    std::this_thread::sleep_for(20ms);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(queue.shutdown());  // abandoned after the grace
    EXPECT_GE(std::chrono::steady_clock::now() - start, 1900ms);
  }
  try {
    queued->wait(1s);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("queued: cancelled"), std::string::npos) << e.what();
  }
  release = true;
  stuck->wait(5s);  // the detached thread still finishes it
}

TEST(WorkQueue, WithoutAThreadEachOperationRunsWhenSubmitted) {
  WorkQueue queue(/*threaded=*/false, test_mutex());
  bool ran = false;
  auto work = queue.submit("inline", [&](const WorkQueue::Note&) { ran = true; });
  EXPECT_TRUE(ran);
  EXPECT_TRUE(work->completed());
  EXPECT_FALSE(queue.shutdown());
}

}  // namespace
}  // namespace distgru::dist
