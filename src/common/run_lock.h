#pragma once
// One live run per directory: an exclusive flock(2) on <dir>/run.lock, held
// for as long as the run lives and released by the kernel when its process
// ends (even by kill -9), so a requeued job takes the directory over at once.
// flock works on local disks and on NFS (Linux emulates it with byte-range
// locks there). The file names its holder (host, pid, run id, start time) so
// a refused run can say who has the directory.

#include <optional>
#include <string>

namespace distgru {

class RunLock {
 public:
  // Takes the lock, creating the file, and writes `holder` into it. Returns
  // nothing, holding no lock, when another process holds it: then `*held_by`
  // is the holder's line.
  static std::optional<RunLock> acquire(const std::string& dir, const std::string& holder, std::string* held_by);

  RunLock(RunLock&& other) noexcept;
  RunLock& operator=(RunLock&& other) noexcept;
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
  ~RunLock();  // releases the lock (the file stays)

  const std::string& path() const { return path_; }

 private:
  RunLock(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

  std::string path_;
  int fd_ = -1;
};

// "host node1, pid 4242, run 3f9c2e1a8b7d6054, started 2026-11-30 12:00:00 UTC"
std::string describe_this_process(const std::string& run_id);

// 16 random hex digits naming one run of a process (a requeued job is a new run).
std::string new_run_id();

}  // namespace distgru
