#include "runtime/error_file.h"

#include <execinfo.h>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>

#include "common/error.h"
#include "common/file_system.h"

namespace distgru::runtime {

std::string error_dir() {
  const char* dir = std::getenv("DISTGRU_ERROR_DIR");
  return dir ? dir : "";
}

namespace {
// Set once this process has written its error: a crash on the way out (an
// abort) must not replace it.
std::atomic<bool> error_recorded{false};

std::string error_path(const std::string& dir, int rank) { return dir + "/rank-" + std::to_string(rank) + ".json"; }

// The fields of a record that say who failed; both writers add when and what.
nlohmann::json who(int rank, int world_size, const std::string& host) {
  return {{"rank", rank}, {"world_size", world_size}, {"host", host}, {"pid", static_cast<int64_t>(::getpid())}};
}
}  // namespace

void record_fatal_error(int rank, int world_size, const std::string& host, const std::string& message) noexcept {
  const std::string dir = error_dir();
  if (dir.empty()) return;
  error_recorded = true;
  const std::string path = error_path(dir, rank);
  try {
    const auto now = std::chrono::system_clock::now();
    const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &utc);
    nlohmann::json record = who(rank, world_size, host);
    record["time"] = stamp;
    record["unix_time"] = std::chrono::duration<double>(now.time_since_epoch()).count();
    record["error"] = message;
    // Replace on purpose: a launcher clears the directory before each attempt.
    write_file_atomic(path, record.dump() + "\n");
  } catch (const std::exception& e) {
    std::cerr << "warning: could not record the failure in " << path << ": " << e.what() << std::endl;
  }
}

// ---- the crash report ---------------------------------------------------
// Everything the handler needs is formatted here, at install time, into
// fixed buffers: the handler itself may not allocate or lock.
namespace {

constexpr int kCrashSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
struct sigaction earlier_action[NSIG];
char crash_path[4096];       // <dir>/rank-<R>.json ("" without DISTGRU_ERROR_DIR)
char crash_tmp[4096];        // <dir>/.rank-<R>.json.crash, renamed onto crash_path
char crash_record_head[1024];  // {"rank":R,"world_size":N,"host":"H","pid":P,
char crash_line_head[512];     // [rank R/N on H] crashed:   (JSON-escaped once for the record)
char crash_line_head_json[768];
volatile sig_atomic_t crashing = 0;

// A tiny append-only buffer: the handler's only formatting.
struct Text {
  char data[2048];
  size_t size = 0;
  void add(const char* s) {
    while (*s && size + 1 < sizeof data) data[size++] = *s++;
  }
  void add_number(unsigned long long v, unsigned base, int min_digits) {
    char digits[64];
    int n = 0;
    do {
      digits[n++] = "0123456789abcdef"[v % base];
      v /= base;
    } while (v > 0);
    while (n < min_digits) digits[n++] = '0';
    while (n > 0 && size + 1 < sizeof data) data[size++] = digits[--n];
  }
  void add_unsigned(unsigned long long v, int min_digits = 1) { add_number(v, 10, min_digits); }
  void add_hex(uintptr_t v) {
    add("0x");
    add_number(v, 16, 1);
  }
};

const char* signal_text(int signal) {
  switch (signal) {
    case SIGSEGV: return "SIGSEGV (segmentation fault)";
    case SIGBUS: return "SIGBUS (bus error)";
    case SIGFPE: return "SIGFPE (arithmetic exception)";
    case SIGILL: return "SIGILL (illegal instruction: built for another CPU?)";
    case SIGABRT: return "SIGABRT (abort: an uncaught exception or a failed check)";
    default: return "a fatal signal";
  }
}

// What happened, after the "crashed: " head: the signal, where, and who sent
// it when it came from another process (kill -SEGV).
void add_cause(Text& text, int signal, const siginfo_t* info) {
  text.add(signal_text(signal));
  if (info == nullptr) return;
  if (info->si_code == SI_USER || info->si_code == SI_TKILL) {
    text.add(", sent by process ");
    text.add_unsigned(static_cast<unsigned long long>(info->si_pid));
  } else if (signal == SIGSEGV || signal == SIGBUS || signal == SIGFPE || signal == SIGILL) {
    text.add(" at address ");
    text.add_hex(reinterpret_cast<uintptr_t>(info->si_addr));
  }
}

// 2026-12-01T16:26:06Z from seconds since 1970 (H. Hinnant's days_from_civil,
// inverted: gmtime_r is not async-signal-safe).
void add_utc(Text& text, long long seconds) {
  long long days = seconds / 86400, rest = seconds % 86400;
  days += 719468;
  const long long era = days / 146097, doe = days - era * 146097;
  const long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  const long long day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9;
  const long long year = yoe + era * 400 + (month <= 2);
  text.add_unsigned(static_cast<unsigned long long>(year), 4);
  text.add("-");
  text.add_unsigned(static_cast<unsigned long long>(month), 2);
  text.add("-");
  text.add_unsigned(static_cast<unsigned long long>(day), 2);
  text.add("T");
  text.add_unsigned(static_cast<unsigned long long>(rest / 3600), 2);
  text.add(":");
  text.add_unsigned(static_cast<unsigned long long>(rest / 60 % 60), 2);
  text.add(":");
  text.add_unsigned(static_cast<unsigned long long>(rest % 60), 2);
  text.add("Z");
}

void write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n <= 0) return;
    data += n;
    size -= static_cast<size_t>(n);
  }
}

