#include "data/h5.h"

#include <vector>

#include "common/error.h"

namespace distgru::data::h5 {

void silence_errors() {
  static const bool done = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)done;
}

namespace {

struct WalkState {
  std::string innermost;
  bool locking = false;  // some level failed to lock the file
};

herr_t record_innermost(unsigned n, const H5E_error2_t* err, void* data) {
  auto* state = static_cast<WalkState*>(data);
  if (err != nullptr && err->desc != nullptr && std::string(err->desc).find("lock") != std::string::npos) {
    state->locking = true;
  }
  // Walking upward, n == 0 is where the error was detected: usually the most
  // telling line ("truncated file: eof = ...", "errno = 2, ...").
  if (n == 0 && err != nullptr) {
    state->innermost = err->desc != nullptr ? err->desc : "";
    if (err->func_name != nullptr) state->innermost += std::string(" (in ") + err->func_name + ")";
  }
  return 0;
}

}  // namespace

std::string library_version() {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release);
}

std::string error_message() {
  WalkState state;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, record_innermost, &state);
  H5Eclear2(H5E_DEFAULT);
  if (state.locking) {
    // Network filesystems (NFS, Lustre without flock) refuse HDF5's file
    // locks; the shards are only ever read there, so locking can go.
    state.innermost += "; on a network filesystem, set HDF5_USE_FILE_LOCKING=FALSE in the environment of "
                       "every rank (mpirun -x HDF5_USE_FILE_LOCKING=FALSE)";
  }
  return state.innermost;
}

void fail(const char* call, const std::string& context, const char* file, int line) {
  std::string detail = error_message();
  if (detail.empty()) detail = "no HDF5 error details";
  throw_error(context + ": HDF5 call " + call + " failed: " + detail, file, line);
}

void write_int_attr(hid_t loc, const char* name, int64_t value, hid_t file_type,
                    const std::string& context) {
  Dataspace space(DISTGRU_H5_CHECK(H5Screate(H5S_SCALAR), context));
  Attribute attr(DISTGRU_H5_CHECK(
      H5Acreate2(loc, name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT), context));
  DISTGRU_H5_CHECK(H5Awrite(attr.get(), H5T_NATIVE_INT64, &value), context);
}

namespace {

Attribute open_attr(hid_t loc, const char* name, H5T_class_t expected_class,
                    const std::string& context) {
  htri_t exists = DISTGRU_H5_CHECK(H5Aexists(loc, name), context);
  DISTGRU_CHECK(exists > 0, context + ": attribute '" + name + "' is missing");
  Attribute attr(DISTGRU_H5_CHECK(H5Aopen(loc, name, H5P_DEFAULT), context));
  Dataspace space(DISTGRU_H5_CHECK(H5Aget_space(attr.get()), context));
  Datatype type(DISTGRU_H5_CHECK(H5Aget_type(attr.get()), context));
  const bool scalar = H5Sget_simple_extent_type(space.get()) == H5S_SCALAR;
  DISTGRU_CHECK(scalar && H5Tget_class(type.get()) == expected_class,
                context + ": attribute '" + name + "' is not a scalar " +
                    (expected_class == H5T_STRING ? "string" : "integer"));
  return attr;
}

}  // namespace

int64_t read_int_attr(hid_t loc, const char* name, const std::string& context) {
  Attribute attr = open_attr(loc, name, H5T_INTEGER, context);
  int64_t value = 0;
  DISTGRU_H5_CHECK(H5Aread(attr.get(), H5T_NATIVE_INT64, &value), context);
  return value;
}

void write_string_attr(hid_t loc, const char* name, const std::string& value,
                       const std::string& context) {
  Datatype type(DISTGRU_H5_CHECK(H5Tcopy(H5T_C_S1), context));
  DISTGRU_H5_CHECK(H5Tset_size(type.get(), value.empty() ? 1 : value.size()), context);
  DISTGRU_H5_CHECK(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), context);
  Dataspace space(DISTGRU_H5_CHECK(H5Screate(H5S_SCALAR), context));
  Attribute attr(DISTGRU_H5_CHECK(
      H5Acreate2(loc, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), context));
  std::string padded = value.empty() ? std::string(1, '\0') : value;
  DISTGRU_H5_CHECK(H5Awrite(attr.get(), type.get(), padded.data()), context);
}

std::string read_string_attr(hid_t loc, const char* name, const std::string& context) {
  Attribute attr = open_attr(loc, name, H5T_STRING, context);
  Datatype type(DISTGRU_H5_CHECK(H5Aget_type(attr.get()), context));
  htri_t variable = DISTGRU_H5_CHECK(H5Tis_variable_str(type.get()), context);
  DISTGRU_CHECK(variable == 0,
                context + ": attribute '" + name + "' is a variable-length string; expected fixed");
  const size_t size = H5Tget_size(type.get());
  DISTGRU_CHECK(size > 0 && size < (1u << 20),
                context + ": attribute '" + name + "' has a bad size");
  std::vector<char> buffer(size + 1, '\0');
  DISTGRU_H5_CHECK(H5Aread(attr.get(), type.get(), buffer.data()), context);
  return std::string(buffer.data());  // stops at the first NUL padding byte
}

}  // namespace distgru::data::h5
