#include "distributed/heartbeat.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "common/error.h"
#include "distributed/mpi_check.h"

namespace distgru::dist {
namespace {

constexpr uint32_t kMagic = 0x64676862;  // "dghb"
constexpr int kMaxAddresses = 8;

struct Beat {
  uint32_t magic;
  int32_t rank;
  uint64_t token;
};

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// This host's IPv4 addresses (loopback too: ranks on one host), network order.
std::vector<uint32_t> local_addresses() {
  std::vector<uint32_t> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return {htonl(INADDR_LOOPBACK)};
  for (ifaddrs* a = list; a != nullptr && static_cast<int>(out.size()) < kMaxAddresses; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    out.push_back(reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr);
  }
  freeifaddrs(list);
  if (out.empty()) out.push_back(htonl(INADDR_LOOPBACK));
  return out;
}

std::string seconds_text(int64_t ns) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f", static_cast<double>(ns) / 1e9);
  return text;
}

}  // namespace

Heartbeat::Heartbeat(MPI_Comm comm, std::vector<std::string> hosts, std::chrono::milliseconds period)
    : period_(period), hosts_(std::move(hosts)) {
  DISTGRU_MPI_CHECK(MPI_Comm_rank(comm, &rank_));
  DISTGRU_MPI_CHECK(MPI_Comm_size(comm, &size_));
  DISTGRU_CHECK(static_cast<int>(hosts_.size()) == size_, "heartbeat: one host name per rank expected");
  socket_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  DISTGRU_CHECK(socket_ >= 0, std::string("heartbeat: cannot open a UDP socket: ") + std::strerror(errno));
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_addr.s_addr = htonl(INADDR_ANY);
  any.sin_port = 0;
  socklen_t length = sizeof(any);
  if (::bind(socket_, reinterpret_cast<sockaddr*>(&any), sizeof(any)) != 0 ||
      ::getsockname(socket_, reinterpret_cast<sockaddr*>(&any), &length) != 0) {
    const std::string reason = std::strerror(errno);
    ::close(socket_);
    DISTGRU_FAIL("heartbeat: cannot bind a UDP socket: " + reason);
  }

  // [port, count, address...] from every rank.
  std::vector<uint32_t> mine(2 + kMaxAddresses, 0);
  const auto addresses = local_addresses();
  mine[0] = any.sin_port;
  mine[1] = static_cast<uint32_t>(addresses.size());
  std::copy(addresses.begin(), addresses.end(), mine.begin() + 2);
  std::vector<uint32_t> all(mine.size() * size_);
  DISTGRU_MPI_CHECK(MPI_Allgather(mine.data(), static_cast<int>(mine.size()), MPI_UINT32_T, all.data(),
                                  static_cast<int>(mine.size()), MPI_UINT32_T, comm));
  token_ = std::random_device{}() * 0x100000001ull + static_cast<uint64_t>(now_ns());
  DISTGRU_MPI_CHECK(MPI_Bcast(&token_, 1, MPI_UINT64_T, 0, comm));

  addresses_.resize(size_);
  for (int r = 0; r < size_; ++r) {
    const uint32_t* row = &all[r * mine.size()];
    for (uint32_t i = 0; i < row[1] && i < kMaxAddresses; ++i) {
      addresses_[r].emplace_back(row[2 + i], static_cast<uint16_t>(row[0]));
    }
  }
  if (rank_ == 0) {
    for (int r = 1; r < size_; ++r) peers_.push_back(r);
  } else {
    peers_.push_back(0);
  }
  last_heard_ = std::make_unique<std::atomic<int64_t>[]>(size_);
  for (int r = 0; r < size_; ++r) last_heard_[r] = 0;
  thread_ = std::thread([this] { run(); });
}

Heartbeat::~Heartbeat() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (socket_ >= 0) ::close(socket_);
}

void Heartbeat::run() {
  const Beat beat{kMagic, rank_, token_};
  auto next = std::chrono::steady_clock::now();
  while (!stop_) {
    if (std::chrono::steady_clock::now() >= next) {
      for (int peer : peers_) {
        for (const auto& [ip, port] : addresses_[peer]) {
          sockaddr_in to{};
          to.sin_family = AF_INET;
          to.sin_addr.s_addr = ip;
          to.sin_port = port;
          // Unreachable addresses of the peer fail here or vanish: either way
          // the peer is heard through another one, or not at all.
          (void)::sendto(socket_, &beat, sizeof(beat), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&to), sizeof(to));
        }
      }
      next += period_;
    }
    pollfd fd{socket_, POLLIN, 0};
    if (::poll(&fd, 1, 100) > 0) {
      Beat in{};
      while (::recv(socket_, &in, sizeof(in), MSG_DONTWAIT) == static_cast<ssize_t>(sizeof(in))) {
        if (in.magic == kMagic && in.token == token_ && in.rank >= 0 && in.rank < size_ && in.rank != rank_) {
          last_heard_[in.rank] = now_ns();
        }
      }
    }
  }
}

std::string Heartbeat::diagnosis() const { return diagnosis(4 * period_); }

std::string Heartbeat::diagnosis(std::chrono::milliseconds silence) const {
  const int64_t now = now_ns();
  const int64_t limit = std::chrono::duration_cast<std::chrono::nanoseconds>(silence).count();
  std::string silent;
  for (int peer : peers_) {
    const int64_t heard = last_heard_[peer];
    if (heard == 0 || now - heard <= limit) continue;
    silent += std::string(silent.empty() ? "" : ", ") + "rank " + std::to_string(peer) + " (" + hosts_[peer] +
              ") for " + seconds_text(now - heard) + " s";
  }
  if (!silent.empty()) return "no heartbeat from " + silent + ": stopped, or its host is down or cut off";
  if (rank_ != 0 && last_heard_[0] != 0) {
    return "rank 0 (" + hosts_[0] + ") is alive: its message names the late rank";
  }
  return "";
}

}  // namespace distgru::dist
