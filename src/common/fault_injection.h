#pragma once
// Test seam of file_system.h, after LevelDB's FaultInjectionTestEnv: a
// FileSystem that passes every call to another one, except the faults it was
// told to inject. Unit tests pass one to whatever writes; production code
// only reaches it through file_system_from_test_environment().

#include <chrono>
#include <string>

#include "common/file_system.h"

namespace distgru {

class FaultInjectingFileSystem final : public FileSystem {
 public:
  explicit FaultInjectingFileSystem(FileSystem& base = FileSystem::local()) : base_(base) {}

  // Each fault applies to files whose path contains `path_part`.
  // Writing fails with `error` (an errno value: ENOSPC for a full disk) once
  // `after_bytes` bytes of the file are written.
  void fail_writes(std::string path_part, int error, size_t after_bytes = 0);
  // Writing stops half-way for `pause` (a test kills the writer meanwhile).
  void pause_writes(std::string path_part, std::chrono::duration<double> pause);
  // fsync or rename of the file fails with `error`.
  void fail_syncs(std::string path_part, int error);
  void fail_renames(std::string path_part, int error);

  std::unique_ptr<WritableFile> create(const std::string& path) override;
  void sync_file(const std::string& path) override;
  void sync_dir(const std::string& dir) override { base_.sync_dir(dir); }
  void rename(const std::string& from, const std::string& to) override;
  void remove(const std::string& path) noexcept override { base_.remove(path); }
  std::string read(const std::string& path) override { return base_.read(path); }

  struct Faults {
    std::string write_part, pause_part, sync_part, rename_part;
    int write_error = 0, sync_error = 0, rename_error = 0;
    size_t write_after = 0;
    std::chrono::duration<double> pause{0};
  };

 private:
  FileSystem& base_;
  Faults faults_;
};

// For the end-to-end tests, which drive the executables and cannot pass an
// object: with DISTGRU_TEST_PAUSE_IN_WRITE="<part of a file name>:<seconds>"
// in the environment, a FaultInjectingFileSystem that pauses half-way through
// writing any file whose path contains the part; otherwise
// FileSystem::local(). Reads the variable once, on the first call; an
// executable that supports it calls this at start and passes the result on.
FileSystem& file_system_from_test_environment();

}  // namespace distgru
