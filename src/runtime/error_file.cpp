#include "runtime/error_file.h"

#include <nlohmann/json.hpp>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <iostream>

#include "common/file_system.h"

namespace distgru::runtime {

std::string error_dir() {
  const char* dir = std::getenv("DISTGRU_ERROR_DIR");
  return dir ? dir : "";
}

void record_fatal_error(int rank, int world_size, const std::string& host, const std::string& message) noexcept {
  const std::string dir = error_dir();
  if (dir.empty()) return;
  const std::string path = dir + "/rank-" + std::to_string(rank) + ".json";
  try {
    const auto now = std::chrono::system_clock::now();
    const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &utc);
    nlohmann::json record{
        {"rank", rank},
        {"world_size", world_size},
        {"host", host},
        {"pid", static_cast<int64_t>(::getpid())},
        {"time", stamp},
        {"unix_time", std::chrono::duration<double>(now.time_since_epoch()).count()},
        {"error", message},
    };
    // Replace on purpose: a launcher clears the directory before each attempt.
    write_file_atomic(path, record.dump() + "\n");
  } catch (const std::exception& e) {
    std::cerr << "warning: could not record the failure in " << path << ": " << e.what() << std::endl;
  }
}

}  // namespace distgru::runtime
