// safetensors files (huggingface's format): an 8-byte little-endian header length, a JSON header naming each
// tensor's dtype, shape and byte range, then the raw little-endian data. Errors are TensorErrors naming the path.
#pragma once
#include "frontend/tensor.h"
#include <map>
#include <string>

namespace patgrad {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

struct SafetensorsFile {
  NamedTensors tensors;                        // in the order of their data in the file
  std::map<std::string, std::string> metadata; // the header's optional __metadata__
};

// Reads and checks a whole file: every byte range in the data, none overlapping, each the size of its shape and
// dtype. Dtypes: F64 F32 F16 BF16 I64 I32 I16 I8 U64 U32 U16 U8 BOOL. Anything but a regular file is refused, and a
// header nested deeper than 64 levels.
SafetensorsFile safe_read(const std::string& path);
// safe_read of a file's bytes; errors name the file as name.
SafetensorsFile safe_parse(llvm::StringRef bytes, const std::string& name);
NamedTensors safe_load(const std::string& path);

// Writes the tensors in the given order (names must be unique and not __metadata__) to a temporary file beside path
// (PATH.tmp-XXXXXXXX) that is synced and renamed over path, so that a crash leaves the old file or the new one, never
// half of one; a failed save leaves the old file. A temporary left by a killed save is removed by a later save to
// path (runtime/atomic_file.h).
void safe_save(const std::string& path, const NamedTensors& tensors,
               const std::map<std::string, std::string>& metadata = {});

} // namespace patgrad
