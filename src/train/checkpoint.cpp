#include "train/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "common/error.h"

namespace fs = std::filesystem;

namespace distgru::train {
namespace {

// RAII file descriptor so every early throw closes it.
class Fd {
 public:
  Fd(const std::string& path, int flags, mode_t mode = 0644) : fd_(::open(path.c_str(), flags, mode)) {
    DISTGRU_CHECK(fd_ >= 0, path + ": open failed: " + std::strerror(errno));
  }
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

void write_all(int fd, const char* data, size_t n, const std::string& path) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    DISTGRU_CHECK(w > 0, path + ": write failed: " + std::strerror(errno));
    data += w;
    n -= static_cast<size_t>(w);
  }
}

void fsync_dir(const std::string& dir) {
  Fd d(dir.empty() ? "." : dir, O_RDONLY | O_DIRECTORY);
  ::fsync(d.get());  // best effort: some filesystems refuse fsync on directories
}

torch::Tensor scalar(int64_t v) { return torch::tensor({v}, torch::kLong); }
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
  c.state.step = read_long(in, "state/step");
  c.state.epoch = read_long(in, "state/epoch");
  c.state.step_in_epoch = read_long(in, "state/step_in_epoch");
  c.state.world_size = read_long(in, "state/world_size");
  c.state.best_metric = read_double(in, "state/best_metric");
  c.state.best_step = read_long(in, "state/best_step");
  torch::Tensor config;
  in.read("config", config);
  c.config_ini.assign(static_cast<const char*>(config.data_ptr()), config.numel());
  return c;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

void open_archive(torch::serialize::InputArchive& in, const std::string& path) {
  DISTGRU_CHECK(fs::is_regular_file(path), path + ": no such checkpoint file");
  try {
    in.load_from(path);
  } catch (const c10::Error& e) {
    DISTGRU_FAIL(path + ": not a readable checkpoint (truncated or corrupted?): " +
                 e.what_without_backtrace());
  }
}

}  // namespace

void write_file_atomic(const std::string& path, const std::string& contents) {
  const std::string tmp = path + ".tmp";
  {
    Fd fd(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC);
    write_all(fd.get(), contents.data(), contents.size(), tmp);
    DISTGRU_CHECK(::fsync(fd.get()) == 0, tmp + ": fsync failed: " + std::strerror(errno));
  }
  DISTGRU_CHECK(::rename(tmp.c_str(), path.c_str()) == 0,
                "rename " + tmp + " -> " + path + " failed: " + std::strerror(errno));
  fsync_dir(fs::path(path).parent_path().string());
}

void save_checkpoint(const std::string& path, torch::nn::Module& model,
                     torch::optim::Optimizer* optimizer, const TrainState& state,
                     const std::string& config_ini) {
  torch::serialize::OutputArchive out;
  out.write("format", scalar(kCheckpointFormat));
  out.write("state/step", scalar(state.step));
  out.write("state/epoch", scalar(state.epoch));
  out.write("state/step_in_epoch", scalar(state.step_in_epoch));
  out.write("state/world_size", scalar(state.world_size));
  out.write("state/best_metric", scalar(state.best_metric));
  out.write("state/best_step", scalar(state.best_step));
  auto config = torch::empty({static_cast<int64_t>(config_ini.size())}, torch::kByte);
  std::memcpy(config.data_ptr(), config_ini.data(), config_ini.size());
  out.write("config", config);
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
  std::ostringstream bytes;
  out.save_to(bytes);
  write_file_atomic(path, bytes.str());
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
      DISTGRU_CHECK(now == shape, path + ": parameter " + name + " is " + shape_text(now) +
                                      " in the checkpoint but " + shape_text(shape) +
                                      " in this model (other vocab/embed/hidden size?)");
    }
    if (optimizer != nullptr) {
      torch::serialize::InputArchive optim_archive;
      in.read("optimizer", optim_archive);
      optimizer->load(optim_archive);
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

std::string checkpoint_name(int64_t step) {
  char name[32];
  std::snprintf(name, sizeof(name), "ckpt-%08lld.pt", static_cast<long long>(step));
  return name;
}

void write_latest(const std::string& dir, const std::string& name) {
  write_file_atomic((fs::path(dir) / "LATEST").string(), name + "\n");
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
