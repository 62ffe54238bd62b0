#include "train/sample_log.h"

#include <chrono>
#include <filesystem>

#include "common/error.h"

namespace distgru::train {

SampleLog::SampleLog(const std::string& checkpoint_dir, const std::string& run_id, int rank, int world_size,
                     int64_t resumed_at_step) {
  const auto dir = std::filesystem::path(checkpoint_dir) / "samples";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  DISTGRU_CHECK(!ec, "--sample-log: cannot create " + dir.string() + ": " + ec.message());
  path_ = (dir / (run_id + "-rank" + std::to_string(rank) + ".txt")).string();
  out_.open(path_, std::ios::out | std::ios::app);
  DISTGRU_CHECK(out_.good(), "--sample-log: cannot open " + path_ + " for writing");
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  out_ << "# run " << run_id << " rank " << rank << " of " << world_size << " resumed-at-step " << resumed_at_step
       << " started " << std::fixed << now << std::defaultfloat << "\n";
  out_.flush();
  DISTGRU_CHECK(out_.good(), "--sample-log: cannot write " + path_);
}

void SampleLog::record(int64_t step, int64_t epoch, const std::vector<int64_t>& rows) {
  out_ << step << ' ' << epoch;
  for (const auto row : rows) out_ << ' ' << row;
  out_ << '\n';
  out_.flush();
  DISTGRU_CHECK(out_.good(), "--sample-log: cannot write " + path_ + " (disk full?)");
}

}  // namespace distgru::train
