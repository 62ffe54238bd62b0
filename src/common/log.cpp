#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>

#include <memory>
#include <string>

namespace distgru {

void init_logging(int rank, int world_size, bool verbose_all_ranks) {
  // stderr for everything: stdout stays free for results a script may parse.
  auto logger = spdlog::stderr_logger_mt("distgru-" + std::to_string(rank));
  logger->set_pattern(fmt::format("%Y-%m-%d %H:%M:%S [rank {}/{}] %^%l%$: %v", rank, world_size));
  logger->set_level((rank == 0 || verbose_all_ranks) ? spdlog::level::info : spdlog::level::warn);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace distgru
