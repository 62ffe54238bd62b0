#include "data/imdb_reader.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>
#include <system_error>

#include "common/error.h"
#include "common/file_system.h"

namespace distgru::data {
namespace fs = std::filesystem;
namespace {

constexpr const char* kSplits[] = {"train", "test"};
constexpr const char* kLabelDirs[] = {"neg", "pos"};  // index = label

struct Match {
  std::string relative;  // "train/pos/1_9.txt"
  bool train;
  int32_t label;
};

// Recognises ".../aclImdb/{train,test}/{pos,neg}/NAME.txt" with any prefix.
std::optional<Match> match_review(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    if (!part.empty() && part != ".") parts.push_back(part);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
  }
  if (parts.size() < 4) return std::nullopt;
  const size_t n = parts.size();
  std::string_view name = parts[n - 1];
  if (parts[n - 4] != "aclImdb" || name.size() <= 4 || name.substr(name.size() - 4) != ".txt") {
    return std::nullopt;
  }
  const bool train = parts[n - 3] == "train";
  if (!train && parts[n - 3] != "test") return std::nullopt;
  const int32_t label = parts[n - 2] == "pos" ? 1 : parts[n - 2] == "neg" ? 0 : -1;
  if (label < 0) return std::nullopt;
  std::string relative =
      std::string(parts[n - 3]) + "/" + std::string(parts[n - 2]) + "/" + std::string(name);
  return Match{std::move(relative), train, label};
}

void add(ImdbCorpus& corpus, Match match, std::string text) {
  (match.train ? corpus.train : corpus.test)
      .push_back(Review{std::move(match.relative), std::move(text), match.label});
}

void read_directory(const std::string& source, ImdbCorpus& corpus) {
  fs::path root = source;
  if (fs::is_directory(root / "aclImdb")) root /= "aclImdb";
  for (const char* split : kSplits) {
    for (const char* label_dir : kLabelDirs) {
      const fs::path dir = root / split / label_dir;
      if (!fs::is_directory(dir)) continue;
      std::error_code ec;
      for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (!it->is_regular_file()) continue;
        const std::string rel = std::string("aclImdb/") + split + "/" + label_dir + "/" +
                                it->path().filename().string();
        if (auto match = match_review(rel)) add(corpus, std::move(*match), read_file(it->path()));
      }
      DISTGRU_CHECK(!ec, source + ": cannot list " + dir.string() + ": " + ec.message());
    }
  }
}

// Owns a libarchive reader.
class ArchiveReader {
 public:
  explicit ArchiveReader(const std::string& path) : path_(path), a_(archive_read_new()) {
    DISTGRU_CHECK(a_ != nullptr, path + ": archive_read_new failed");
    check(archive_read_support_filter_all(a_), "archive_read_support_filter_all");
    check(archive_read_support_format_all(a_), "archive_read_support_format_all");
    check(archive_read_open_filename(a_, path.c_str(), 1 << 20), "cannot open archive");
  }
  ~ArchiveReader() { archive_read_free(a_); }
  ArchiveReader(const ArchiveReader&) = delete;
  ArchiveReader& operator=(const ArchiveReader&) = delete;

  // Next entry, or nullptr at the end.
  archive_entry* next() {
    archive_entry* entry = nullptr;
    int r = archive_read_next_header(a_, &entry);
    if (r == ARCHIVE_EOF) return nullptr;
    check(r, "cannot read the next archive entry");
    return entry;
  }

  std::string read_data(archive_entry* entry) {
    std::string data;
    if (archive_entry_size_is_set(entry)) data.reserve(archive_entry_size(entry));
    char buffer[1 << 16];
    for (;;) {
      la_ssize_t n = archive_read_data(a_, buffer, sizeof(buffer));
      if (n == 0) break;
      if (n < 0) {
        check(static_cast<int>(n), std::string("cannot read ") + archive_entry_pathname(entry));
        continue;  // ARCHIVE_WARN: data still usable
      }
      data.append(buffer, static_cast<size_t>(n));
    }
    return data;
  }

 private:
  // ARCHIVE_WARN is tolerated (e.g. unknown extended headers); worse throws
  // with libarchive's own message.
  void check(int r, const std::string& what) {
    if (r >= ARCHIVE_WARN) return;
    const char* msg = archive_error_string(a_);
    DISTGRU_FAIL(path_ + ": " + what + ": " + (msg ? msg : "unknown libarchive error") +
                 " (corrupt or not a supported archive?)");
  }

  std::string path_;
  archive* a_;
};

void read_archive(const std::string& source, ImdbCorpus& corpus) {
  ArchiveReader reader(source);
  while (archive_entry* entry = reader.next()) {
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    const char* name = archive_entry_pathname(entry);
    if (name == nullptr) continue;
    if (auto match = match_review(name)) add(corpus, std::move(*match), reader.read_data(entry));
  }
}

}  // namespace

ImdbCorpus read_imdb(const std::string& source) {
  std::error_code ec;
  const fs::file_status status = fs::status(source, ec);
  DISTGRU_CHECK(fs::exists(status), source + ": no such file or directory");
  ImdbCorpus corpus;
  if (fs::is_directory(status)) {
    read_directory(source, corpus);
  } else {
    read_archive(source, corpus);
  }
  for (const char* split : kSplits) {
    std::vector<Review>& reviews = std::string(split) == "train" ? corpus.train : corpus.test;
    DISTGRU_CHECK(!reviews.empty(),
                  source + ": no reviews found under aclImdb/" + split + "/{pos,neg}");
    std::sort(reviews.begin(), reviews.end(),
              [](const Review& a, const Review& b) { return a.path < b.path; });
    auto dup =
        std::adjacent_find(reviews.begin(), reviews.end(),
                           [](const Review& a, const Review& b) { return a.path == b.path; });
    DISTGRU_CHECK(
        dup == reviews.end(),
        source + ": review " + (dup == reviews.end() ? "" : dup->path) + " appears twice");
  }
  return corpus;
}

}  // namespace distgru::data
