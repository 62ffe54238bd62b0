// The one atomic write: whole new file or the old one, never a .tmp left
// behind, whatever fails (faults injected through FaultInjectingFileSystem).
#include "common/file_system.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <chrono>
#include <filesystem>
#include <thread>

#include "common/error.h"
#include "common/fault_injection.h"

namespace distgru {
namespace {

namespace fs = std::filesystem;

class FileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("distgru_fs_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "ckpt.pt").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `write`, which must throw naming the file and `reason`; then the old
  // contents are still in place and no .tmp is left.
  template <typename Write>
  void expect_failure_keeps_old_file(Write write, const std::string& reason) {
    write_file_atomic(path_, "old contents");
    try {
      write();
      FAIL() << "the write should have failed";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path_), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
    }
    EXPECT_EQ(read_file(path_), "old contents");
    EXPECT_FALSE(fs::exists(path_ + ".tmp"));
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(FileSystemTest, WritesAndReplacesWholeFiles) {
  write_file_atomic(path_, "first");
  EXPECT_EQ(read_file(path_), "first");
  write_file_atomic(path_, std::string(1 << 20, 'x'));
  EXPECT_EQ(read_file(path_), std::string(1 << 20, 'x'));
  EXPECT_FALSE(fs::exists(path_ + ".tmp"));
  EXPECT_EQ(file_size(path_), 1 << 20);
}

TEST_F(FileSystemTest, FullDiskRemovesTheTmpAndKeepsTheOldFile) {
  FaultInjectingFileSystem faulty;
  faulty.fail_writes("ckpt", ENOSPC, 1000);
  expect_failure_keeps_old_file([&] { write_file_atomic(path_, std::string(5000, 'n'), faulty); },
                                std::strerror(ENOSPC));
}

TEST_F(FileSystemTest, FailedFsyncRemovesTheTmpAndKeepsTheOldFile) {
  FaultInjectingFileSystem faulty;
  faulty.fail_syncs("ckpt", EIO);
  expect_failure_keeps_old_file([&] { write_file_atomic(path_, "new", faulty); }, "fsync failed");
}

TEST_F(FileSystemTest, FailedRenameRemovesTheTmpAndKeepsTheOldFile) {
  FaultInjectingFileSystem faulty;
  faulty.fail_renames("ckpt", EXDEV);
  expect_failure_keeps_old_file([&] { write_file_atomic(path_, "new", faulty); }, "rename failed");
}

TEST_F(FileSystemTest, CommitFileRemovesAForeignTmpWhenItCannotBeSynced) {
  // As an HDF5 shard: another library wrote and closed the .tmp.
  write_file_atomic(path_ + ".tmp", "written by HDF5");
  FaultInjectingFileSystem faulty;
  faulty.fail_syncs("ckpt", EIO);
  expect_failure_keeps_old_file([&] { commit_file(path_ + ".tmp", path_, faulty); }, "fsync failed");
  write_file_atomic(path_ + ".tmp", "written by HDF5");
  commit_file(path_ + ".tmp", path_);
  EXPECT_EQ(read_file(path_), "written by HDF5");
  EXPECT_FALSE(fs::exists(path_ + ".tmp"));
}

TEST_F(FileSystemTest, FaultsApplyOnlyToMatchingFiles) {
  FaultInjectingFileSystem faulty;
  faulty.fail_writes("ckpt", ENOSPC);
  const auto other = (dir_ / "LATEST").string();
  write_file_atomic(other, "ckpt-1.pt\n", faulty);
  EXPECT_EQ(read_file(other), "ckpt-1.pt\n");
}

TEST_F(FileSystemTest, APausedWriteShowsOnlyTheTmpUntilItEnds) {
  FaultInjectingFileSystem faulty;
  faulty.pause_writes("ckpt", std::chrono::milliseconds(600));
  std::thread writer([&] { write_file_atomic(path_, std::string(10000, 'p'), faulty); });
  // Half-way: the .tmp holds half the bytes and the final name does not exist.
  for (int i = 0; i < 100 && !fs::exists(path_ + ".tmp"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(fs::exists(path_ + ".tmp"));
  EXPECT_EQ(fs::file_size(path_ + ".tmp"), 5000u);
  EXPECT_FALSE(fs::exists(path_));
  writer.join();
  EXPECT_EQ(read_file(path_), std::string(10000, 'p'));
  EXPECT_FALSE(fs::exists(path_ + ".tmp"));
}

TEST_F(FileSystemTest, ReadingAMissingFileNamesIt) {
  try {
    read_file(path_);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path_ + ": cannot open: No such file"), std::string::npos) << e.what();
  }
}

TEST_F(FileSystemTest, NoTestFaultsWithoutTheEnvironmentVariable) {
  ASSERT_EQ(std::getenv("DISTGRU_TEST_PAUSE_IN_WRITE"), nullptr);
  EXPECT_EQ(&file_system_from_test_environment(), &FileSystem::local());
}

}  // namespace
}  // namespace distgru
