#include "report/predictions_csv.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace distgru::report {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("distgru_report_" + name)).string();
}

TEST(PredictionsCsv, RoundTripsInDistgruEvalFormat) {
  const auto path = temp_path("roundtrip.csv");
  write_predictions_csv(path, {{0.25, 0.5, 0.875}, {0, 1, 1}});
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "index,probability,label,prediction\n0,0.25,0,0\n1,0.5,1,1\n2,0.875,1,1\n");
  const auto back = read_predictions_csv(path);
  EXPECT_EQ(back.probabilities, (std::vector<double>{0.25, 0.5, 0.875}));
  EXPECT_EQ(back.labels, (std::vector<int32_t>{0, 1, 1}));
  std::remove(path.c_str());
}

TEST(PredictionsCsv, ErrorsNameFileAndLine) {
  const auto path = temp_path("bad.csv");
  std::ofstream(path) << "index,probability,label,prediction\n0,0.5,1,1\n1,1.5,1,1\n";
  try {
    read_predictions_csv(path);
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":3"), std::string::npos) << e.what();
  }
  std::ofstream(path) << "a,b\n";
  EXPECT_THROW(read_predictions_csv(path), std::exception);
  std::remove(path.c_str());
  EXPECT_THROW(read_predictions_csv(path), std::exception);
}

}  // namespace
}  // namespace distgru::report
