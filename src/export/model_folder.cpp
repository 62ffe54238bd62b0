#include "export/model_folder.h"

#include <filesystem>
#include <utility>

#include "common/error.h"
#include "common/log.h"
#include "data/manifest.h"
#include "data/vocabulary.h"
#include "export/onnx_export.h"
#include "model/safetensors.h"
#include "train/checkpoint.h"

namespace distgru::exporter {

namespace fs = std::filesystem;

std::vector<std::string> export_model_folder(train::LoadedModel& loaded, const std::string& vocab_path,
                                             const std::string& out_dir, const ExportOptions& options,
                                             const nlohmann::json& provenance, FileSystem& files) {
  const std::string vocab_sha = data::sha256_file(vocab_path);
  train::check_vocabulary(loaded, vocab_sha, vocab_path);
  const auto vocab = data::Vocabulary::load(vocab_path);
  const auto& c = loaded.config;
  fs::create_directories(out_dir);
  std::vector<std::string> written;
  auto path = [&](const std::string& name) { return (fs::path(out_dir) / name).string(); };

  const std::string source = loaded.path + " (step " + std::to_string(loaded.state.step) + ")";
  if (options.onnx) {
    exporter::OnnxGraphInfo info;
    info.sentence_size = c.sentence_size;
    info.producer_note = "Exported from " + source + ".";
    write_file_atomic(path("model.onnx"), onnx_model_bytes(loaded.model, info), files);
    written.push_back(path("model.onnx"));
  }
  if (options.safetensors) {
    model::SafetensorsFile weights;
    weights.tensors = model::named_tensors(*loaded.model);
    weights.metadata = {{"format", "pt"}, {"source", source}};
    write_file_atomic(path("model.safetensors"), model::safetensors_bytes(weights), files);
    written.push_back(path("model.safetensors"));
  }
  write_file_atomic(path("vocab.txt"), read_file(vocab_path), files);
  written.push_back(path("vocab.txt"));

  const auto& m = loaded.model->config();
  nlohmann::json config = {
      {"format", "distgru-model"},
      {"format_version", 1},
      {"model",
       {{"architecture", "embedding -> bidirectional GRU -> attention MLP (ReLU) -> masked softmax over time -> "
                         "attention-weighted sum -> linear -> softmax"},
        {"vocab_size", m.vocab_size},
        {"embed_dim", m.embed_dim},
        {"hidden_size", m.hidden_size},
        {"attention_size", m.attention_size},
        {"num_classes", m.num_classes},
        {"mask_padding", m.mask_padding},
        {"masked_score", -1e9},
        {"classes", {"negative", "positive"}}}},
      {"tokenizer",
       {{"rules", "distgru data/README.md: <br /> separates words; ASCII letters lower-cased; a word is a run of "
                  "[A-Za-z0-9'] and bytes >= 0x80; apostrophes at its ends dropped"},
        {"sentence_size", c.sentence_size},
        {"pad_id", data::TokenIds::kPad},
        {"start_id", data::TokenIds::kStart},
        {"oov_id", data::TokenIds::kOov},
        {"index_offset", data::TokenIds::kIndexOffset},
        {"truncation", choice_name(vocab.truncation())},
        {"padding", "end"}}},
      {"vocabulary", {{"file", "vocab.txt"}, {"sha256", vocab_sha}}},
      {"files", nlohmann::json::object()},
      {"onnx",
       {{"inputs", {{{"name", "tokens"}, {"dtype", "int64"}, {"shape", {"batch", c.sentence_size}}}}},
        {"outputs",
         {{{"name", "probabilities"}, {"dtype", "float32"}, {"shape", {"batch", m.num_classes}}},
          {{"name", "attention"}, {"dtype", "float32"}, {"shape", {"batch", c.sentence_size}}}}},
        {"opset", 13}}},
      {"source",
       {{"checkpoint", loaded.path},
        {"checkpoint_sha256", loaded.digest},
        {"step", loaded.state.step},
        {"data_fingerprint", loaded.state.data_fingerprint}}},
      {"provenance", provenance}};
  if (options.onnx) config["files"]["onnx"] = "model.onnx";
  if (options.safetensors) config["files"]["safetensors"] = "model.safetensors";
  if (!options.onnx) config.erase("onnx");
  // A format this export does not write must not be left from an earlier
  // one into the same folder: it would be another model's, beside this
  // one's vocabulary and config.
  for (const auto& [name, wanted] : {std::pair{"model.onnx", options.onnx}, {"model.safetensors", options.safetensors}}) {
    if (!wanted && fs::exists(path(name))) {
      fs::remove(path(name));
      spdlog::info("removed {}, an earlier export's: this one writes no {}", path(name), name);
    }
  }
  write_file_atomic(path("config.json"), config.dump(2) + "\n", files);
  written.push_back(path("config.json"));
  return written;
}

}  // namespace distgru::exporter
