#include "data/shard.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "common/error.h"
#include "common/file_system.h"

namespace distgru::data {
namespace {

constexpr int64_t kFormatVersion = 1;
// ~256 KB of ids per chunk at sentence_size 256: large enough for deflate to
// work well, small enough that reading a rank's slice wastes little.
constexpr hsize_t kChunkRows = 256;
constexpr int kDeflateLevel = 4;

// A dataset creation list with object timestamps off: files must be
// byte-identical across runs.
h5::PropList deterministic_dcpl(const std::string& context) {
  h5::PropList dcpl(DISTGRU_H5_CHECK(H5Pcreate(H5P_DATASET_CREATE), context));
  DISTGRU_H5_CHECK(H5Pset_obj_track_times(dcpl.get(), false), context);
  return dcpl;
}

void write_x(hid_t file, const ShardMeta& meta, const std::vector<int32_t>& x,
             const std::string& context) {
  const hsize_t dims[2] = {static_cast<hsize_t>(meta.num_samples),
                           static_cast<hsize_t>(meta.sentence_size)};
  h5::Dataspace space(DISTGRU_H5_CHECK(H5Screate_simple(2, dims, nullptr), context));
  h5::PropList dcpl = deterministic_dcpl(context);
  if (dims[0] > 0) {  // a chunk may not exceed a fixed dimension, so empty stays contiguous
    const hsize_t chunk[2] = {std::min(dims[0], kChunkRows), dims[1]};
    DISTGRU_H5_CHECK(H5Pset_chunk(dcpl.get(), 2, chunk), context);
    DISTGRU_H5_CHECK(H5Pset_shuffle(dcpl.get()), context);
    DISTGRU_H5_CHECK(H5Pset_deflate(dcpl.get(), kDeflateLevel), context);
  }
  h5::Dataset ds(DISTGRU_H5_CHECK(
      H5Dcreate2(file, "x", H5T_STD_I32LE, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
      context));
  if (dims[0] > 0) {
    DISTGRU_H5_CHECK(H5Dwrite(ds.get(), H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, x.data()),
                     context);
  }
}

void write_y(hid_t file, const std::vector<int32_t>& y, const std::string& context) {
  const hsize_t dims[1] = {y.size()};
  h5::Dataspace space(DISTGRU_H5_CHECK(H5Screate_simple(1, dims, nullptr), context));
  h5::PropList dcpl = deterministic_dcpl(context);
  h5::Dataset ds(DISTGRU_H5_CHECK(
      H5Dcreate2(file, "y", H5T_STD_I32LE, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
      context));
  if (!y.empty()) {
    DISTGRU_H5_CHECK(H5Dwrite(ds.get(), H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, y.data()),
                     context);
  }
}

void write_attrs(hid_t file, const ShardMeta& meta, const std::string& context) {
  h5::write_int_attr(file, "format_version", kFormatVersion, H5T_STD_I32LE, context);
  h5::write_string_attr(file, "split", meta.split, context);
  const std::pair<const char*, int32_t> ints[] = {
      {"vocab_size", meta.vocab_size},   {"sentence_size", meta.sentence_size},
      {"pad_id", meta.pad_id},           {"start_id", meta.start_id},
      {"oov_id", meta.oov_id},           {"index_offset", meta.index_offset},
      {"shard_index", meta.shard_index}, {"shard_count", meta.shard_count}};
  for (const auto& [name, value] : ints) {
    h5::write_int_attr(file, name, value, H5T_STD_I32LE, context);
  }
  h5::write_int_attr(file, "num_samples", meta.num_samples, H5T_STD_I64LE, context);
}

void write_tmp(const std::string& tmp, const ShardMeta& meta, const std::vector<int32_t>& x,
               const std::vector<int32_t>& y) {
  // Fixed file-creation setup: no timestamps on the root group, and the
  // oldest object formats that hold our data (v1.8), so output does not
  // depend on the writer's HDF5 defaults.
  h5::PropList fcpl(DISTGRU_H5_CHECK(H5Pcreate(H5P_FILE_CREATE), tmp));
  DISTGRU_H5_CHECK(H5Pset_obj_track_times(fcpl.get(), false), tmp);
  h5::PropList fapl(DISTGRU_H5_CHECK(H5Pcreate(H5P_FILE_ACCESS), tmp));
  DISTGRU_H5_CHECK(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_EARLIEST, H5F_LIBVER_V18), tmp);
  h5::File file(
      DISTGRU_H5_CHECK(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get()), tmp));
  write_x(file.get(), meta, x, tmp);
  write_y(file.get(), y, tmp);
  write_attrs(file.get(), meta, tmp);
  file.close(tmp);
}

std::string describe_row(const std::string& path, int64_t row) {
  return path + ": row " + std::to_string(row);
}

}  // namespace

void write_shard(const std::string& path, const ShardMeta& meta, const std::vector<int32_t>& x,
                 const std::vector<int32_t>& y) {
  h5::silence_errors();
  DISTGRU_CHECK(meta.sentence_size > 0, path + ": sentence_size must be positive");
  DISTGRU_CHECK(meta.num_samples == static_cast<int64_t>(y.size()),
                path + ": meta.num_samples is " + std::to_string(meta.num_samples) + " but y has " +
                    std::to_string(y.size()) + " labels");
  DISTGRU_CHECK(x.size() == y.size() * static_cast<size_t>(meta.sentence_size),
                path + ": x has " + std::to_string(x.size()) + " ids, expected num_samples * " +
                    "sentence_size = " + std::to_string(y.size() * meta.sentence_size));
  const std::string tmp = path + ".tmp";
  try {
    write_tmp(tmp, meta, x, y);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw;
  }
  commit_file(tmp, path);
}

ShardReader::ShardReader(const std::string& path) : path_(path) {
  h5::silence_errors();
  std::error_code ec;
  DISTGRU_CHECK(std::filesystem::is_regular_file(path, ec), path + ": missing (no such file)");
  file_ = h5::File(DISTGRU_H5_CHECK(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), path));
  const hid_t f = file_.get();
  const int64_t version = h5::read_int_attr(f, "format_version", path);
  DISTGRU_CHECK(version == kFormatVersion,
                path + ": shard format_version " + std::to_string(version) + " is not supported");
  meta_.split = h5::read_string_attr(f, "split", path);
  auto read_i32 = [&](const char* name) {
    return static_cast<int32_t>(h5::read_int_attr(f, name, path));
  };
  meta_.vocab_size = read_i32("vocab_size");
  meta_.sentence_size = read_i32("sentence_size");
  meta_.pad_id = read_i32("pad_id");
  meta_.start_id = read_i32("start_id");
  meta_.oov_id = read_i32("oov_id");
  meta_.index_offset = read_i32("index_offset");
  meta_.shard_index = read_i32("shard_index");
  meta_.shard_count = read_i32("shard_count");
  meta_.num_samples = h5::read_int_attr(f, "num_samples", path);
  DISTGRU_CHECK(meta_.vocab_size > 0 && meta_.sentence_size > 0 && meta_.num_samples >= 0 &&
                    meta_.shard_index >= 0 && meta_.shard_index < meta_.shard_count,
                path +
                    ": inconsistent attributes (vocab_size, sentence_size, num_samples or "
                    "shard_index/shard_count out of range)");

