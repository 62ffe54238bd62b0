#include "train/rank_agreement.h"

#include <algorithm>

#include "distributed/tensor_collectives.h"

namespace distgru::train {

StepAgreement agree_after_step(dist::Communicator& comm, double local_loss, int stop_signal) {
  const auto all = dist::allgather_values(comm, {local_loss, static_cast<double>(stop_signal)});
  StepAgreement agreed;
  for (size_t r = 0; r < all.size(); r += 2) {
    agreed.loss += all[r];
    agreed.stop_signal = std::max(agreed.stop_signal, static_cast<int>(all[r + 1]));
  }
  return agreed;
}

}  // namespace distgru::train
