#pragma once
// Private to src/distributed: a heartbeat between rank 0 and every other
// rank, so that a collective that times out can name the rank that is gone
// rather than only the ranks that did not arrive. The arrival protocol
// (mpi_arrivals.h) cannot tell a rank that stopped inside a collective from
// the ranks waiting behind it in the same collective: every one of them is
// "late". A rank that is stopped (SIGSTOP, a hung host), cut off (a network
// partition) or gone (a lost host) also stops beating, while a rank that only
// waits or computes goes on.
//
// Each rank opens a UDP socket on every interface (an ephemeral port), and
// the ranks exchange their IPv4 addresses and ports with one allgather at
// start (collective). A thread of its own sends a small datagram every
// `period` to each peer's addresses (rank 0 to every rank, the others to rank
// 0: O(ranks) at rank 0 only, as the arrival protocol) and notes when each
// peer was last heard. Datagrams carry a token drawn by rank 0, so beats of
// another job on the same ports never count. Where UDP between the hosts is
// blocked, no peer is ever heard and the heartbeat says nothing: it adds to
// the collective deadline's message, never replaces the deadline.
//
// Cost: one 16-byte datagram per peer address per period (0.5 s), on its
// own thread, with no lock shared with training or MPI.

#include <mpi.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace distgru::dist {

class Heartbeat {
 public:
  static constexpr std::chrono::milliseconds kDefaultPeriod{500};

  // collective over `comm` (one allgather of addresses, one broadcast of the
  // token); `hosts` names every rank's host, by rank, for the messages. The
  // caller holds the MPI lock. Throws distgru::Error when the socket cannot
  // be made.
  Heartbeat(MPI_Comm comm, std::vector<std::string> hosts, std::chrono::milliseconds period = kDefaultPeriod);
  ~Heartbeat();  // stops the thread
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

  // The peers heard from before but not for longer than `silence` (default:
  // four periods), as "no heartbeat from rank 1 (node2) for 9.8 s: it is
  // stopped, or its host is down or cut off"; on a rank other than 0 whose
  // peer rank 0 still beats, "rank 0 (node1) is alive: its message names the
  // late rank". "" when there is nothing to say.
  std::string diagnosis() const;
  std::string diagnosis(std::chrono::milliseconds silence) const;

 private:
  void run();

  int rank_ = 0, size_ = 1;
  std::chrono::milliseconds period_;
  int socket_ = -1;
  uint64_t token_ = 0;
  std::vector<std::string> hosts_;                    // by rank
  std::vector<std::vector<std::pair<uint32_t, uint16_t>>> addresses_;  // by rank: (IPv4, port), network order
  std::vector<int> peers_;                            // rank 0: every other rank; others: rank 0
  std::unique_ptr<std::atomic<int64_t>[]> last_heard_;  // by rank: steady-clock ns, 0 = never
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace distgru::dist
