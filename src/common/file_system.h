#pragma once
// Every durable write distgru makes (checkpoints, LATEST, best.pt, shards,
// vocab.txt, manifest.json, evaluation JSON, report pages) goes through
// write_file_atomic or commit_file below, after LevelDB's SetCurrentFile:
// write "<path>.tmp", fsync it, close it (a failing close is a lost
// write-back), rename it over <path>, fsync the directory. A crash at any
// point leaves either the old file or the whole new one under <path>; a
// failure at any point removes "<path>.tmp" and throws, leaving <path> as it
// was.
//
// The operations go through a FileSystem, as LevelDB's writes go through its
// Env: one real implementation (FileSystem::local()), and the seam where
// tests pass a FaultInjectingFileSystem (common/fault_injection.h) to make
// writes fail, fill the disk or pause half-way.
//
// Every failure throws distgru::Error naming the file and the OS reason.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace distgru {

// A file being written; closed (without a check) by the destructor if
// close() was not called.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual void append(std::string_view data) = 0;
  virtual void sync() = 0;   // fsync: the data is on stable storage
  virtual void close() = 0;  // checked close
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // The process's real file system (POSIX calls). Never destroyed.
  static FileSystem& local();

  // Creates or truncates `path` for writing.
  virtual std::unique_ptr<WritableFile> create(const std::string& path) = 0;
  // fsyncs a file another library wrote and closed (HDF5 shards).
  virtual void sync_file(const std::string& path) = 0;
  // fsyncs a directory, so a rename in it is durable. Filesystems that do not
  // support fsync on a directory (EINVAL) count as done.
  virtual void sync_dir(const std::string& dir) = 0;
  virtual void rename(const std::string& from, const std::string& to) = 0;
  // Best effort, never throws: used while unwinding from another failure.
  virtual void remove(const std::string& path) noexcept = 0;
  virtual std::string read(const std::string& path) = 0;
};

// Replaces `path` with `contents` as described above.
void write_file_atomic(const std::string& path, std::string_view contents,
                       FileSystem& fs = FileSystem::local());

// The second half of write_file_atomic for a file another library wrote and
// closed at `tmp_path` (HDF5): fsync, rename over `path`, fsync the
// directory. On failure `tmp_path` is removed.
void commit_file(const std::string& tmp_path, const std::string& path,
                 FileSystem& fs = FileSystem::local());

// The whole file (binary).
std::string read_file(const std::string& path, FileSystem& fs = FileSystem::local());

// Size in bytes; throws when the file is missing.
int64_t file_size(const std::string& path);

}  // namespace distgru
