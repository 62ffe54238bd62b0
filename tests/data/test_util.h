#pragma once
// Helpers shared by the data tests: unique temporary directories and small
// synthetic aclImdb trees and archives.

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace distgru::data::testing {

namespace fs = std::filesystem;

// A fresh directory under the system temp dir, removed with its contents.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    path_ = fs::temp_directory_path() / ("distgru_data_test_" + std::to_string(::getpid()) + "_" +
                                         std::to_string(now) + "_" + std::to_string(counter++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

using Entries = std::vector<std::pair<std::string, std::string>>;  // path, contents

inline void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

inline void write_tree(const fs::path& root, const Entries& entries) {
  for (const auto& [name, text] : entries) write_text(root / name, text);
}

// Writes a gzip-compressed pax tar holding `entries` with libarchive's writer.
inline void write_tar_gz(const std::string& path, const Entries& entries) {
  archive* a = archive_write_new();
  ASSERT_EQ(archive_write_add_filter_gzip(a), ARCHIVE_OK);
  ASSERT_EQ(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
  ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK) << archive_error_string(a);
  for (const auto& [name, text] : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, name.c_str());
    archive_entry_set_size(entry, static_cast<la_int64_t>(text.size()));
    archive_entry_set_filetype(entry, AE_IFREG);
    archive_entry_set_perm(entry, 0644);
    ASSERT_EQ(archive_write_header(a, entry), ARCHIVE_OK) << archive_error_string(a);
    ASSERT_EQ(archive_write_data(a, text.data(), text.size()),
              static_cast<la_ssize_t>(text.size()));
    archive_entry_free(entry);
  }
  ASSERT_EQ(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
}

// A small balanced corpus: `per_class` reviews in each of train/test x
// pos/neg, with distinctive words so that classes differ.
inline Entries synthetic_corpus(int per_class, const std::string& prefix = "aclImdb/") {
  static const char* kPos[] = {"great", "wonderful", "loved", "superb"};
  static const char* kNeg[] = {"awful", "boring", "hated", "dull"};
  Entries entries;
  for (const char* split : {"train", "test"}) {
    for (int label = 0; label < 2; ++label) {
      for (int i = 0; i < per_class; ++i) {
        std::string text = "This movie was ";
        for (int k = 0; k <= i % 7; ++k)
          text += std::string(label ? kPos[(i + k) % 4] : kNeg[(i + k) % 4]) + " ";
        text += "<br /><br />Review number " + std::to_string(i) + " of the " + split + " set.";
        entries.emplace_back(prefix + split + (label ? "/pos/" : "/neg/") + std::to_string(i) +
                                 "_" + std::to_string(label ? 8 : 2) + ".txt",
                             text);
      }
    }
  }
  return entries;
}

}  // namespace distgru::data::testing
