#pragma once
// --sample-log: which training rows each rank trained on at each step, so
// the data order of a run that was resumed, restarted or moved to another
// world size can be audited afterwards (every row of an epoch seen once).
//
// One text file per rank and start of the trainer,
// <checkpoint-dir>/samples/<run>-rank<R>.txt, where <run> is rank 0's run id
// (metrics.jsonl's "run") shared by every rank of that start. Format:
//   # run <id> rank <R> of <W> resumed-at-step <S> started <unix seconds>
//   <step> <epoch> <row> <row> ...     (one line per step after it is applied)
// Rows are indices into the training rows [0, n) left after the validation
// hold-out (the split's tail; train/training_data.h); epochs count from 0. Steps a
// later start redid (after the checkpoint it resumed from) appear in both
// files: the later start's line is the one whose update the run kept.
// Each line is flushed as written, so a crash loses none before it.

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace distgru::train {

class SampleLog {
 public:
  // Creates <dir>/samples/ and this rank's file; throws distgru::Error
  // naming the path when it cannot.
  SampleLog(const std::string& checkpoint_dir, const std::string& run_id, int rank, int world_size,
            int64_t resumed_at_step);
  // Appends one step's rows; throws naming the file when the write fails.
  void record(int64_t step, int64_t epoch, const std::vector<int64_t>& rows);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
};

}  // namespace distgru::train
