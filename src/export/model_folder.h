#pragma once
// A trained model as a self-describing folder that other tools can serve
// without distgru (README "Using the model elsewhere"):
//   model.onnx         the whole network (onnx_export.h), for ONNX Runtime & co.
//   model.safetensors  the weights under PyTorch's names (embedding.weight,
//                      encoder.weight_ih_l0, ..._reverse, ...), for
//                      load_state_dict(strict=True) (model/safetensors.h)
//   vocab.txt          the vocabulary the model was trained with
//   config.json        the model's shape, the tokeniser's settings (ids of
//                      pad/start/oov, truncation side, sentence size), the
//                      vocabulary's SHA-256, the checkpoint it came from, and
//                      the provenance of the build that wrote it
// distgru-predict and distgru-eval take the folder in place of a checkpoint.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "common/file_system.h"
#include "train/inference.h"

namespace distgru::exporter {

struct ExportOptions {
  bool onnx = true;
  bool safetensors = true;
};

// Writes the folder `out_dir` (created when missing; existing files of these
// names are replaced, each atomically) and returns the paths written, config.json
// last. `vocab_path` is the vocabulary the model was trained with: its
// SHA-256 must be the checkpoint's (train/inference.h check_vocabulary).
// `provenance` goes into config.json as it is.
std::vector<std::string> export_model_folder(train::LoadedModel& loaded, const std::string& vocab_path,
                                             const std::string& out_dir, const ExportOptions& options,
                                             const nlohmann::json& provenance, FileSystem& files = FileSystem::local());

}  // namespace distgru::exporter
