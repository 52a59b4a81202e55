// The CPU device's compiler: LLVM IR text in, callable machine code out. The IR is optimized at O2 for the host CPU
// (with all of its vector extensions) and linked in-process by ORC's LLJIT. Compiled objects are cached by a hash of
// the IR text and the target, in memory and on disk, so a kernel compiles once per machine rather than once per run.
// Both caches are bounded: memory by $PATGRAD_MEMORY_CACHE_MB, the disk by $PATGRAD_CACHE_MB.
#pragma once
#include "runtime/lru_cache.h"
#include <llvm/ADT/StringMap.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/Support/Error.h>
#include <llvm/Support/MemoryBuffer.h>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace llvm::orc {
class JITDylib;
class LLJIT;
} // namespace llvm::orc

namespace patgrad::runtime {

class CpuCompiler;
struct CacheKey; // runtime/cpu_internal.h

// The machine code of one IR module, linked and ready to call. It owns the code: destroying it frees the code. It must
// not outlive the CpuCompiler that made it.
class CompiledProgram {
public:
  CompiledProgram(const CompiledProgram&) = delete;
  CompiledProgram& operator=(const CompiledProgram&) = delete;
  ~CompiledProgram();

  // The entry address of the externally visible function `name` the module defines, or an error naming it. The
  // signature is the caller's business: cast the address to the function type the IR declares.
  llvm::Expected<void*> function(llvm::StringRef name) const;

  // About the memory the program holds, for the caches that keep programs: its object's size, and what a program
  // costs beyond that (ORC's bookkeeping of its symbols, its code and data in whole pages), which is about 40 KB with
  // LLVM 19 on x86-64 whatever the object's size (measured over 1,600 small kernels).
  uint64_t bytes() const { return object_bytes + (40 << 10); }

private:
  friend class CpuCompiler;
  CompiledProgram(CpuCompiler& compiler, llvm::orc::JITDylib& dylib, llvm::StringMap<void*> functions,
                  uint64_t object_bytes)
      : compiler(compiler), dylib(dylib), functions(std::move(functions)), object_bytes(object_bytes) {}

  CpuCompiler& compiler;
  llvm::orc::JITDylib& dylib; // the program's own symbol namespace: programs may reuse kernel names
  llvm::StringMap<void*> functions;
  uint64_t object_bytes;
};

// Each compile() is counted as exactly one of compiles, memory_hits and disk_hits.
struct CacheStats {
  int64_t compiles = 0;          // IR optimized and compiled to an object
  int64_t memory_hits = 0;       // object found in this compiler's memory cache
  int64_t disk_hits = 0;         // object found in the disk cache
  int64_t disk_rejects = 0;      // corrupt, truncated or foreign disk entries: recompiled and replaced
  int64_t disk_write_errors = 0; // objects compiled correctly that could not be stored (disk full, no permission)
};

// Where compiled objects persist: $PATGRAD_CACHE_DIR, else $XDG_CACHE_HOME/patgrad, else ~/.cache/patgrad; "" when
// none of these is set.
std::string default_cache_dir();

// The size limits of the caches, from $PATGRAD_CACHE_MB (disk, default 256; 0 turns the disk cache off) and
// $PATGRAD_MEMORY_CACHE_MB (default 64: each in-memory cache of kernels, the compiler's objects and the runtime's
// linked kernels), in bytes.
uint64_t disk_cache_limit();
uint64_t memory_cache_limit();

// The `patgrad cache` command's view of a disk cache: its entries and their total size.
struct DiskCacheUsage {
  int64_t entries = 0;
  uint64_t bytes = 0;
};
DiskCacheUsage disk_cache_usage(llvm::StringRef dir);
// Removes every entry of the disk cache in dir (and the temporaries of killed writers), and returns what it removed.
// Errors: an entry cannot be removed (the error names it).
llvm::Expected<DiskCacheUsage> clear_disk_cache(llvm::StringRef dir);

// One per device. compile() may be called from several threads at once.
class CpuCompiler {
public:
  // cache_dir "" keeps objects in memory only, as does a cache_dir that cannot be created (with a warning on stderr:
  // the kernels still compile). The disk cache holds at most disk_limit bytes, memory memory_limit bytes of objects.
  // Errors: the host has no usable target.
  static llvm::Expected<std::unique_ptr<CpuCompiler>> create(std::string cache_dir = default_cache_dir(),
                                                             uint64_t disk_limit = disk_cache_limit(),
                                                             uint64_t memory_limit = memory_cache_limit());
  ~CpuCompiler();

  // Compiles a module of LLVM IR text and links it. Errors: the IR does not parse (`ir:line:col: error: ...` with the
  // line and a caret), does not verify (the verifier's message), or does not link (say, a call to an unknown symbol).
  // Two threads compiling the same new text at once may both compile it.
  llvm::Expected<std::unique_ptr<CompiledProgram>> compile(llvm::StringRef ir);

  CacheStats stats() const;
  const std::string& cache_dir() const { return disk_dir; }

private:
  friend class CompiledProgram;
  CpuCompiler(llvm::orc::JITTargetMachineBuilder host, std::unique_ptr<llvm::orc::LLJIT> jit, std::string disk_dir,
              uint64_t disk_limit, uint64_t memory_limit);
  // The object for ir under key, from the disk cache or compiled (and then stored).
  llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>> object_from_disk_or_compile(llvm::StringRef ir,
                                                                                  const CacheKey& key);
  void store_on_disk(const CacheKey& key, llvm::StringRef object);
  llvm::Expected<std::unique_ptr<CompiledProgram>> load(std::unique_ptr<llvm::MemoryBuffer> object);
  void unload(llvm::orc::JITDylib& dylib);

  llvm::orc::JITTargetMachineBuilder host;
  std::string target; // target_id(host): what the object code depends on besides the IR
  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::string disk_dir; // "" for no disk cache
  uint64_t disk_limit;
  mutable std::mutex mutex;                          // guards everything below
  LruCache<std::string, llvm::MemoryBuffer> objects; // the key's digest -> object file
  std::optional<uint64_t> disk_bytes; // the directory's size as this compiler knows it; none before the first store
  bool warned_write_error = false;
  CacheStats counters;
  int64_t programs_made = 0; // names each program's JITDylib
  int64_t live_programs = 0;
};

} // namespace patgrad::runtime
