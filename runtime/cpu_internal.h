// Internals of the CPU compiler shared between runtime/ files; the public API is runtime/cpu_jit.h.
#pragma once
#include <llvm/ADT/StringRef.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/Support/Error.h>
#include <llvm/Support/MemoryBuffer.h>
#include <memory>
#include <string>

namespace patgrad::runtime {

// cpu_codegen.cpp
// The host CPU with all of its features (AVX-512 where present), position-independent code and the small code model
// (what JITLink expects on x86-64 ELF), O2 codegen.
llvm::orc::JITTargetMachineBuilder host_target();
// Everything the object code depends on besides the IR text: the cache key's second half.
std::string target_id(const llvm::orc::JITTargetMachineBuilder& target);
// IR text to an object file: parse, verify, the O2 pipeline, codegen. Errors: a parse error as
// `ir:line:col: error: ...` with the line and a caret, a verifier failure, or a backend error.
llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>> compile_to_object(llvm::StringRef ir,
                                                                      llvm::orc::JITTargetMachineBuilder target);

// disk_cache.cpp
// 32 hex digits naming the object compiled from ir for target_id.
std::string cache_key(llvm::StringRef ir, llvm::StringRef target_id);
struct CacheEntry {
  enum Kind { MISSING, CORRUPT, FOUND } kind;
  std::unique_ptr<llvm::MemoryBuffer> object; // FOUND only
};
// The object stored under key in dir; CORRUPT when the entry is truncated, fails its checksum or is not an object file.
CacheEntry read_cache_entry(llvm::StringRef dir, llvm::StringRef key);
// Stores object under key in dir, atomically: readers see the old entry or the whole new one, never part of one.
llvm::Error write_cache_entry(llvm::StringRef dir, llvm::StringRef key, llvm::StringRef object);

} // namespace patgrad::runtime
