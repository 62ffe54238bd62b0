#include "common/fault_injection.h"

#include <cstdlib>
#include <cstring>
#include <thread>

#include "common/error.h"

namespace distgru {
namespace {

bool matches(const std::string& path, const std::string& part) {
  return !part.empty() && path.find(part) != std::string::npos;
}

[[noreturn]] void fail(const std::string& what, const std::string& path, int error) {
  DISTGRU_FAIL(path + ": " + what + " failed: " + std::strerror(error) + " (injected)");
}

// Writes through the base file until a fault applies.
class FaultyWritableFile final : public WritableFile {
 public:
  FaultyWritableFile(std::unique_ptr<WritableFile> base, std::string path,
                     const FaultInjectingFileSystem::Faults& faults)
      : base_(std::move(base)), path_(std::move(path)), faults_(faults) {}

  void append(std::string_view data) override {
    if (matches(path_, faults_.pause_part) && data.size() > 1) {
      const size_t half = data.size() / 2;
      write(data.substr(0, half));
      std::this_thread::sleep_for(faults_.pause);
      data.remove_prefix(half);
    }
    write(data);
  }
  void sync() override {
    if (matches(path_, faults_.sync_part)) fail("fsync", path_, faults_.sync_error);
    base_->sync();
  }
  void close() override { base_->close(); }

 private:
  void write(std::string_view data) {
    if (matches(path_, faults_.write_part)) {
      const size_t room = faults_.write_after > written_ ? faults_.write_after - written_ : 0;
      if (data.size() > room) {
        base_->append(data.substr(0, room));
        written_ += room;
        fail("write", path_, faults_.write_error);
      }
    }
    base_->append(data);
    written_ += data.size();
  }

  std::unique_ptr<WritableFile> base_;
  std::string path_;
  const FaultInjectingFileSystem::Faults faults_;  // as they were when the file was created
  size_t written_ = 0;
};

}  // namespace

void FaultInjectingFileSystem::fail_writes(std::string path_part, int error, size_t after_bytes) {
  faults_.write_part = std::move(path_part);
  faults_.write_error = error;
  faults_.write_after = after_bytes;
}

void FaultInjectingFileSystem::pause_writes(std::string path_part, std::chrono::duration<double> pause) {
  faults_.pause_part = std::move(path_part);
  faults_.pause = pause;
}

void FaultInjectingFileSystem::fail_syncs(std::string path_part, int error) {
  faults_.sync_part = std::move(path_part);
  faults_.sync_error = error;
}

void FaultInjectingFileSystem::fail_renames(std::string path_part, int error) {
  faults_.rename_part = std::move(path_part);
  faults_.rename_error = error;
}

std::unique_ptr<WritableFile> FaultInjectingFileSystem::create(const std::string& path) {
  return std::make_unique<FaultyWritableFile>(base_.create(path), path, faults_);
}

void FaultInjectingFileSystem::sync_file(const std::string& path) {
  if (matches(path, faults_.sync_part)) fail("fsync", path, faults_.sync_error);
  base_.sync_file(path);
}

void FaultInjectingFileSystem::rename(const std::string& from, const std::string& to) {
  if (matches(to, faults_.rename_part)) fail("rename", to, faults_.rename_error);
  base_.rename(from, to);
}

FileSystem& file_system_from_test_environment() {
  static FileSystem* chosen = [] () -> FileSystem* {
    const char* spec = std::getenv("DISTGRU_TEST_PAUSE_IN_WRITE");
    if (spec == nullptr) return &FileSystem::local();
    const std::string text(spec);
    const auto colon = text.rfind(':');
    DISTGRU_CHECK(colon != std::string::npos && colon > 0,
                  "DISTGRU_TEST_PAUSE_IN_WRITE must be '<part of a file name>:<seconds>', not '" + text + "'");
    auto* faulty = new FaultInjectingFileSystem();  // lives as long as the process
    faulty->pause_writes(text.substr(0, colon), std::chrono::duration<double>(std::atof(text.c_str() + colon + 1)));
    return faulty;
  }();
  return *chosen;
}

}  // namespace distgru
