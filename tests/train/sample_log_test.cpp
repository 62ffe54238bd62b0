#include "train/sample_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/error.h"

namespace distgru::train {
namespace {

std::filesystem::path scratch(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("distgru_sample_log_" + name + "_" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}

TEST(SampleLog, OneHeaderAndOneLinePerStepAppendedPerStart) {
  const auto dir = scratch("lines");
  {
    SampleLog log(dir.string(), "run-a", 1, 3, 20);
    EXPECT_EQ(log.path(), (dir / "samples" / "run-a-rank1.txt").string());
    log.record(21, 0, {5, 9, 2});
    log.record(22, 1, {});
  }
  std::ifstream in(dir / "samples" / "run-a-rank1.txt");
  std::string header, one, two, extra;
  std::getline(in, header);
  std::getline(in, one);
  std::getline(in, two);
  EXPECT_EQ(header.rfind("# run run-a rank 1 of 3 resumed-at-step 20 started ", 0), 0u) << header;
  EXPECT_EQ(one, "21 0 5 9 2");
  EXPECT_EQ(two, "22 1");
  EXPECT_FALSE(std::getline(in, extra));
  std::filesystem::remove_all(dir);
}

TEST(SampleLog, AnUnwritableDirectoryIsNamed) {
  const auto dir = scratch("file");
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "samples") << "a file where the directory should be";
  try {
    SampleLog log(dir.string(), "run-b", 0, 1, 0);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "samples").string()), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace distgru::train
