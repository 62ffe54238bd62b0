#include "distributed/mpi_arrivals.h"

#include <algorithm>
#include <cstring>
#include <thread>

#include "common/log.h"
#include "distributed/mpi_check.h"

namespace distgru::dist {
namespace {

constexpr int kArrivalTag = 7341;
// Waiting for a stalled rank: spin at first (a collective's partner is
// usually microseconds away), then let the core go.
constexpr std::chrono::milliseconds kSpinFor{200};

}  // namespace

MpiArrivals::MpiArrivals(MPI_Comm comm, std::chrono::milliseconds warn_after, const std::string& hostname)
    : warn_after_(warn_after) {
  DISTGRU_MPI_CHECK(MPI_Comm_dup(comm, &control_));
  DISTGRU_MPI_CHECK(MPI_Comm_set_errhandler(control_, MPI_ERRORS_RETURN));
  DISTGRU_MPI_CHECK(MPI_Comm_rank(control_, &rank_));
  DISTGRU_MPI_CHECK(MPI_Comm_size(control_, &size_));
  // Every rank's host, for the warning.
  constexpr int kName = 64;
  std::vector<char> names(static_cast<size_t>(kName) * size_, '\0');
  char mine[kName] = {};
  std::strncpy(mine, hostname.c_str(), kName - 1);
  DISTGRU_MPI_CHECK(MPI_Allgather(mine, kName, MPI_CHAR, names.data(), kName, MPI_CHAR, control_));
  for (int r = 0; r < size_; ++r) hosts_.emplace_back(names.data() + static_cast<size_t>(r) * kName);
  seen_.assign(size_, 0);
  inbox_.assign(size_, 0);
  receives_.assign(size_, MPI_REQUEST_NULL);
  if (rank_ == 0) {
    for (int r = 1; r < size_; ++r) peers_.push_back(r);
  } else {
    peers_.push_back(0);
  }
  for (int peer : peers_) post_receive(peer);
}

void MpiArrivals::post_receive(int peer) {
  DISTGRU_MPI_CHECK(MPI_Irecv(&inbox_[peer], 1, MPI_INT64_T, peer, kArrivalTag, control_, &receives_[peer]));
}

void MpiArrivals::poll() {
  for (int peer : peers_) {
    // Messages from one peer arrive in the order it sent them.
    for (;;) {
      int done = 0;
      DISTGRU_MPI_CHECK(MPI_Test(&receives_[peer], &done, MPI_STATUS_IGNORE));
      if (!done) break;
      seen_[peer] = std::max(seen_[peer], inbox_[peer]);
      post_receive(peer);
    }
  }
  while (!sends_.empty()) {
    int done = 0;
    DISTGRU_MPI_CHECK(MPI_Test(&sends_.front(), &done, MPI_STATUS_IGNORE));
    if (!done) break;
    sends_.pop_front();
    outbox_.pop_front();
  }
}

std::string MpiArrivals::late_ranks(int64_t seq) const {
  std::string out;
  int count = 0;
  for (int peer : peers_) {
    if (seen_[peer] >= seq) continue;
    out += (count++ ? ", " : "") + std::to_string(peer) + " (" + hosts_[peer] + ")";
  }
  return (count == 1 ? "rank " : "ranks ") + out + (count == 1 ? " has" : " have");
}

void MpiArrivals::arrive(int64_t seq, const std::string& what, const std::function<void(const std::string&)>& note) {
  seen_[rank_] = seq;
  for (int peer : peers_) {
    outbox_.push_back(seq);
    sends_.push_back(MPI_REQUEST_NULL);
    DISTGRU_MPI_CHECK(MPI_Isend(&outbox_.back(), 1, MPI_INT64_T, peer, kArrivalTag, control_, &sends_.back()));
  }
  const auto start = std::chrono::steady_clock::now();
  bool warned = false;
  for (;;) {
    poll();
    const bool all_in = std::all_of(peers_.begin(), peers_.end(), [&](int peer) { return seen_[peer] >= seq; });
    if (all_in) return;
    const auto waited = std::chrono::steady_clock::now() - start;
    if (!warned && waited >= warn_after_) {
      const double seconds = std::chrono::duration<double>(waited).count();
      const std::string late = late_ranks(seq);
      const std::string line = rank_ == 0 ? late + " not reached " + what
                                          : "rank 0 (" + hosts_[0] + "), which checks on the others, has not reached " + what;
      spdlog::warn("stall: {} after {:.0f} s", line, seconds);
      note(line + " after " + std::to_string(static_cast<int>(seconds)) + " s");
      warned = true;
    }
    if (waited > kSpinFor) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void MpiArrivals::close(bool abandoned) {
  if (closed_) return;
  closed_ = true;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized || abandoned) return;
  for (int peer : peers_) {
    if (receives_[peer] == MPI_REQUEST_NULL) continue;
    MPI_Cancel(&receives_[peer]);
    MPI_Request_free(&receives_[peer]);
  }
  bool pending = false;
  for (auto& send : sends_) {
    if (send == MPI_REQUEST_NULL) continue;
    int done = 0;
    MPI_Test(&send, &done, MPI_STATUS_IGNORE);
    if (done) continue;
    pending = true;
    MPI_Request_free(&send);  // MPI finishes it; its buffer must outlive us
  }
  if (pending) new std::deque<int64_t>(std::move(outbox_));  // left to the process, deliberately
  MPI_Comm_free(&control_);
}

MpiArrivals::~MpiArrivals() { close(/*abandoned=*/false); }

}  // namespace distgru::dist
