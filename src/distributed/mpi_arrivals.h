#pragma once
// Private to src/distributed: the stall inspector of the MPI backend, after
// Horovod's. Before each collective, every rank announces on a communicator
// of its own that it has reached collective #k: the others send their number
// to rank 0, and rank 0 sends its own to every rank. Rank 0 then waits until
// every rank has announced k, and every other rank until rank 0 has. A wait
// longer than the stall warning logs which ranks have not arrived (with their
// hosts), once, and tells the collective's Work, so the deadline's error
// names them too. Then the blocking collective runs, with everyone there.
//
// Cost: two small messages per rank per collective, well under a percent of
// a training step (bench/). Runs only on the communicator's thread, under the
// MPI lock.

#include <mpi.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

namespace distgru::dist {

class MpiArrivals {
 public:
  // collective over `comm` (which it duplicates for its own messages).
  MpiArrivals(MPI_Comm comm, std::chrono::milliseconds warn_after, const std::string& hostname);
  // Leaves outstanding requests to MPI; frees the duplicate unless
  // `abandoned` (a collective still runs on it).
  void close(bool abandoned);
  ~MpiArrivals();
  MpiArrivals(const MpiArrivals&) = delete;
  MpiArrivals& operator=(const MpiArrivals&) = delete;

  // Announces collective `seq` (named `what`) and waits as described above.
  // `note` receives "ranks 1 (node2) have not reached it after 60 s".
  void arrive(int64_t seq, const std::string& what, const std::function<void(const std::string&)>& note);

  // Every rank's host name, by rank (gathered at construction).
  const std::vector<std::string>& hosts() const { return hosts_; }

 private:
  void post_receive(int peer);
  void poll();  // takes in every announcement that has arrived
  std::string late_ranks(int64_t seq) const;

  MPI_Comm control_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  std::chrono::milliseconds warn_after_;
  std::vector<std::string> hosts_;      // by rank
  std::vector<int> peers_;              // rank 0: every other rank; others: rank 0
  std::vector<int64_t> seen_;           // by rank: the last collective it announced
  std::vector<int64_t> inbox_;          // by rank: the receive buffer
  std::vector<MPI_Request> receives_;   // by rank: the receive posted
  std::deque<int64_t> outbox_;          // send buffers, alive until their send completes
  std::deque<MPI_Request> sends_;
  bool closed_ = false;
};

}  // namespace distgru::dist
