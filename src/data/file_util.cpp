#include "data/file_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "common/error.h"

namespace distgru::data {
namespace fs = std::filesystem;

namespace {

std::string os_error() { return std::strerror(errno); }

// Owns a POSIX file descriptor; closes it on every path out.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now so that a failing close (lost write-back) is reported.
  void close(const std::string& path) {
    int fd = fd_;
    fd_ = -1;
    DISTGRU_CHECK(::close(fd) == 0, path + ": close failed: " + os_error());
  }

 private:
  int fd_;
};

void fsync_path(const std::string& path, bool directory) {
  Fd fd(::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY));
  DISTGRU_CHECK(fd.get() >= 0, path + ": cannot open for fsync: " + os_error());
  DISTGRU_CHECK(::fsync(fd.get()) == 0, path + ": fsync failed: " + os_error());
  fd.close(path);
}

std::string parent_dir(const std::string& path) {
  fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

}  // namespace

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  DISTGRU_CHECK(in.is_open(), path + ": cannot open: " + os_error());
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  DISTGRU_CHECK(!in.bad(), path + ": read failed: " + os_error());
  return content;
}

void write_file_atomic(const std::string& path, std::string_view content) {
  const std::string tmp = path + ".tmp";
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644));
    DISTGRU_CHECK(fd.get() >= 0, tmp + ": cannot create: " + os_error());
    size_t done = 0;
    while (done < content.size()) {
      ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
      if (n < 0 && errno == EINTR) continue;
      DISTGRU_CHECK(n > 0, tmp + ": write failed: " + os_error());
      done += static_cast<size_t>(n);
    }
    DISTGRU_CHECK(::fsync(fd.get()) == 0, tmp + ": fsync failed: " + os_error());
    fd.close(tmp);
  }
  DISTGRU_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0,
                path + ": cannot rename " + tmp + " into place: " + os_error());
  fsync_path(parent_dir(path), /*directory=*/true);
}

void commit_file(const std::string& tmp_path, const std::string& path) {
  fsync_path(tmp_path, /*directory=*/false);
  DISTGRU_CHECK(std::rename(tmp_path.c_str(), path.c_str()) == 0,
                path + ": cannot rename " + tmp_path + " into place: " + os_error());
  fsync_path(parent_dir(path), /*directory=*/true);
}

int64_t file_size(const std::string& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  DISTGRU_CHECK(!ec, path + ": " + ec.message());
  return static_cast<int64_t>(size);
}

}  // namespace distgru::data
