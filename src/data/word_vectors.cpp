#include "data/word_vectors.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <vector>

#include "common/error.h"
#include "data/manifest.h"

namespace distgru::data {

std::string resolve_word_vectors(const std::string& setting, const std::string& data_dir, double val_fraction) {
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
  std::vector<std::string> learned_from;
  double left_out = 0;
  try {
    const auto made = nlohmann::json::parse(in);
    expected = made.at("vectors_sha256").get<std::string>();
    learned_from = made.at("train_shards").get<std::vector<std::string>>();
    left_out = made.at("val_fraction_left_out").get<double>();
  } catch (const nlohmann::json::exception& e) {
    DISTGRU_FAIL(record + ": not a word-vector record (" + e.what() + "); remake it with data/pretrain_vectors.sh " +
                 data_dir);
  }
  const auto actual = sha256_file(vectors);
  DISTGRU_CHECK(actual == expected, vectors + ": SHA-256 " + actual + " but " + record + " records " + expected +
                                        ": the file changed or was cut short after it was made; remake it with "
                                        "data/pretrain_vectors.sh " + data_dir);
  std::vector<std::string> shards;
  for (const auto& f : load_manifest(data_dir).files_of("train")) shards.push_back(f.sha256);
  const std::string remake = "; remake them with `data/pretrain_vectors.sh " + data_dir + " --val-fraction " +
                             fmt::format("{:g}", val_fraction) + "`, or pass --glove none";
  DISTGRU_CHECK(learned_from == shards, "--glove data: " + vectors +
                                            " was learned from other training shards than " + data_dir +
                                            "/manifest.json lists (the data were prepared again after it)" + remake);
  // The validation reviews are the training split's last val_fraction: a
  // tail the vectors did not leave out is a tail they trained on, and
  // validation would then score words the model saw in those very reviews.
  DISTGRU_CHECK(val_fraction <= left_out + 1e-9,
                fmt::format("--glove data: {} left out the last {:g} of the training reviews, but this run "
                            "validates on the last {:g}: the vectors learned from {:g} of its validation reviews",
                            vectors, left_out, val_fraction, val_fraction - left_out) +
                    remake);
  return vectors;
}

}  // namespace distgru::data
