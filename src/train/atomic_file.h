#pragma once
// Whole-file writes that are never seen half-done, in the manner of LevelDB's
// SetCurrentFile: write "<path>.tmp", fsync it, rename over <path>, fsync the
// directory. A crash at any point leaves either the old file or the new one.

#include <string>

namespace distgru::train {

void write_file_atomic(const std::string& path, const std::string& contents);

// The whole file; throws distgru::Error naming it when it cannot be read.
std::string read_file(const std::string& path);

// Test hook: with DISTGRU_TEST_PAUSE_IN_WRITE="<part of a file name>:<seconds>"
// in the environment, write_file_atomic pauses that long after writing half of
// any file whose path contains the part, so a test can kill the writer
// mid-write. Returns 0 when the hook does not apply to `path`.
double test_pause_in_write_seconds(const std::string& path);

}  // namespace distgru::train
