#include "train/rank_agreement.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "common/error.h"
#include "data/manifest.h"
#include "distributed/tensor_collectives.h"

namespace distgru::train {
namespace {

// "key = value" lines as a map; a line without " = " is kept whole as a key.
std::map<std::string, std::string> lines_of(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find(" = ");
    if (eq == std::string::npos) {
      out[line] = "";
    } else {
      out[line.substr(0, eq)] = line.substr(eq + 3);
    }
  }
  return out;
}

std::string shown(const std::map<std::string, std::string>& lines, const std::string& key) {
  const auto it = lines.find(key);
  return it == lines.end() ? "nothing for " + key : key + " = " + it->second;
}

}  // namespace

void check_settings_agree(dist::Communicator& comm, const std::string& settings, const std::string& tool) {
  if (comm.size() == 1) return;
  // 32 bytes of SHA-256 a rank, as 4 doubles' worth of exact integers would
  // not fit: the digest's first 12 hex digits per value, 5 values.
  const std::string digest = data::sha256_hex(settings);
  std::vector<double> mine;
  for (size_t i = 0; i + 12 <= digest.size(); i += 12) mine.push_back(static_cast<double>(std::stoull(digest.substr(i, 12), nullptr, 16)));
  const auto all = dist::allgather_values(comm, mine);
  bool same = true;
  for (size_t i = 0; i < all.size(); ++i) same = same && all[i] == all[i % mine.size()];
  if (same) return;
  const auto texts = dist::allgather_strings(comm, settings);
  const auto root = lines_of(texts[0]);
  std::string message = tool + ": the ranks were started with different settings, refusing to run:";
  for (size_t r = 1; r < texts.size(); ++r) {
    const auto other = lines_of(texts[r]);
    std::map<std::string, bool> keys;
    for (const auto& [key, value] : root) keys[key] = true;
    for (const auto& [key, value] : other) keys[key] = true;
    for (const auto& [key, unused] : keys) {
      const auto a = root.find(key), b = other.find(key);
      if (a != root.end() && b != other.end() && a->second == b->second) continue;
      message += "\n  rank " + std::to_string(r) + " has " + shown(other, key) + " where rank 0 has " + shown(root, key);
    }
  }
  throw AgreedError(message + "\n(a config file or data directory that differs between nodes?)", kExitRefused);
}

TrainConfig agreed_config(TrainConfig config, dist::Communicator& comm) {
  check_settings_agree(comm, settings_agreement_text(config), "distgru-train");
  return config;
}

StepAgreement agree_after_step(dist::Communicator& comm, double local_loss, int stop_signal) {
  const auto all = dist::allgather_values(comm, {local_loss, static_cast<double>(stop_signal)});
  StepAgreement agreed;
  for (size_t r = 0; r < all.size(); r += 2) {
    agreed.loss += all[r];
    agreed.stop_signal = std::max(agreed.stop_signal, static_cast<int>(all[r + 1]));
  }
  return agreed;
}

void agree_on_check(dist::Communicator& comm, const std::function<void()>& check) {
  std::string problem;
  try {
    check();
  } catch (const Error& e) {
    // Without this rank's "[rank 1/2 on host] ": the ranks' messages are
    // compared, and the refusal names the ranks itself.
    problem = without_process_label(e.what());
    if (problem.empty()) problem = "(an error without a message)";
  }
  const auto all = dist::allgather_strings(comm, problem);
  std::vector<std::pair<int, std::string>> failed;
  for (size_t r = 0; r < all.size(); ++r) {
    if (!all[r].empty()) failed.emplace_back(static_cast<int>(r), all[r]);
  }
  if (failed.empty()) return;
  const bool same = failed.size() == all.size() &&
                    std::all_of(failed.begin(), failed.end(), [&](const auto& f) { return f.second == failed[0].second; });
  std::string message = same ? failed[0].second : "";
  if (!same) {
    for (const auto& [rank, what] : failed) message += (message.empty() ? "" : "; ") + ("rank " + std::to_string(rank) + ": " + what);
  }
  throw AgreedError(message, kExitRefused);
}

void agree_on_root_refusal(dist::Communicator& comm, const std::string& refusal) {
  const auto agreed = dist::broadcast_string(comm, refusal, 0);
  if (!agreed.empty()) throw AgreedError(agreed, kExitRefused);
}

}  // namespace distgru::train
