#include "common/file_system.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "common/error.h"

namespace distgru {
namespace {

namespace fs = std::filesystem;

std::string os_error() { return std::strerror(errno); }

// Owns a POSIX file descriptor; closes it on every path out.
class Fd {
 public:
  Fd(const std::string& path, int flags, mode_t mode = 0644)
      : fd_(::open(path.c_str(), flags | O_CLOEXEC, mode)) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now so that a failing close (lost write-back on NFS) is reported.
  void close(const std::string& path) {
    const int fd = fd_;
    fd_ = -1;
    DISTGRU_CHECK(::close(fd) == 0, path + ": close failed: " + os_error());
  }

 private:
  int fd_;
};

class PosixWritableFile final : public WritableFile {
 public:
  explicit PosixWritableFile(const std::string& path)
      : path_(path), fd_(path, O_WRONLY | O_CREAT | O_TRUNC) {
    DISTGRU_CHECK(fd_.get() >= 0, path + ": cannot create: " + os_error());
  }
  void append(std::string_view data) override {
    while (!data.empty()) {
      const ssize_t n = ::write(fd_.get(), data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      DISTGRU_CHECK(n > 0, path_ + ": write failed: " + os_error());
      data.remove_prefix(static_cast<size_t>(n));
    }
  }
  void sync() override { DISTGRU_CHECK(::fsync(fd_.get()) == 0, path_ + ": fsync failed: " + os_error()); }
  void close() override { fd_.close(path_); }

 private:
  std::string path_;
  Fd fd_;
};

void fsync_path(const std::string& path, bool directory) {
  Fd fd(path, directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  DISTGRU_CHECK(fd.get() >= 0, path + ": cannot open for fsync: " + os_error());
  if (::fsync(fd.get()) != 0) {
    // Some filesystems cannot fsync a directory; their renames are as
    // durable as they get.
    DISTGRU_CHECK(directory && errno == EINVAL, path + ": fsync failed: " + os_error());
  }
  fd.close(path);
}

class LocalFileSystem final : public FileSystem {
 public:
  std::unique_ptr<WritableFile> create(const std::string& path) override {
    return std::make_unique<PosixWritableFile>(path);
  }
  void sync_file(const std::string& path) override { fsync_path(path, /*directory=*/false); }
  void sync_dir(const std::string& dir) override { fsync_path(dir, /*directory=*/true); }
  void rename(const std::string& from, const std::string& to) override {
    DISTGRU_CHECK(std::rename(from.c_str(), to.c_str()) == 0,
                  to + ": cannot rename " + from + " into place: " + os_error());
  }
  void remove(const std::string& path) noexcept override {
    std::error_code ignored;
    fs::remove(path, ignored);
  }
  std::string read(const std::string& path) override {
    Fd fd(path, O_RDONLY);
    DISTGRU_CHECK(fd.get() >= 0, path + ": cannot open: " + os_error());
    std::string data;
    char buffer[1 << 16];
    for (;;) {
      const ssize_t r = ::read(fd.get(), buffer, sizeof(buffer));
      if (r < 0 && errno == EINTR) continue;
      DISTGRU_CHECK(r >= 0, path + ": read failed: " + os_error());
      if (r == 0) break;
      data.append(buffer, static_cast<size_t>(r));
    }
    return data;
  }
};

std::string parent_dir(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

// Renames tmp over path and makes the rename durable; removes tmp if either fails.
void publish(const std::string& tmp, const std::string& path, FileSystem& fs) {
  try {
    fs.rename(tmp, path);
  } catch (...) {
    fs.remove(tmp);
    throw;
  }
  // After the rename the new file is in place; a failing directory fsync
  // only means the rename may not survive a power cut, which is reported.
  fs.sync_dir(parent_dir(path));
}

}  // namespace

FileSystem& FileSystem::local() {
  static auto* local = new LocalFileSystem();  // never destroyed: usable from static destructors
  return *local;
}

void write_file_atomic(const std::string& path, std::string_view contents, FileSystem& fs) {
  const std::string tmp = path + ".tmp";
  try {
    auto file = fs.create(tmp);
    file->append(contents);
    file->sync();
    file->close();
  } catch (...) {
    fs.remove(tmp);
    throw;
  }
  publish(tmp, path, fs);
}

void commit_file(const std::string& tmp_path, const std::string& path, FileSystem& fs) {
  try {
    fs.sync_file(tmp_path);
  } catch (...) {
    fs.remove(tmp_path);
    throw;
  }
  publish(tmp_path, path, fs);
}

std::string read_file(const std::string& path, FileSystem& fs) { return fs.read(path); }

int64_t file_size(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  DISTGRU_CHECK(!ec, path + ": " + ec.message());
  return static_cast<int64_t>(size);
}

}  // namespace distgru