  x_ = h5::Dataset(DISTGRU_H5_CHECK(H5Dopen2(f, "x", H5P_DEFAULT), path));
  y_ = h5::Dataset(DISTGRU_H5_CHECK(H5Dopen2(f, "y", H5P_DEFAULT), path));
  auto check_shape = [&](const h5::Dataset& ds, const char* name, int rank, const hsize_t* want) {
    h5::Dataspace space(DISTGRU_H5_CHECK(H5Dget_space(ds.get()), path));
    hsize_t dims[2] = {0, 0};
    int got = DISTGRU_H5_CHECK(H5Sget_simple_extent_dims(space.get(), dims, nullptr), path);
    h5::Datatype type(DISTGRU_H5_CHECK(H5Dget_type(ds.get()), path));
    DISTGRU_CHECK(H5Tget_class(type.get()) == H5T_INTEGER,
                  path + ": dataset '" + name + "' is not an integer dataset");
    bool ok = got == rank;
    for (int i = 0; ok && i < rank; ++i) ok = dims[i] == want[i];
    DISTGRU_CHECK(ok,
                  path + ": dataset '" + name + "' has shape [" + std::to_string(dims[0]) +
                      (got == 2 ? ", " + std::to_string(dims[1]) : "") +
                      "] but the attributes say num_samples=" + std::to_string(meta_.num_samples) +
                      " sentence_size=" + std::to_string(meta_.sentence_size));
  };
  const hsize_t x_dims[2] = {static_cast<hsize_t>(meta_.num_samples),
                             static_cast<hsize_t>(meta_.sentence_size)};
  check_shape(x_, "x", 2, x_dims);
  check_shape(y_, "y", 1, x_dims);
}

