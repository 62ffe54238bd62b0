#pragma once
// Small file helpers shared by the data layer. Every failure throws
// distgru::Error naming the file and the OS reason.

#include <cstdint>
#include <string>
#include <string_view>

namespace distgru::data {

// Reads the whole file (binary).
std::string read_file(const std::string& path);

// Writes `content` atomically (LevelDB SetCurrentFile style): path.tmp is
// written, flushed and fsynced, renamed over `path`, then the directory is
// fsynced. Readers see either the old file or the complete new one.
void write_file_atomic(const std::string& path, std::string_view content);

// Second half of write_file_atomic for files written by another library
// (HDF5): fsyncs the closed `tmp_path`, renames it to `path`, fsyncs the
// directory.
void commit_file(const std::string& tmp_path, const std::string& path);

// Size in bytes; throws when the file is missing.
int64_t file_size(const std::string& path);

}  // namespace distgru::data
