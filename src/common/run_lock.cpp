#include "common/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <random>

#include "common/error.h"

namespace distgru {

std::optional<RunLock> RunLock::acquire(const std::string& dir, const std::string& holder, std::string* held_by) {
  const std::string path = (std::filesystem::path(dir) / "run.lock").string();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  DISTGRU_CHECK(fd >= 0, path + ": cannot open: " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    std::string text(512, '\0');
    const ssize_t n = ::pread(fd, text.data(), text.size(), 0);
    ::close(fd);
    DISTGRU_CHECK(error == EWOULDBLOCK, path + ": cannot lock: " + std::strerror(error));
    text.resize(n > 0 ? static_cast<size_t>(n) : 0);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
    if (held_by) *held_by = text.empty() ? "another process" : text;
    return std::nullopt;
  }
  RunLock lock(path, fd);
  const std::string line = holder + "\n";
  DISTGRU_CHECK(::ftruncate(fd, 0) == 0 && ::pwrite(fd, line.data(), line.size(), 0) == static_cast<ssize_t>(line.size()),
                path + ": cannot write the holder: " + std::strerror(errno));
  return lock;
}

RunLock::RunLock(RunLock&& other) noexcept : path_(std::move(other.path_)), fd_(other.fd_) { other.fd_ = -1; }

RunLock& RunLock::operator=(RunLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

std::string describe_this_process(const std::string& run_id) {
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  const std::time_t now = std::time(nullptr);
  char when[64];
  std::strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
  return std::string("host ") + host + ", pid " + std::to_string(::getpid()) + ", run " + run_id + ", started " + when;
}

std::string new_run_id() {
  std::random_device device;
  const uint64_t id = (static_cast<uint64_t>(device()) << 32) ^ device();
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(id));
  return text;
}

}  // namespace distgru
