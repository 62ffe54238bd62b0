// One live run per directory: a second holder is refused and told who holds
// it; the lock goes with its holder.
#include "common/run_lock.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace distgru {
namespace {

namespace fs = std::filesystem;

TEST(RunLock, ASecondHolderIsRefusedAndToldWhoHoldsIt) {
  const auto dir = fs::temp_directory_path() / ("distgru_lock_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string held_by;
  {
    auto first = RunLock::acquire(dir.string(), "host a, pid 1, run r1", &held_by);
    ASSERT_TRUE(first.has_value());
    // flock locks open file descriptions: a second open in this process conflicts too.
    auto second = RunLock::acquire(dir.string(), "host b, pid 2, run r2", &held_by);
    EXPECT_FALSE(second.has_value());
    EXPECT_EQ(held_by, "host a, pid 1, run r1");
  }
  // Released with its holder: the next run takes the directory over.
  auto third = RunLock::acquire(dir.string(), "host c, pid 3, run r3", &held_by);
  ASSERT_TRUE(third.has_value());
  std::ifstream in(third->path());
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "host c, pid 3, run r3");
  fs::remove_all(dir);
}

TEST(RunLock, RunIdsAndHolderLines) {
  const auto a = new_run_id(), b = new_run_id();
  EXPECT_EQ(a.size(), 16u);
  EXPECT_NE(a, b);
  const auto line = describe_this_process(a);
  EXPECT_NE(line.find("pid " + std::to_string(::getpid())), std::string::npos) << line;
  EXPECT_NE(line.find("run " + a), std::string::npos) << line;
}

}  // namespace
}  // namespace distgru
