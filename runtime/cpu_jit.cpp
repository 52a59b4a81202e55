// CpuCompiler: the caches in front of compile_to_object, and loading objects into the JIT. An object is looked up in
// memory, then on disk, and compiled only when both miss; every program gets its own JITDylib, so programs may define
// the same kernel names and each one's code is freed with it (removing a JITDylib returns its code's pages and ORC's
// bookkeeping: 1,600 programs loaded and freed 100 at a time grow the process by what their objects take, not by the
// 44 KB each that live programs hold).
#include "runtime/cpu_jit.h"
#include "runtime/cpu_internal.h"
#include <cassert>
#include <llvm/ADT/SmallString.h>
#include <llvm/ADT/SmallVector.h>
#include <llvm/ADT/StringExtras.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/Process.h>
#include <llvm/Support/TargetSelect.h>
#include <utility>

namespace patgrad::runtime {
namespace {

llvm::Error error(const llvm::Twine& message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

// ORC hands the reason a link failed (say, "Symbols not found: [ foo ]") to the session's error reporter rather than to
// the failed lookup, on the thread that links: the one calling lookup in load(). Each load collects its own here.
thread_local std::string* link_errors = nullptr;

void report_session_error(llvm::Error err) {
  // outside load(), print as ORC's default reporter does
  if (!link_errors) return llvm::logAllUnhandledErrors(std::move(err), llvm::errs(), "JIT session error: ");
  *link_errors += (link_errors->empty() ? "" : "\n") + llvm::toString(std::move(err));
}

// The linker names of the externally visible functions an object defines.
llvm::Expected<llvm::SmallVector<std::string>> exported_functions(const llvm::MemoryBuffer& object) {
  auto file = llvm::object::ObjectFile::createObjectFile(object.getMemBufferRef());
  if (!file) return file.takeError();
  llvm::SmallVector<std::string> names;
  for (const llvm::object::SymbolRef& symbol : (*file)->symbols()) {
    auto flags = symbol.getFlags();
    if (!flags) return flags.takeError();
    auto type = symbol.getType();
    if (!type) return type.takeError();
    bool exported = (*flags & llvm::object::SymbolRef::SF_Global) && !(*flags & llvm::object::SymbolRef::SF_Undefined);
    if (!exported || *type != llvm::object::SymbolRef::ST_Function) continue;
    auto name = symbol.getName();
    if (!name) return name.takeError();
    names.push_back(name->str());
  }
  return names;
}

// Adds object to dylib and looks up the functions named, which links the object now: link errors surface here rather
// than at the first call.
llvm::Expected<llvm::orc::SymbolMap> link_object(llvm::orc::LLJIT& jit, llvm::orc::JITDylib& dylib,
                                                 std::unique_ptr<llvm::MemoryBuffer> object,
                                                 llvm::ArrayRef<std::string> names) {
  llvm::orc::ExecutionSession& session = jit.getExecutionSession();
  std::string why_not_linked;
  link_errors = &why_not_linked;
  auto symbols = [&]() -> llvm::Expected<llvm::orc::SymbolMap> {
    if (auto err = jit.addObjectFile(dylib, std::move(object))) return err;
    llvm::orc::SymbolLookupSet lookup;
    for (const std::string& name : names) lookup.add(session.intern(name));
    return session.lookup(llvm::orc::makeJITDylibSearchOrder(&dylib), std::move(lookup));
  }();
  link_errors = nullptr;
  if (symbols) return symbols;
  // The reporter's reason is the useful one; the failed lookup only lists the symbols it could not provide.
  std::string reason = llvm::toString(symbols.takeError());
  if (!why_not_linked.empty()) reason = why_not_linked;
  return error("cannot link the compiled program: " + reason);
}

// LLVM widens some bf16 operations that the CPU lacks (a select of bf16 values, without AVX512-BF16) to f32 and rounds
// back with compiler-rt's __truncsfbf2, which the process does not have (GCC 12's libgcc predates it): the JIT gets
// its own, rounding to nearest even with integer ops as target_cpu.pat's ll_cast_bf16_f32 does, NaN kept a quiet NaN.
constexpr const char* runtime_helpers = R"(define bfloat @__truncsfbf2(float %a) {
  %i = bitcast float %a to i32
  %l = lshr i32 %i, 16
  %b = and i32 %l, 1
  %r = add i32 %i, 32767
  %s = add i32 %r, %b
  %h = lshr i32 %s, 16
  %q = or i32 %l, 64
  %u = fcmp uno float %a, %a
  %v = select i1 %u, i32 %q, i32 %h
  %t = trunc i32 %v to i16
  %f = bitcast i16 %t to bfloat
  ret bfloat %f
}
)";

} // namespace

