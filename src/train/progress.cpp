#include "train/progress.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace distgru::train {
namespace {

// A live line is cheap, but redrawing faster than the eye reads is noise.
constexpr double kLiveEvalInterval = 0.25;
// Plain evaluation lines: none for a short evaluation, a heartbeat for a long one.
constexpr double kPlainEvalInterval = 10.0;
constexpr size_t kDefaultWidth = 100;

bool is_terminal_path(const std::string& path) {
  return path.rfind("/dev/pts/", 0) == 0 || path.rfind("/dev/tty", 0) == 0;
}

// Under mpirun a rank's stderr is a pipe that mpirun copies, byte for byte, to
// its own stderr; what the person sees is mpirun's stderr.
bool mpirun_stderr_is_terminal() {
  if (std::getenv("OMPI_COMM_WORLD_RANK") == nullptr) return false;
  char target[256] = {};
  const auto link = fmt::format("/proc/{}/fd/2", getppid());
  const ssize_t n = readlink(link.c_str(), target, sizeof(target) - 1);
  return n > 0 && is_terminal_path(std::string(target, static_cast<size_t>(n)));
}

size_t terminal_width() {
  winsize ws{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10) return ws.ws_col;
  if (const char* columns = std::getenv("COLUMNS")) {
    const long c = std::strtol(columns, nullptr, 10);
    if (c > 10) return static_cast<size_t>(c);
  }
  return kDefaultWidth;
}

}  // namespace

ProgressStyle detect_progress_style() {
  if (const char* forced = std::getenv("DISTGRU_PROGRESS")) {
    if (std::string_view(forced) == "live") return ProgressStyle::kLive;
    if (std::string_view(forced) == "plain") return ProgressStyle::kPlain;
  }
  return isatty(STDERR_FILENO) || mpirun_stderr_is_terminal() ? ProgressStyle::kLive
                                                              : ProgressStyle::kPlain;
}

StatusLine::StatusLine(ProgressStyle style) : live_(style == ProgressStyle::kLive) {}

StatusLine::~StatusLine() { end(); }

void StatusLine::show(const std::string& text) {
  if (!live_) {
    spdlog::info("{}", text);
    return;
  }
  // Other ranks log warnings only; the line is rank 0's.
  if (!spdlog::should_log(spdlog::level::info)) return;
  const size_t width = terminal_width() - 1;  // the last column would wrap
  const std::string shown = text.size() > width ? text.substr(0, width) : text;
  // \r to the line's start, ESC[K clears what a longer previous line left.
  std::fprintf(stderr, "\r\033[K%s", shown.c_str());
  std::fflush(stderr);
  open_ = true;
}

void StatusLine::end() {
  if (!open_) return;
  std::fputc('\n', stderr);
  std::fflush(stderr);
  open_ = false;
}

void StatusLine::clear() {
  if (!open_) return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  open_ = false;
}

Progress::Progress(int64_t total_steps, int64_t total_epochs, int64_t global_batch,
                   int64_t start_step, ProgressStyle style)
    : total_steps_(total_steps),
      total_epochs_(total_epochs),
      global_batch_(global_batch),
      last_step_(start_step),
      status_(style) {}

Progress::Line Progress::update(int64_t step, int64_t epoch, double loss, double window_seconds) {
  const int64_t steps = step - last_step_;
  last_step_ = step;
  trained_seconds_ += window_seconds;
  trained_steps_ += steps;
  Line line;
  line.samples_per_second = window_seconds > 0 ? steps * global_batch_ / window_seconds : 0.0;
  const double per_step = trained_steps_ > 0 ? trained_seconds_ / trained_steps_ : 0.0;
  line.text = fmt::format("epoch {}/{} step {}/{} loss {:.4f} {:.1f} samples/s ETA {}", epoch,
                          total_epochs_, step, total_steps_, loss, line.samples_per_second,
                          format_duration(per_step * static_cast<double>(total_steps_ - step)));
  return line;
}

ScoringProgress::ScoringProgress(int64_t total, ProgressStyle style)
    : total_(total), status_(style) {}

void ScoringProgress::advance(int64_t done) {
  const auto now = Clock::now();
  const double since_shown = std::chrono::duration<double>(now - last_shown_).count();
  if (since_shown < (status_.live() ? kLiveEvalInterval : kPlainEvalInterval) || total_ <= 0)
    return;
  last_shown_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double left =
      done > 0 ? elapsed * static_cast<double>(total_ - done) / static_cast<double>(done) : 0.0;
  status_.show(fmt::format("evaluating {:.0f}% ({}/{} reviews) ETA {}",
                           100.0 * static_cast<double>(done) / static_cast<double>(total_), done,
                           total_, format_duration(left)));
}

void ScoringProgress::finish() { status_.clear(); }

std::string format_duration(double seconds) {
  auto s = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  const int64_t h = s / 3600, m = (s % 3600) / 60;
  s %= 60;
  if (h > 0) return fmt::format("{}h{:02}m{:02}s", h, m, s);
  if (m > 0) return fmt::format("{}m{:02}s", m, s);
  return fmt::format("{}s", s);
}

}  // namespace distgru::train
