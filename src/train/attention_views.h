#pragma once
// Predictions as the attention heat map shows them (report/heatmap_html.h):
// a review typed by a person, or reviews sampled from a prepared split.

#include <cstdint>
#include <string>
#include <vector>

#include "data/vocabulary.h"
#include "report/heatmap_html.h"
#include "train/inference.h"

namespace distgru::train {

// A prediction on raw text; the positions after the review are padding and
// share whatever weight the real tokens do not.
report::ReviewView view_of(const Prediction& prediction, std::string name, int64_t sentence_size);

// `count` distinct reviews of `split` in the prepared directory `dir`, chosen
// with `seed` and shown in file order, scored by the loaded model. Only the
// ids are stored, so a word outside the vocabulary shows as <oov>.
std::vector<report::ReviewView> sample_views(LoadedModel& loaded, const data::Vocabulary& vocab,
                                             const std::string& dir, const std::string& split, int64_t count,
                                             uint64_t seed);

}  // namespace distgru::train
