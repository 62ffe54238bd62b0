// distgru-export: a trained model as a folder other tools serve (ONNX,
// safetensors, vocab.txt, config.json). A single process; no mpirun needed.
#include <boost/program_options.hpp>

#include <cstdio>
#include <iostream>
#include <sstream>

#include "common/error.h"
#include "common/log.h"
#include "export/model_folder.h"
#include "runtime/blas_kernels.h"
#include "runtime/process_settings.h"
#include "train/inference.h"
#include "train/provenance.h"

namespace po = boost::program_options;
using namespace distgru;

int main(int argc, char** argv) {
  runtime::use_best_blas_kernels(argv);  // may re-exec: before anything else
  std::string checkpoint, out, vocab, formats = "onnx,safetensors";
  po::options_description options(
      "Usage: distgru-export --checkpoint <file or run dir> --out <dir> [--format onnx,safetensors]\n\n"
      "Writes the model as a folder other tools serve: model.onnx (ONNX Runtime and other ONNX readers),\n"
      "model.safetensors (PyTorch's load_state_dict; examples/load_in_pytorch.py), vocab.txt and\n"
      "config.json (the model's shape, the tokeniser's settings, the vocabulary's SHA-256, the\n"
      "checkpoint it came from). distgru-predict and distgru-eval take the folder too.\nOptions");
  options.add_options()("help,h", "show this help")
      ("checkpoint", po::value(&checkpoint), "checkpoint file, or a run directory (best.pt, else newest)")
      ("out", po::value(&out), "the folder to write (created when missing)")
      ("format", po::value(&formats)->default_value(formats), "which model files: onnx, safetensors or both")
      ("vocab", po::value(&vocab), "the run's vocab.txt (default: the one in the data directory the run trained on)");
  exporter::ExportOptions what;
  try {
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, options), vm);
    po::notify(vm);
    if (vm.count("help")) {
      std::cout << options << std::endl;
      return 0;
    }
    if (checkpoint.empty() || out.empty()) throw Error("--checkpoint and --out are required (see --help)");
    what.onnx = what.safetensors = false;
    std::stringstream list(formats);
    for (std::string f; std::getline(list, f, ',');) {
      if (f == "onnx") what.onnx = true;
      else if (f == "safetensors") what.safetensors = true;
      else throw Error("--format: '" + f + "' is not onnx or safetensors");
    }
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitRefused;
  }
  init_logging(0, 1);
  try {
    runtime::configure_threads(0, 1);
    auto loaded = train::load_model(checkpoint, torch::kCPU);
    if (vocab.empty()) vocab = loaded.config.data_dir + "/vocab.txt";
    nlohmann::json made_by = {{"export", train::provenance(nullptr)}};
    if (!loaded.state.provenance.empty()) made_by["training"] = nlohmann::json::parse(loaded.state.provenance);
    const auto files = exporter::export_model_folder(loaded, vocab, out, what, made_by);
    std::printf("exported %s (step %lld) to %s:\n", loaded.path.c_str(), static_cast<long long>(loaded.state.step),
                out.c_str());
    for (const auto& f : files) std::printf("  %s\n", f.c_str());
  } catch (const AgreedError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitFailure;
  }
  return 0;
}
