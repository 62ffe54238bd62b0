#include "train/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "common/error.h"

namespace fs = std::filesystem;

namespace distgru::train {
namespace {

// RAII file descriptor so every early throw closes it.
class Fd {
 public:
  Fd(const std::string& path, int flags, mode_t mode = 0644) : fd_(::open(path.c_str(), flags, mode)) {
    DISTGRU_CHECK(fd_ >= 0, path + ": open failed: " + std::strerror(errno));
  }
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

void write_all(int fd, const char* data, size_t n, const std::string& path) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    DISTGRU_CHECK(w > 0, path + ": write failed: " + std::strerror(errno));
    data += w;
    n -= static_cast<size_t>(w);
  }
}

void fsync_dir(const std::string& dir) {
  Fd d(dir.empty() ? "." : dir, O_RDONLY | O_DIRECTORY);
  ::fsync(d.get());  // best effort: some filesystems refuse fsync on directories
}

}  // namespace

double test_pause_in_write_seconds(const std::string& path) {
  const char* v = std::getenv("DISTGRU_TEST_PAUSE_IN_WRITE");
  if (v == nullptr) return 0.0;
  const std::string spec(v);
  const auto colon = spec.rfind(':');
  if (colon == std::string::npos || path.find(spec.substr(0, colon)) == std::string::npos) return 0.0;
  return std::atof(spec.c_str() + colon + 1);
}

void write_file_atomic(const std::string& path, const std::string& contents) {
  const std::string tmp = path + ".tmp";
  {
    Fd fd(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC);
    size_t first = contents.size();
    const double pause = test_pause_in_write_seconds(path);
    const bool hooked = pause > 0;
    if (hooked) first = contents.size() / 2;
    write_all(fd.get(), contents.data(), first, tmp);
    if (hooked) std::this_thread::sleep_for(std::chrono::duration<double>(pause));
    write_all(fd.get(), contents.data() + first, contents.size() - first, tmp);
    DISTGRU_CHECK(::fsync(fd.get()) == 0, tmp + ": fsync failed: " + std::strerror(errno));
  }
  DISTGRU_CHECK(::rename(tmp.c_str(), path.c_str()) == 0,
                "rename " + tmp + " -> " + path + " failed: " + std::strerror(errno));
  fsync_dir(fs::path(path).parent_path().string());
}

std::string read_file(const std::string& path) {
  Fd fd(path, O_RDONLY | O_CLOEXEC);
  std::string data;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t r = ::read(fd.get(), buffer, sizeof(buffer));
    if (r < 0 && errno == EINTR) continue;
    DISTGRU_CHECK(r >= 0, path + ": read failed: " + std::strerror(errno));
    if (r == 0) break;
    data.append(buffer, static_cast<size_t>(r));
  }
  return data;
}

}  // namespace distgru::train
