#pragma once
// Model weights in the safetensors format (huggingface/safetensors), which
// PyTorch, JAX and most serving stacks read without running any code from the
// file: an 8-byte little-endian header length N, N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [20000, 100], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"key": "value", ...}}
// padded with spaces to a multiple of 8, then the tensors' bytes, little-endian,
// C order, at those offsets (relative to the end of the header).

#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace distgru::model {

struct SafetensorsFile {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;  // in file order
  std::map<std::string, std::string> metadata;
};

// The file's bytes. Tensors are written as they are (F32, F64, I64, I32,
// BF16, F16, U8), contiguous, from the CPU. Throws distgru::Error for another
// dtype or a repeated name.
std::string safetensors_bytes(const SafetensorsFile& file);

// Parses `bytes` (read from `source`, named in errors): every tensor on the
// CPU, in the header's order. Throws distgru::Error naming `source` for a
// malformed header, an unknown dtype, offsets out of range or overlapping.
SafetensorsFile parse_safetensors(const std::string& bytes, const std::string& source);

// The model's named parameters, as PyTorch's state_dict names them.
std::vector<std::pair<std::string, torch::Tensor>> named_tensors(torch::nn::Module& module);

// Copies `tensors` into the module's parameters, by name. Throws naming the
// parameter for a missing, extra or differently shaped tensor.
void load_named_tensors(torch::nn::Module& module, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                        const std::string& source);

}  // namespace distgru::model