void ShardReader::read(int64_t begin, int64_t end, int32_t* x, int32_t* y) const {
  DISTGRU_CHECK(0 <= begin && begin <= end && end <= meta_.num_samples,
                path_ + ": rows [" + std::to_string(begin) + ", " + std::to_string(end) +
                    ") are outside [0, " + std::to_string(meta_.num_samples) + ")");
  if (begin == end) return;
  const hsize_t rows = static_cast<hsize_t>(end - begin);
  const hsize_t cols = static_cast<hsize_t>(meta_.sentence_size);
  {
    const hsize_t start[2] = {static_cast<hsize_t>(begin), 0}, count[2] = {rows, cols};
    h5::Dataspace file_space(DISTGRU_H5_CHECK(H5Dget_space(x_.get()), path_));
    DISTGRU_H5_CHECK(
        H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr),
        path_);
    h5::Dataspace mem_space(DISTGRU_H5_CHECK(H5Screate_simple(2, count, nullptr), path_));
    DISTGRU_H5_CHECK(
        H5Dread(x_.get(), H5T_NATIVE_INT32, mem_space.get(), file_space.get(), H5P_DEFAULT, x),
        path_);
  }
  {
    const hsize_t start[1] = {static_cast<hsize_t>(begin)}, count[1] = {rows};
    h5::Dataspace file_space(DISTGRU_H5_CHECK(H5Dget_space(y_.get()), path_));
    DISTGRU_H5_CHECK(
        H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr),
        path_);
    h5::Dataspace mem_space(DISTGRU_H5_CHECK(H5Screate_simple(1, count, nullptr), path_));
    DISTGRU_H5_CHECK(
        H5Dread(y_.get(), H5T_NATIVE_INT32, mem_space.get(), file_space.get(), H5P_DEFAULT, y),
        path_);
  }
  // Corrupt or mismatched data must fail here, not as an out-of-range
  // embedding lookup deep inside the model.
  for (hsize_t r = 0; r < rows; ++r) {
    const int32_t* row = x + r * cols;
    for (hsize_t c = 0; c < cols; ++c) {
      DISTGRU_CHECK(row[c] >= 0 && row[c] < meta_.vocab_size,
                    describe_row(path_, begin + static_cast<int64_t>(r)) + ", position " +
                        std::to_string(c) + ": token id " + std::to_string(row[c]) +
                        " is outside [0, " + std::to_string(meta_.vocab_size) + ")");
    }
    DISTGRU_CHECK(y[r] == 0 || y[r] == 1, describe_row(path_, begin + static_cast<int64_t>(r)) +
                                              ": label " + std::to_string(y[r]) + " is not 0 or 1");
  }
}

void check_compatible(const ShardMeta& actual, const ShardMeta& expected, const std::string& path) {
  std::string problems;
  auto compare = [&](const char* field, int64_t got, int64_t want) {
    if (got == want) return;
    if (!problems.empty()) problems += "; ";
    problems += std::string(field) + " is " + std::to_string(got) + " but the config says " +
                std::to_string(want);
  };
  compare("vocab_size", actual.vocab_size, expected.vocab_size);
  compare("sentence_size", actual.sentence_size, expected.sentence_size);
  compare("pad_id", actual.pad_id, expected.pad_id);
  compare("start_id", actual.start_id, expected.start_id);
  compare("oov_id", actual.oov_id, expected.oov_id);
  compare("index_offset", actual.index_offset, expected.index_offset);
  if (!expected.split.empty() && actual.split != expected.split) {
    if (!problems.empty()) problems += "; ";
    problems += "split is '" + actual.split + "' but '" + expected.split + "' was expected";
  }
  DISTGRU_CHECK(problems.empty(), path + ": " + problems);
}

}  // namespace distgru::data
