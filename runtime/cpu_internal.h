// Internals of the CPU compiler shared between runtime/ files; the public API is runtime/cpu_jit.h.
#pragma once
#include <array>
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
// A size in bytes from an environment variable in megabytes (MiB); a value that is not one is reported and the
// default used. The caches' limits and buffer.cpp's pool read theirs with it.
uint64_t megabytes_from_env(const char* name, uint64_t default_mb);
// What an object is compiled from. Entries are named after the digest's first half and record the whole key, which a
// read checks: an entry copied, renamed or swapped under another key's name, or compiled for another target, is a
// miss.
struct CacheKey {
  std::array<uint8_t, 32> digest; // BLAKE3 of the target, a zero byte and the IR text
  std::string target;             // target_id() of the host it was compiled for
  std::string name() const;       // 32 hex digits: the entry's file name
};
CacheKey cache_key(llvm::StringRef ir, llvm::StringRef target_id);
struct CacheEntry {
  enum Kind { MISSING, CORRUPT, FOUND } kind;
  std::unique_ptr<llvm::MemoryBuffer> object; // FOUND only
};
// The object stored under key in dir, which is then marked used. CORRUPT when the entry is truncated, fails its
// checksum, records another key or target, or is not an object file.
CacheEntry read_cache_entry(llvm::StringRef dir, const CacheKey& key);
// Stores object under key in dir, atomically: readers see the old entry or the whole new one, never part of one.
llvm::Error write_cache_entry(llvm::StringRef dir, const CacheKey& key, llvm::StringRef object);
// The size of the entry that stores object_size bytes under key.
uint64_t cache_entry_size(const CacheKey& key, uint64_t object_size);
// If the entries of dir take more than max_bytes, removes the least recently used ones until they fit in three
// quarters of it (so that the next few stores do not each trim again); also removes the temporaries of writers that
// were killed. Returns the size of the entries left. Best effort: another process may be trimming too.
uint64_t trim_disk_cache(llvm::StringRef dir, uint64_t max_bytes);

} // namespace patgrad::runtime
