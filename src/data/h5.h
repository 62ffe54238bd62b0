#pragma once
// Thin RAII layer over the HDF5 C API. Every HDF5 call in the project goes
// through DISTGRU_H5_CHECK, which throws distgru::Error carrying the call, the
// file it concerned and HDF5's own innermost error description. Raw hid_t
// values never outlive their owner.

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <utility>

namespace distgru::data::h5 {

// Turns off HDF5's automatic printing of error stacks to stderr (once per
// process): our checks report errors as exceptions instead.
void silence_errors();

// Innermost description on HDF5's default error stack ("" when empty); clears
// the stack.
std::string error_message();

[[noreturn]] void fail(const char* call, const std::string& context, const char* file, int line);

// HDF5 signals failure with a negative herr_t / hid_t / htri_t.
template <typename T>
T check(T result, const char* call, const std::string& context, const char* file, int line) {
  if (result < 0) fail(call, context, file, line);
  return result;
}

// One non-copyable, movable owner per kind of HDF5 id.
template <herr_t (*Close)(hid_t)>
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  ~Handle() { reset(); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
    }
    return *this;
  }

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  // Closes now and reports failure; used where closing flushes written data.
  void close(const std::string& context);
  // Closes, ignoring errors: destructors must not throw.
  void reset() {
    if (id_ >= 0) Close(id_);
    id_ = H5I_INVALID_HID;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

using File = Handle<H5Fclose>;
using Group = Handle<H5Gclose>;
using Dataset = Handle<H5Dclose>;
using Dataspace = Handle<H5Sclose>;
using Attribute = Handle<H5Aclose>;
using Datatype = Handle<H5Tclose>;
using PropList = Handle<H5Pclose>;

// Scalar attributes on `loc` (a file means its root group). Readers throw
// naming `context` and the attribute when it is missing or of the wrong kind.
void write_int_attr(hid_t loc, const char* name, int64_t value, hid_t file_type,
                    const std::string& context);
int64_t read_int_attr(hid_t loc, const char* name, const std::string& context);
void write_string_attr(hid_t loc, const char* name, const std::string& value,
                       const std::string& context);
std::string read_string_attr(hid_t loc, const char* name, const std::string& context);

// "1.10.8": the HDF5 library in use.
std::string library_version();

}  // namespace distgru::data::h5

#define DISTGRU_H5_CHECK(call, context) \
  ::distgru::data::h5::check((call), #call, (context), __FILE__, __LINE__)

namespace distgru::data::h5 {
template <herr_t (*Close)(hid_t)>
void Handle<Close>::close(const std::string& context) {
  hid_t id = std::exchange(id_, H5I_INVALID_HID);
  if (id >= 0) DISTGRU_H5_CHECK(Close(id), context);
}
}  // namespace distgru::data::h5
