#pragma once
// Logging through spdlog. Every rank logs warnings and errors; only rank 0
// logs progress (set_log_rank decides). Messages carry the process label.

#include <spdlog/spdlog.h>

namespace distgru {

// Configures the default logger: pattern with time and label; ranks other than
// 0 only report warnings and errors unless `verbose_all_ranks`.
void init_logging(int rank, int world_size, bool verbose_all_ranks = false);

}  // namespace distgru
