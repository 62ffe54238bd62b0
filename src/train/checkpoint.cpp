#include "train/checkpoint.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "common/error.h"
#include "train/checkpoint_file.h"
#include "train/config.h"

namespace fs = std::filesystem;

namespace distgru::train {
namespace {

torch::Tensor scalar(int64_t v) { return torch::tensor({v}, torch::kLong); }

torch::Tensor bytes_of(const std::string& text) {
  auto t = torch::empty({static_cast<int64_t>(text.size())}, torch::kByte);
  if (!text.empty()) std::memcpy(t.data_ptr(), text.data(), text.size());
  return t;
}

// A text stored with bytes_of, or "" when the key is absent (older files).
std::string read_text(torch::serialize::InputArchive& in, const std::string& key) {
  torch::Tensor t;
  if (!in.try_read(key, t)) return "";
  return std::string(static_cast<const char*>(t.data_ptr()), static_cast<size_t>(t.numel()));
}
torch::Tensor scalar(double v) { return torch::tensor({v}, torch::kDouble); }

int64_t read_long(torch::serialize::InputArchive& in, const std::string& key) {
  torch::Tensor t;
  in.read(key, t);
  return t.item<int64_t>();
}

double read_double(torch::serialize::InputArchive& in, const std::string& key) {
  torch::Tensor t;
  in.read(key, t);
  return t.item<double>();
}

CheckpointContents read_header(torch::serialize::InputArchive& in, const std::string& path) {
  const int64_t format = read_long(in, "format");
  DISTGRU_CHECK(format == kCheckpointFormat,
                path + ": checkpoint format " + std::to_string(format) + " but this build reads " +
                    std::to_string(kCheckpointFormat));
  CheckpointContents c;
  torch::Tensor config;
  in.read("config", config);
  c.config_ini.assign(static_cast<const char*>(config.data_ptr()), config.numel());
  c.state.step = read_long(in, "state/step");
  auto& position = c.state.position;
  position.epoch = read_long(in, "state/epoch");
  position.step_in_epoch = read_long(in, "state/step_in_epoch");
  position.world_size = static_cast<int>(read_long(in, "state/world_size"));
  c.state.best_metric = read_double(in, "state/best_metric");
  c.state.best_step = read_long(in, "state/best_step");
  torch::Tensor pending, since_best, best_averaged;
  c.state.best_averaged = in.try_read("state/best_averaged", best_averaged) && best_averaged.item<int64_t>() != 0;
  if (in.try_read("state/validations_since_best", since_best)) c.state.validations_since_best = since_best.item<int64_t>();
  c.state.validation_pending = in.try_read("state/validation_pending", pending) && pending.item<int64_t>() != 0;
  c.state.data_fingerprint = read_text(in, "data/fingerprint");
  c.state.vocab_fingerprint = read_text(in, "data/vocab_fingerprint");
  c.state.provenance = read_text(in, "provenance");
  // Global batches were recorded from distgru 0.2 on; before, every segment
  // ran with the batch of the config the checkpoint stores.
  torch::Tensor batch, segments, segment_batches;
  const bool has_batches = in.try_read("state/global_batch", batch);
  position.global_batch = has_batches ? batch.item<int64_t>() : config_from_ini(c.config_ini, path).batch_size;
  if (has_batches) in.read("state/segment_batches", segment_batches);
  in.read("state/segments", segments);
  for (int64_t i = 0; i < segments.size(0); ++i) {
    position.earlier.push_back({static_cast<int>(segments[i][0].item<int64_t>()),
                                has_batches ? segment_batches[i].item<int64_t>() : position.global_batch,
                                segments[i][1].item<int64_t>()});
  }
  return c;
}

void open_archive(torch::serialize::InputArchive& in, const std::string& path) {
  DISTGRU_CHECK(fs::is_regular_file(path), path + ": no such checkpoint file");
  std::string problem;
  const std::string payload = unframe_checkpoint(read_file(path), &problem);
  DISTGRU_CHECK(problem.empty(), path + ": not a readable checkpoint: " + problem);
  try {
    in.load_from(payload.data(), payload.size());
  } catch (const c10::Error& e) {
    DISTGRU_FAIL(path + ": not a readable checkpoint: " + e.what_without_backtrace());
  }
}

// Counts NaN and infinite values of `tensor` into `worst` when it has more
// than any parameter seen so far.
struct NonFinite {
  std::string name;
  int64_t count = 0, numel = 0;
  int64_t parameters = 0;  // how many parameters have any
  void add(const std::string& tensor_name, const torch::Tensor& tensor) {
    const int64_t bad = (~torch::isfinite(tensor.detach())).sum().item<int64_t>();
    if (bad == 0) return;
    ++parameters;
    if (bad > count) {
      name = tensor_name;
      count = bad;
      numel = tensor.numel();
    }
  }
  std::optional<std::string> describe() const {
    if (parameters == 0) return std::nullopt;
    return "parameter " + name + " has " + std::to_string(count) + " NaN or infinite values of " +
           std::to_string(numel) +
           (parameters > 1 ? " (and " + std::to_string(parameters - 1) + " more parameters have some)" : "");
  }
};

// Every tensor stored under `archive`, its nested archives included.
void scan_archive(torch::serialize::InputArchive& archive, const std::string& prefix, NonFinite& found) {
  for (const auto& key : archive.keys()) {
    torch::Tensor tensor;
    torch::serialize::InputArchive nested;
    if (archive.try_read(key, tensor)) {
      if (tensor.is_floating_point()) found.add(prefix + key, tensor);
    } else if (archive.try_read(key, nested)) {
      scan_archive(nested, prefix + key + ".", found);
    }
  }
}

}  // namespace

std::optional<std::string> non_finite_parameters(torch::nn::Module& model) {
  NonFinite found;
  for (const auto& p : model.named_parameters()) found.add(p.key(), p.value());
  return found.describe();
}

void save_checkpoint(const std::string& path, torch::nn::Module& model,
                     torch::optim::Optimizer* optimizer, const TrainState& state,
                     const std::string& config_ini, FileSystem& files,
                     const std::vector<torch::Tensor>& weight_average) {
  if (auto bad = non_finite_parameters(model)) {
    DISTGRU_FAIL("refusing to write " + path + ": " + *bad + " (training diverged)");
  }
  torch::serialize::OutputArchive out;
  out.write("format", scalar(kCheckpointFormat));
  const auto& position = state.position;
  out.write("state/step", scalar(state.step));
  out.write("state/epoch", scalar(position.epoch));
  out.write("state/step_in_epoch", scalar(position.step_in_epoch));
  out.write("state/world_size", scalar(static_cast<int64_t>(position.world_size)));
  out.write("state/global_batch", scalar(position.global_batch));
  out.write("state/best_metric", scalar(state.best_metric));
  out.write("state/best_step", scalar(state.best_step));
  out.write("state/validations_since_best", scalar(state.validations_since_best));
  out.write("state/validation_pending", scalar(static_cast<int64_t>(state.validation_pending)));
  out.write("state/best_averaged", scalar(static_cast<int64_t>(state.best_averaged)));
  out.write("data/fingerprint", bytes_of(state.data_fingerprint));
  out.write("data/vocab_fingerprint", bytes_of(state.vocab_fingerprint));
  out.write("provenance", bytes_of(state.provenance));
  const auto k = static_cast<int64_t>(position.earlier.size());
  auto segments = torch::zeros({k, 2}, torch::kLong);
  auto segment_batches = torch::zeros({k}, torch::kLong);
  for (int64_t i = 0; i < k; ++i) {
    const auto& segment = position.earlier[static_cast<size_t>(i)];
    segments[i][0] = static_cast<int64_t>(segment.world_size);
    segments[i][1] = segment.steps;
    segment_batches[i] = segment.global_batch;
  }
  out.write("state/segments", segments);
  out.write("state/segment_batches", segment_batches);
  out.write("config", bytes_of(config_ini));
  // Keep the CPU generator's state too: nothing after initialisation draws from
  // it today, but a future dropout layer would, and resume must stay exact.
  out.write("rng/cpu", at::detail::getDefaultCPUGenerator().get_state());

  torch::serialize::OutputArchive model_archive;
  model.save(model_archive);
  out.write("model", model_archive);
  if (optimizer != nullptr) {
    torch::serialize::OutputArchive optim_archive;
    optimizer->save(optim_archive);
    out.write("optimizer", optim_archive);
  }
  if (!weight_average.empty()) {
    torch::serialize::OutputArchive average_archive;
    average_archive.write("count", scalar(static_cast<int64_t>(weight_average.size())));
    for (size_t i = 0; i < weight_average.size(); ++i) {
      average_archive.write(std::to_string(i), weight_average[i].detach().to(torch::kCPU));
    }
    out.write("weight_average", average_archive);
  }
  std::ostringstream bytes;
  out.save_to(bytes);
  write_file_atomic(path, frame_checkpoint(bytes.str()), files);
}

CheckpointContents read_checkpoint_header(const std::string& path) {
  torch::serialize::InputArchive in;
  open_archive(in, path);
  return read_header(in, path);
}

CheckpointContents load_checkpoint(const std::string& path, torch::nn::Module& model,
                                   torch::optim::Optimizer* optimizer) {
  torch::serialize::InputArchive in;
  open_archive(in, path);
  auto contents = read_header(in, path);
  // Module::load silently *replaces* a parameter of another shape, so the
  // shapes are compared here, naming the first difference.
  std::vector<std::pair<std::string, std::vector<int64_t>>> shapes;
  for (const auto& p : model.named_parameters()) shapes.emplace_back(p.key(), p.value().sizes().vec());
  try {
    torch::serialize::InputArchive model_archive;
    in.read("model", model_archive);
    model.load(model_archive);
    const auto loaded = model.named_parameters();
    for (const auto& [name, shape] : shapes) {
      const auto now = loaded[name].sizes().vec();
      DISTGRU_CHECK(now == shape, path + ": parameter " + name + " is " + c10::str(at::IntArrayRef(now)) +
                                      " in the checkpoint but " + c10::str(at::IntArrayRef(shape)) +
                                      " in this model (other vocab/embed/hidden size?)");
    }
    if (auto bad = non_finite_parameters(model)) {
      DISTGRU_FAIL(path + ": " + *bad + ": it was written after training diverged; use an earlier checkpoint");
    }
    if (optimizer != nullptr) {
      torch::serialize::InputArchive optim_archive;
      DISTGRU_CHECK(in.try_read("optimizer", optim_archive),
                    path + ": holds the parameters only, without the optimizer's state (best.pt is such a file): "
                           "resume from a step checkpoint (ckpt-*.pt, or --resume auto)");
      optimizer->load(optim_archive);
    }
    torch::serialize::InputArchive average_archive;
    if (in.try_read("weight_average", average_archive)) {
      const int64_t count = read_long(average_archive, "count");
      for (int64_t i = 0; i < count; ++i) {
        torch::Tensor t;
        average_archive.read(std::to_string(i), t);
        contents.weight_average.push_back(t);
      }
    }
    torch::Tensor rng;
    if (in.try_read("rng/cpu", rng)) {
      auto generator = at::detail::getDefaultCPUGenerator();
      generator.set_state(rng);
    }
  } catch (const c10::Error& e) {
    DISTGRU_FAIL(path + ": checkpoint does not fit this model: " + e.what_without_backtrace());
  }
  return contents;
}

std::optional<std::string> checkpoint_problem(const std::string& path) {
  if (!fs::is_regular_file(path)) return std::string("missing");
  std::string problem;
  try {
    const std::string payload = unframe_checkpoint(read_file(path), &problem);
    if (!problem.empty()) return problem;
    // Whole and verified: its parameters must also be numbers (a checkpoint
    // written after training diverged, by a version that did not refuse to).
    torch::serialize::InputArchive in, model;
    in.load_from(payload.data(), payload.size());
    NonFinite found;
    if (in.try_read("model", model)) scan_archive(model, "", found);
    if (auto bad = found.describe()) return *bad + " (written after training diverged)";
  } catch (const Error& e) {
    return std::string(e.what());
  } catch (const c10::Error& e) {
    return std::string("not a readable checkpoint: ") + e.what_without_backtrace();
  }
  return std::nullopt;
}

std::string checkpoint_digest(const std::string& path) {
  std::string problem;
  const std::string file = read_file(path);
  unframe_checkpoint(file, &problem);
  DISTGRU_CHECK(problem.empty(), path + ": not a readable checkpoint: " + problem);
  return framed_digest(file);
}

std::string checkpoint_name(int64_t step) {
  char name[32];
  std::snprintf(name, sizeof(name), "ckpt-%08lld.pt", static_cast<long long>(step));
  return name;
}

void write_latest(const std::string& dir, const std::string& name, FileSystem& files) {
  write_file_atomic((fs::path(dir) / "LATEST").string(), name + "\n", files);
}

namespace {
std::vector<std::pair<int64_t, fs::path>> step_checkpoints(const std::string& dir) {
  static const std::regex pattern(R"(ckpt-(\d+)\.pt)");
  std::vector<std::pair<int64_t, fs::path>> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::smatch m;
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && std::regex_match(name, m, pattern)) {
      found.emplace_back(std::stoll(m[1].str()), entry.path());
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}
}  // namespace

std::vector<int64_t> checkpoint_steps(const std::string& dir) {
  std::vector<int64_t> steps;
  for (const auto& [step, path] : step_checkpoints(dir)) steps.push_back(step);
  return steps;
}

std::optional<std::string> find_latest_checkpoint(const std::string& dir) {
  const fs::path latest = fs::path(dir) / "LATEST";
  std::ifstream in(latest);
  std::string name;
  if (in && std::getline(in, name) && !name.empty() && fs::is_regular_file(fs::path(dir) / name)) {
    return (fs::path(dir) / name).string();
  }
  auto found = step_checkpoints(dir);
  if (found.empty()) return std::nullopt;
  return found.back().second.string();
}

std::optional<std::string> find_usable_checkpoint(const std::string& dir,
                                                  std::vector<std::string>* skipped) {
  std::vector<std::string> candidates;
  if (auto latest = find_latest_checkpoint(dir)) candidates.push_back(*latest);
  auto found = step_checkpoints(dir);
  for (auto it = found.rbegin(); it != found.rend(); ++it) {
    const auto path = it->second.string();
    if (std::find(candidates.begin(), candidates.end(), path) == candidates.end()) {
      candidates.push_back(path);
    }
  }
  for (const auto& path : candidates) {
    auto problem = checkpoint_problem(path);
    if (!problem) return path;
    if (skipped) skipped->push_back(path + ": " + *problem);
  }
  return std::nullopt;
}

std::string resolve_checkpoint(const std::string& path_or_dir) {
  if (fs::is_regular_file(path_or_dir)) return path_or_dir;
  DISTGRU_CHECK(fs::is_directory(path_or_dir), path_or_dir + ": no such checkpoint file or directory");
  const fs::path best = fs::path(path_or_dir) / "best.pt";
  if (fs::is_regular_file(best)) return best.string();
  auto latest = find_latest_checkpoint(path_or_dir);
  DISTGRU_CHECK(latest.has_value(), path_or_dir + ": directory holds no checkpoint (best.pt or ckpt-*.pt)");
  return *latest;
}

void prune_checkpoints(const std::string& dir, int64_t keep) {
  auto found = step_checkpoints(dir);
  const int64_t excess = static_cast<int64_t>(found.size()) - keep;
  for (int64_t i = 0; i < excess; ++i) {
    std::error_code ec;
    fs::remove(found[static_cast<size_t>(i)].second, ec);
  }
}

}  // namespace distgru::train
