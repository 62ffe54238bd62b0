#pragma once
// A checkpoint file's framing, apart from what is inside it: a 56-byte header
// (magic "DISTGRU\n", format version, reserved, payload length, SHA-256 of
// the payload) then the payload, LibTorch's archive. A truncated or corrupted
// file is caught here, before anything is parsed.

#include <cstdint>
#include <string>

namespace distgru::train {

constexpr int64_t kCheckpointFormat = 2;

// The header followed by `payload`.
std::string frame_checkpoint(const std::string& payload);

// The verified payload of the file's bytes, or "" with the reason in
// `*problem` ("truncated: …", "checksum mismatch (corrupted)", …).
std::string unframe_checkpoint(const std::string& file, std::string* problem);

// The payload's SHA-256 from the header of `file`, in hex. The file must
// have passed unframe_checkpoint.
std::string framed_digest(const std::string& file);

}  // namespace distgru::train
