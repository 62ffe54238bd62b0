#include "model/safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "common/error.h"

namespace distgru::model {
namespace {

using nlohmann::json;

// safetensors' dtype names.
const std::vector<std::pair<torch::ScalarType, std::string>>& dtype_names() {
  static const std::vector<std::pair<torch::ScalarType, std::string>> names = {
      {torch::kFloat, "F32"}, {torch::kDouble, "F64"},  {torch::kLong, "I64"}, {torch::kInt, "I32"},
      {torch::kBFloat16, "BF16"}, {torch::kHalf, "F16"}, {torch::kByte, "U8"}};
  return names;
}

std::string dtype_name(torch::ScalarType type) {
  for (const auto& [t, name] : dtype_names()) {
    if (t == type) return name;
  }
  DISTGRU_FAIL(std::string("safetensors: no dtype name for ") + c10::toString(type));
}

torch::ScalarType dtype_of(const std::string& name, const std::string& where) {
  for (const auto& [t, n] : dtype_names()) {
    if (n == name) return t;
  }
  DISTGRU_FAIL(where + ": dtype '" + name + "' is not one this reader knows");
}

}  // namespace

std::string safetensors_bytes(const SafetensorsFile& file) {
  json header = json::object();
  std::set<std::string> seen;
  std::vector<torch::Tensor> data;
  int64_t offset = 0;
  for (const auto& [name, tensor] : file.tensors) {
    DISTGRU_CHECK(seen.insert(name).second, "safetensors: tensor " + name + " appears twice");
    auto t = tensor.detach().to(torch::kCPU).contiguous();
    const int64_t bytes = t.numel() * static_cast<int64_t>(t.element_size());
    header[name] = {{"dtype", dtype_name(t.scalar_type())}, {"shape", t.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(t);
  }
  if (!file.metadata.empty()) header["__metadata__"] = file.metadata;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
  std::string out(8, '\0');
  const uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  out += text;
  for (const auto& t : data) out.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  return out;
}

SafetensorsFile parse_safetensors(const std::string& bytes, const std::string& source) {
  DISTGRU_CHECK(bytes.size() >= 8, source + ": too short for a safetensors file");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
  DISTGRU_CHECK(n <= bytes.size() - 8, source + ": header length " + std::to_string(n) + " runs past the file");
  json header;
  try {
    header = json::parse(bytes.substr(8, n));
  } catch (const json::exception& e) {
    DISTGRU_FAIL(source + ": the header is not JSON: " + e.what());
  }
  DISTGRU_CHECK(header.is_object(), source + ": the header is not a JSON object");
  const size_t data_begin = 8 + n;
  const uint64_t data_size = bytes.size() - data_begin;
  SafetensorsFile file;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& [name, entry] : header.items()) {
    const std::string where = source + ": tensor " + name;
    if (name == "__metadata__") {
      for (const auto& [key, value] : entry.items()) {
        DISTGRU_CHECK(value.is_string(), source + ": metadata " + key + " is not a string");
        file.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    try {
      const auto type = dtype_of(entry.at("dtype").get<std::string>(), where);
      const auto shape = entry.at("shape").get<std::vector<int64_t>>();
      const auto offsets = entry.at("data_offsets").get<std::vector<uint64_t>>();
      DISTGRU_CHECK(offsets.size() == 2 && offsets[0] <= offsets[1] && offsets[1] <= data_size,
                    where + ": data_offsets out of range");
      auto tensor = torch::empty(shape, torch::TensorOptions().dtype(type));
      const uint64_t expected = static_cast<uint64_t>(tensor.numel()) * tensor.element_size();
      DISTGRU_CHECK(offsets[1] - offsets[0] == expected,
                    where + ": " + std::to_string(offsets[1] - offsets[0]) + " bytes for " +
                        std::to_string(expected) + " of its shape");
      if (expected > 0) std::memcpy(tensor.data_ptr(), bytes.data() + data_begin + offsets[0], expected);
      ranges.emplace_back(offsets[0], offsets[1]);
      file.tensors.emplace_back(name, tensor);
    } catch (const json::exception& e) {
      DISTGRU_FAIL(where + ": " + e.what());
    }
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    DISTGRU_CHECK(ranges[i].first >= ranges[i - 1].second, source + ": two tensors overlap");
  }
  // In file order (the header's keys come out sorted).
  std::sort(file.tensors.begin(), file.tensors.end(), [&](const auto& a, const auto& b) {
    return header[a.first]["data_offsets"][0].template get<uint64_t>() <
           header[b.first]["data_offsets"][0].template get<uint64_t>();
  });
  return file;
}

std::vector<std::pair<std::string, torch::Tensor>> named_tensors(torch::nn::Module& module) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : module.named_parameters()) out.emplace_back(p.key(), p.value());
  return out;
}

void load_named_tensors(torch::nn::Module& module, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                        const std::string& source) {
  std::map<std::string, torch::Tensor> by_name(tensors.begin(), tensors.end());
  torch::NoGradGuard no_grad;
  for (auto& p : module.named_parameters()) {
    const auto it = by_name.find(p.key());
    DISTGRU_CHECK(it != by_name.end(), source + ": no tensor for parameter " + p.key());
    DISTGRU_CHECK(it->second.sizes() == p.value().sizes(),
                  source + ": " + p.key() + " has another shape than this model's parameter");
    p.value().copy_(it->second);
    by_name.erase(it);
  }
  DISTGRU_CHECK(by_name.empty(), source + ": tensor " + (by_name.empty() ? "" : by_name.begin()->first) +
                                     " is not a parameter of this model");
}

}  // namespace distgru::model
