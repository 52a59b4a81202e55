// The CPU device's compiler: LLVM IR text in, callable machine code out. The IR is optimized at O2 for the host CPU
// (with all of its vector extensions) and linked in-process by ORC's LLJIT. Compiled objects are cached by a hash of
// the IR text and the target, in memory and on disk, so a kernel compiles once per machine rather than once per run.
#pragma once
#include <llvm/ADT/StringMap.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/Support/Error.h>
#include <llvm/Support/MemoryBuffer.h>
#include <memory>
#include <mutex>
#include <string>

namespace llvm::orc {
class JITDylib;
class LLJIT;
} // namespace llvm::orc

namespace patgrad::runtime {

class CpuCompiler;

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

private:
  friend class CpuCompiler;
  CompiledProgram(CpuCompiler& compiler, llvm::orc::JITDylib& dylib, llvm::StringMap<void*> functions)
      : compiler(compiler), dylib(dylib), functions(std::move(functions)) {}

  CpuCompiler& compiler;
  llvm::orc::JITDylib& dylib; // the program's own symbol namespace: programs may reuse kernel names
  llvm::StringMap<void*> functions;
};

// Each compile() is counted as exactly one of compiles, memory_hits and disk_hits.
struct CacheStats {
  int64_t compiles = 0;          // IR optimized and compiled to an object
  int64_t memory_hits = 0;       // object found in this compiler's memory cache
  int64_t disk_hits = 0;         // object found in the disk cache
  int64_t disk_rejects = 0;      // corrupt or truncated disk entries: recompiled and replaced
  int64_t disk_write_errors = 0; // objects compiled correctly that could not be stored (disk full, no permission)
};

// Where compiled objects persist: $PATGRAD_CACHE_DIR, else $XDG_CACHE_HOME/patgrad, else ~/.cache/patgrad; "" when
// none of these is set.
std::string default_cache_dir();

// One per device. compile() may be called from several threads at once.
class CpuCompiler {
public:
  // cache_dir "" keeps objects in memory only. Errors: the host has no usable target, or cache_dir cannot be created.
  static llvm::Expected<std::unique_ptr<CpuCompiler>> create(std::string cache_dir = default_cache_dir());
  ~CpuCompiler();

  // Compiles a module of LLVM IR text and links it. Errors: the IR does not parse (`ir:line:col: error: ...` with the
  // line and a caret), does not verify (the verifier's message), or does not link (say, a call to an unknown symbol).
  // Two threads compiling the same new text at once may both compile it.
  llvm::Expected<std::unique_ptr<CompiledProgram>> compile(llvm::StringRef ir);

  CacheStats stats() const;
  const std::string& cache_dir() const { return disk_dir; }

private:
  friend class CompiledProgram;
  CpuCompiler(llvm::orc::JITTargetMachineBuilder host, std::unique_ptr<llvm::orc::LLJIT> jit, std::string disk_dir);
  // The object for ir under key, from the disk cache or compiled (and then stored).
  llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>> object_from_disk_or_compile(llvm::StringRef ir,
                                                                                  llvm::StringRef key);
  const llvm::MemoryBuffer* remember(llvm::StringRef key, std::unique_ptr<llvm::MemoryBuffer> object);
  llvm::Expected<std::unique_ptr<CompiledProgram>> load(const llvm::MemoryBuffer& object);
  void unload(llvm::orc::JITDylib& dylib);

  llvm::orc::JITTargetMachineBuilder host;
  std::string target; // target_id(host): what the object code depends on besides the IR
  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::string disk_dir;                                         // "" for no disk cache
  mutable std::mutex mutex;                                     // guards everything below
  llvm::StringMap<std::unique_ptr<llvm::MemoryBuffer>> objects; // cache key -> object file; never erased
  CacheStats counters;
  int64_t programs_made = 0; // names each program's JITDylib
  int64_t live_programs = 0;
};

} // namespace patgrad::runtime