std::string default_cache_dir() {
  // Empty variables count as unset, as the XDG spec says of XDG_CACHE_HOME.
  if (auto dir = llvm::sys::Process::GetEnv("PATGRAD_CACHE_DIR"); dir && !dir->empty()) return *dir;
  llvm::SmallString<256> dir;
  if (!llvm::sys::path::cache_directory(dir)) return ""; // $XDG_CACHE_HOME, else ~/.cache
  llvm::sys::path::append(dir, "patgrad");
  return std::string(dir);
}

CompiledProgram::~CompiledProgram() { compiler.unload(dylib); }

llvm::Expected<void*> CompiledProgram::function(llvm::StringRef name) const {
  if (auto it = functions.find(name); it != functions.end()) return it->second;
  std::string defined;
  for (const auto& entry : functions) defined += (defined.empty() ? "" : ", ") + entry.getKey().str();
  return error("no function '" + name +
               "' in the compiled program (it defines: " + (defined.empty() ? "nothing" : defined) + ")");
}

llvm::Expected<std::unique_ptr<CpuCompiler>> CpuCompiler::create(std::string cache_dir, uint64_t disk_limit,
                                                                 uint64_t memory_limit) {
  static const bool no_native_target = llvm::InitializeNativeTarget() || llvm::InitializeNativeTargetAsmPrinter();
  if (no_native_target) return error("this LLVM cannot generate code for the host CPU");
  if (disk_limit == 0) cache_dir.clear();
  if (!cache_dir.empty()) {
    // Without a disk cache every kernel compiles in every run: slower, never wrong, so not worth failing a script for.
    if (std::error_code ec = llvm::sys::fs::create_directories(cache_dir)) {
      llvm::errs() << "patgrad: warning: cannot create the kernel cache directory '" << cache_dir
                   << "': " << ec.message() << "; kernels will not be cached on disk (set PATGRAD_CACHE_DIR to "
                   << "another directory)\n";
      cache_dir.clear();
    }
  }
  llvm::orc::JITTargetMachineBuilder host = host_target();
  auto jit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(host).create();
  if (!jit) return jit.takeError();
  (*jit)->getExecutionSession().setErrorReporter(report_session_error);
  auto helpers = compile_to_object(runtime_helpers, host);
  if (!helpers) return helpers.takeError();
  if (auto err = (*jit)->addObjectFile(std::move(*helpers))) return err;
  return std::unique_ptr<CpuCompiler>(
      new CpuCompiler(std::move(host), std::move(*jit), std::move(cache_dir), disk_limit, memory_limit));
}

CpuCompiler::CpuCompiler(llvm::orc::JITTargetMachineBuilder host, std::unique_ptr<llvm::orc::LLJIT> jit,
                         std::string disk_dir, uint64_t disk_limit, uint64_t memory_limit)
    : host(std::move(host)), target(target_id(this->host)), jit(std::move(jit)), disk_dir(std::move(disk_dir)),
      disk_limit(disk_limit), objects(memory_limit) {}

CpuCompiler::~CpuCompiler() { assert(live_programs == 0 && "a CompiledProgram outlived its CpuCompiler"); }

CacheStats CpuCompiler::stats() const {
  std::lock_guard lock(mutex);
  return counters;
}

llvm::Expected<std::unique_ptr<CompiledProgram>> CpuCompiler::compile(llvm::StringRef ir) {
  CacheKey key = cache_key(ir, target);
  std::string memory_key(llvm::toStringRef(key.digest));
  std::unique_ptr<llvm::MemoryBuffer> object;
  {
    // A copy, made under the lock: another thread may evict the cached object meanwhile, and the JIT owns what it
    // links.
    std::lock_guard lock(mutex);
    if (const llvm::MemoryBuffer* cached = objects.find(memory_key)) {
      counters.memory_hits++;
      object = llvm::MemoryBuffer::getMemBufferCopy(cached->getBuffer(), cached->getBufferIdentifier());
    }
  }
  if (!object) {
    auto fresh = object_from_disk_or_compile(ir, key);
    if (!fresh) return fresh.takeError();
    object = std::move(*fresh);
    auto copy = llvm::MemoryBuffer::getMemBufferCopy(object->getBuffer(), object->getBufferIdentifier());
    std::lock_guard lock(mutex);
    // If another thread stored the same key meanwhile, keep its object: they are equivalent.
    if (!objects.find(memory_key)) objects.insert(memory_key, std::move(copy), object->getBufferSize());
  }
  return load(std::move(object));
}

llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>> CpuCompiler::object_from_disk_or_compile(llvm::StringRef ir,
                                                                                             const CacheKey& key) {
  if (!disk_dir.empty()) {
    CacheEntry entry = read_cache_entry(disk_dir, key);
    std::lock_guard lock(mutex);
    if (entry.kind == CacheEntry::FOUND) {
      counters.disk_hits++;
      return std::move(entry.object);
    }
    if (entry.kind == CacheEntry::CORRUPT) counters.disk_rejects++;
  }
  auto object = compile_to_object(ir, host);
  if (!object) return object.takeError();
  if (!disk_dir.empty()) store_on_disk(key, (*object)->getBuffer());
  std::lock_guard lock(mutex);
  counters.compiles++;
  return object;
}

// A failed store costs a recompile in a later process, not a wrong result: it is counted, and the first one is
// reported as a warning, not as an error. Before a store that would take the directory past its limit, as far as this
// compiler knows (other processes may be adding entries too), the directory is trimmed: listing it is the slow part,
// so that happens once at the first store and then once per quarter of the limit stored.
void CpuCompiler::store_on_disk(const CacheKey& key, llvm::StringRef object) {
  uint64_t entry_bytes = cache_entry_size(key, object.size());
  bool trim;
  {
    std::lock_guard lock(mutex);
    trim = !disk_bytes || *disk_bytes + entry_bytes > disk_limit;
  }
  if (trim) {
    uint64_t left = trim_disk_cache(disk_dir, disk_limit - std::min(entry_bytes, disk_limit));
    std::lock_guard lock(mutex);
    disk_bytes = left;
  }
  llvm::Error stored = write_cache_entry(disk_dir, key, object);
  std::lock_guard lock(mutex);
  if (!stored) {
    *disk_bytes += entry_bytes;
    return;
  }
  counters.disk_write_errors++;
  if (!std::exchange(warned_write_error, true))
    llvm::errs() << "patgrad: warning: cannot store a kernel in the cache: " << llvm::toString(std::move(stored))
                 << "; kernels that cannot be stored compile again in each run\n";
  else
    llvm::consumeError(std::move(stored));
}

llvm::Expected<std::unique_ptr<CompiledProgram>> CpuCompiler::load(std::unique_ptr<llvm::MemoryBuffer> object) {
  auto names = exported_functions(*object);
  if (!names) return names.takeError();
  uint64_t object_bytes = object->getBufferSize();
  int64_t id;
  {
    std::lock_guard lock(mutex);
    id = programs_made++;
  }
  auto dylib = jit->createJITDylib("program" + std::to_string(id));
  if (!dylib) return dylib.takeError();
  dylib->addToLinkOrder(jit->getMainJITDylib()); // runtime_helpers
  auto symbols = link_object(*jit, *dylib, std::move(object), *names);
  if (!symbols) return llvm::joinErrors(symbols.takeError(), jit->getExecutionSession().removeJITDylib(*dylib));
  char prefix = jit->getDataLayout().getGlobalPrefix(); // '_' on Mach-O; none on ELF
  llvm::StringMap<void*> functions;
  for (const auto& [linker_name, definition] : *symbols) {
    llvm::StringRef name = *linker_name;
    if (prefix && name.starts_with(llvm::StringRef(&prefix, 1))) name = name.drop_front();
    functions[name] = definition.getAddress().toPtr<void*>();
  }
  std::lock_guard lock(mutex);
  live_programs++;
  return std::unique_ptr<CompiledProgram>(new CompiledProgram(*this, *dylib, std::move(functions), object_bytes));
}

void CpuCompiler::unload(llvm::orc::JITDylib& dylib) {
  // Removing a dylib only frees its memory; failing to means the process itself is broken, nothing input can cause.
  llvm::cantFail(jit->getExecutionSession().removeJITDylib(dylib), "freeing a compiled program's code");
  std::lock_guard lock(mutex);
  live_programs--;
}

} // namespace patgrad::runtime
