#include "train/provenance.h"

#include <torch/version.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>

#include "data/h5.h"
#include "distributed/mpi_session.h"
#include "distributed/tensor_collectives.h"
#include "git_commit.h"  // generated at every build: DISTGRU_GIT_COMMIT
#include "model/fast_gru.h"
#include "runtime/blas_kernels.h"

#ifndef DISTGRU_VERSION
#define DISTGRU_VERSION "unknown"
#endif

namespace distgru::train {
namespace {

// "AMD EPYC" and the instruction sets that decide distgru's kernels.
nlohmann::json cpu() {
  std::ifstream in("/proc/cpuinfo");
  std::string model = "unknown", flags;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0 && model == "unknown") model = line.substr(line.find(':') + 2);
    if (line.rfind("flags", 0) == 0 && flags.empty()) flags = " " + line.substr(line.find(':') + 1) + " ";
  }
  nlohmann::json sets = nlohmann::json::array();
  for (const char* set : {"avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"}) {
    if (flags.find(std::string(" ") + set + " ") != std::string::npos) sets.push_back(set);
  }
  return {{"model", model}, {"instruction_sets", sets}, {"cores", static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN))}};
}

std::string hostname() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return host;
}

}  // namespace

nlohmann::json provenance(dist::Communicator* comm) {
  nlohmann::json j = {{"distgru", {{"version", DISTGRU_VERSION}, {"git_commit", DISTGRU_GIT_COMMIT}}},
                      {"libtorch", TORCH_VERSION},
                      {"mpi", dist::mpi_library_version()},
                      {"hdf5", data::h5::library_version()},
                      {"blas", runtime::blas_summary()},
                      {"gru", model::fast_gru_summary()},
                      {"cpu", cpu()}};
  if (comm == nullptr) {
    j["hosts"] = {hostname()};
    j["ranks"] = 1;
    return j;
  }
  const auto hosts = dist::allgather_strings(*comm, hostname());
  // Threads may differ between hosts (each rank sizes its pools from its own
  // host's cores and ranks): gathered too, by rank.
  std::vector<int64_t> threads;
  for (double t : dist::allgather_values(*comm, {static_cast<double>(torch::get_num_threads())})) {
    threads.push_back(static_cast<int64_t>(t));
  }
  std::map<std::string, int> per_host;
  std::map<std::string, std::set<int64_t>> threads_per_host;
  for (size_t r = 0; r < hosts.size(); ++r) {
    ++per_host[hosts[r]];
    threads_per_host[hosts[r]].insert(threads[r]);
  }
  j["hosts"] = hosts;  // by rank
  j["threads"] = threads;  // by rank
  j["ranks"] = comm->size();
  j["ranks_per_host"] = per_host;
  nlohmann::json layout;
  for (const auto& [host, set] : threads_per_host) layout[host] = std::vector<int64_t>(set.begin(), set.end());
  j["threads_per_rank_by_host"] = layout;
  j["backend"] = comm->backend();
  return j;
}

std::string provenance_line(const nlohmann::json& p) {
  std::string hosts;
  if (p.contains("ranks_per_host")) {
    for (const auto& [host, n] : p["ranks_per_host"].items()) {
      hosts += (hosts.empty() ? "" : ", ") + host + " x " + std::to_string(n.get<int>());
      if (p.contains("threads_per_rank_by_host") && p["threads_per_rank_by_host"].contains(host)) {
        std::string t;
        for (const auto& v : p["threads_per_rank_by_host"][host]) t += (t.empty() ? "" : "/") + v.dump();
        hosts += " (" + t + (t == "1" ? " thread)" : " threads)");
      }
    }
  }
  return "distgru " + p["distgru"]["version"].get<std::string>() + " (git " +
         p["distgru"]["git_commit"].get<std::string>() + "), LibTorch " + p["libtorch"].get<std::string>() + ", " +
         p["mpi"].get<std::string>() + ", HDF5 " + p["hdf5"].get<std::string>() + ", " +
         p["cpu"]["model"].get<std::string>() + " (" + p["cpu"]["instruction_sets"].dump() + ")" +
         (hosts.empty() ? "" : "; ranks per host: " + hosts);
}

}  // namespace distgru::train
