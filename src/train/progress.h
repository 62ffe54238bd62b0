#pragma once
// Progress for rank 0: epoch, step/total, loss, samples/s over the last
// window, and an ETA from the mean step time of this run so far. On a
// terminal it is one line rewritten in place; elsewhere (Slurm logs, CI,
// files) plain log lines, one per update.

#include <chrono>
#include <cstdint>
#include <string>

namespace distgru::train {

enum class ProgressStyle {
  kPlain,  // one log line per update
  kLive,   // one terminal line rewritten in place
};

// DISTGRU_PROGRESS=live|plain forces a style. Otherwise live when stderr is a
// terminal, or, under Open MPI's mpirun (which hands every rank a pipe for
// stderr), when the local mpirun's own stderr is one.
ProgressStyle detect_progress_style();

// The one updating line. Only a process that logs at info level (rank 0)
// writes anything. Not thread-safe.
class StatusLine {
 public:
  explicit StatusLine(ProgressStyle style);
  ~StatusLine();  // ends an open live line
  StatusLine(const StatusLine&) = delete;
  StatusLine& operator=(const StatusLine&) = delete;

  bool live() const { return live_; }
  // Live: rewrites the line (cut to the terminal's width). Plain: logs it.
  void show(const std::string& text);
  // Ends an open live line so the next log message starts on a line of its
  // own, keeping the last state visible. No-op in plain style.
  void end();
  // Erases an open live line instead: for transient progress whose result
  // is logged next. No-op in plain style.
  void clear();

 private:
  bool live_;  // constant after construction
  bool open_ = false;
};

class Progress {
 public:
  // total_epochs: of the whole run, for "epoch e/E".
  Progress(int64_t total_steps, int64_t total_epochs, int64_t global_batch, int64_t start_step,
           ProgressStyle style = detect_progress_style());

  struct Line {
    std::string text;
    double samples_per_second = 0.0;
  };
  // `epoch`: 1-based, the epoch `step` was taken in (the data cursor's: after
  // a resume with another batch it is not step / steps per epoch).
  // `window_seconds`: training time since the previous update.
  Line update(int64_t step, int64_t epoch, double loss, double window_seconds);
  // The line on the terminal (live) or in the log (plain).
  void show(const Line& line) { status_.show(line.text); }
  // Call before anything else logs (validation, checkpoints, the end).
  void end_line() { status_.end(); }

 private:
  // Constant after construction.
  int64_t total_steps_;
  int64_t total_epochs_;
  int64_t global_batch_;
  // Updated by update().
  int64_t last_step_;
  double trained_seconds_ = 0.0;
  int64_t trained_steps_ = 0;
  StatusLine status_;
};

// Progress of scoring a split: "evaluating 40% (2000/5000 reviews) ETA 3s".
// Live: refreshed a few times a second. Plain: a line only every
// kPlainEvalInterval, so short evaluations add nothing to logs.
class ScoringProgress {
 public:
  ScoringProgress(int64_t total, ProgressStyle style = detect_progress_style());
  void advance(int64_t done);  // `done` of `total` scored so far
  void finish();               // erases the live line; the caller logs the result

 private:
  using Clock = std::chrono::steady_clock;
  int64_t total_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_shown_ = start_;
  StatusLine status_;
};

// Training time with the pauses for validation and checkpoints left out: of
// the window since the last progress line (its samples/s) and of the run.
class TrainingClock {
 public:
  using Clock = std::chrono::steady_clock;

  double window_seconds() const { return seconds(window_start_, Clock::now()); }
  void new_window() { window_start_ = Clock::now(); }
  // Time from pause() to resume() counts as neither.
  void pause() { paused_at_ = Clock::now(); }
  void resume() {
    const auto paused = Clock::now() - paused_at_;
    excluded_ += paused;
    window_start_ += paused;
  }
  double training_seconds() const { return seconds(start_, Clock::now()) - std::chrono::duration<double>(excluded_).count(); }

 private:
  static double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

  const Clock::time_point start_ = Clock::now();
  Clock::time_point window_start_ = start_;
  Clock::time_point paused_at_ = start_;
  Clock::duration excluded_{0};
};

// "1h02m03s", "4m05s", "12s".
std::string format_duration(double seconds);

}  // namespace distgru::train
