#include "data/word_vectors.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "data/manifest.h"

namespace distgru::data {

std::string resolve_word_vectors(const std::string& setting, const std::string& data_dir) {
  if (setting.empty() || setting == "none") return "";
  if (setting != "data") return setting;
  const auto dir = std::filesystem::path(data_dir);
  const auto vectors = (dir / kWordVectorsFile).string();
  const auto record = (dir / kWordVectorsRecord).string();
  DISTGRU_CHECK(std::filesystem::is_regular_file(vectors),
                "--glove data: " + vectors + " does not exist; make it from the training reviews with "
                "`data/pretrain_vectors.sh " + data_dir + "` (about 3 minutes on 2 cores), or pass --glove none to "
                "start from random vectors");
  std::ifstream in(record);
  DISTGRU_CHECK(in.good(), "--glove data: " + record + " (the record of " + vectors +
                               ") cannot be read; remake both with data/pretrain_vectors.sh " + data_dir);
  std::string expected;
  try {
    expected = nlohmann::json::parse(in).at("vectors_sha256").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    DISTGRU_FAIL(record + ": not a word-vector record (" + e.what() + "); remake it with data/pretrain_vectors.sh " +
                 data_dir);
  }
  const auto actual = sha256_file(vectors);
  DISTGRU_CHECK(actual == expected, vectors + ": SHA-256 " + actual + " but " + record + " records " + expected +
                                        ": the file changed or was cut short after it was made; remake it with "
                                        "data/pretrain_vectors.sh " + data_dir);
  return vectors;
}

}  // namespace distgru::data