void on_crash(int signal, siginfo_t* info, void*) {
  if (!crashing) {
    crashing = 1;
    const int saved_errno = errno;
    Text line;
    line.add(crash_line_head);
    add_cause(line, signal, info);
    line.add("; backtrace:\n");
    write_all(STDERR_FILENO, line.data, line.size);
    void* frames[64];
    ::backtrace_symbols_fd(frames, ::backtrace(frames, 64), STDERR_FILENO);
    if (crash_path[0] != '\0' && !error_recorded.load()) {
      timespec now{};
      ::clock_gettime(CLOCK_REALTIME, &now);
      Text record;
      record.add(crash_record_head);
      record.add("\"time\":\"");
      add_utc(record, static_cast<long long>(now.tv_sec));
      record.add("\",\"unix_time\":");
      record.add_unsigned(static_cast<unsigned long long>(now.tv_sec));
      record.add(".");
      record.add_unsigned(static_cast<unsigned long long>(now.tv_nsec / 1000000), 3);
      record.add(",\"error\":\"");
      record.add(crash_line_head_json);
      add_cause(record, signal, info);  // ASCII without quotes or backslashes: no escaping
      record.add("\"}\n");
      const int fd = ::open(crash_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd >= 0) {
        write_all(fd, record.data, record.size);
        ::close(fd);
        ::rename(crash_tmp, crash_path);
      }
    }
    errno = saved_errno;
  }
  // The earlier action (Open MPI's report, or the default) takes over: the
  // signal is blocked while this handler runs, so it is delivered to that
  // action on return, whether it came from a fault or from kill.
  ::sigaction(signal, &earlier_action[signal], nullptr);
  ::raise(signal);
}

void copy_text(char* to, size_t capacity, const std::string& text) {
  std::snprintf(to, capacity, "%s", text.c_str());
}

}  // namespace

void install_crash_report(int rank, int world_size, const std::string& host) noexcept {
  try {
    const std::string head = "[" + rank_label(rank, world_size, host) + "] crashed: ";
    copy_text(crash_line_head, sizeof crash_line_head, head);
    const std::string head_json = nlohmann::json(head).dump();  // "..." with escapes
    copy_text(crash_line_head_json, sizeof crash_line_head_json, head_json.substr(1, head_json.size() - 2));
    const std::string dir = error_dir();
    if (!dir.empty()) {
      copy_text(crash_path, sizeof crash_path, error_path(dir, rank));
      copy_text(crash_tmp, sizeof crash_tmp, dir + "/.rank-" + std::to_string(rank) + ".json.crash");
      // The record's fields before the time, as record_fatal_error writes them.
      const std::string record = who(rank, world_size, host).dump();
      copy_text(crash_record_head, sizeof crash_record_head, record.substr(0, record.size() - 1) + ",");
    }
    // The main thread's handler runs on its own stack, so a stack overflow
    // is reported too.
    static char alternate_stack[64 * 1024];
    stack_t stack{};
    stack.ss_sp = alternate_stack;
    stack.ss_size = sizeof alternate_stack;
    (void)::sigaltstack(&stack, nullptr);
    void* frame[1];
    (void)::backtrace(frame, 1);  // loads libgcc now: the first call may allocate
    struct sigaction action {};
    action.sa_sigaction = on_crash;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    for (int signal : kCrashSignals) ::sigaction(signal, &action, &earlier_action[signal]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "warning: no crash report: %s\n", e.what());
  }
}

}  // namespace distgru::runtime
