// libFuzzer target: the safetensors reader (safe_parse: the header's length, its JSON, every entry's checks, then
// the tensors) on arbitrary bytes. Every input must give tensors or a TensorError naming the file; crashes, hangs,
// leaks and undefined behavior are bugs.
#include "frontend/safetensors.h"
#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    patgrad::safe_parse(llvm::StringRef(reinterpret_cast<const char*>(data), size), "fuzz.safetensors");
  } catch (const patgrad::TensorError& e) {
    if (std::string(e.what()).find("fuzz.safetensors") == std::string::npos) __builtin_trap(); // name the file
  }
  return 0;
}
