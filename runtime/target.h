// The runtime: buffers in host memory, the targets that run kernels over them, and the loop that runs a schedule.
// A target is a name (the one DEV and the pattern files use), what the pipeline's passes for that name make of a
// kernel compiled into something runnable, and running it. CPU (target_cpu.cpp) compiles the LLVM IR that
// patterns/target_cpu.pat renders to machine code and splits the outermost loop across the cores; INTERP
// (target_interp.cpp) runs the linear program with the op table's reference semantics: slow, simple, the oracle.
// Every target keeps its buffers in host memory, so a tensor moves between targets without a copy. A new backend is
// a `.pat` file that declares its target and render group, and a C++ file here that compiles and launches.
#pragma once
#include "uops/uop.h"
#include <llvm/ADT/ArrayRef.h>
#include <llvm/Support/Error.h>
#include <memory>
#include <string>

namespace patgrad::lowering {
struct Lowered;
struct Schedule;
} // namespace patgrad::lowering

namespace patgrad::runtime {

using uops::DType;
using uops::UOp;

// buffer.cpp: memory behind BUFFER nodes. A buffer is freed when the last BUFFER node naming it is: its memory goes
// to a pool, by byte size, that the next buffer of that size takes it from.
struct Buffer {
  DType dtype;
  int64_t size; // elements
  void* data;   // at least one element, 64-byte aligned
};
// What a new buffer holds. A kernel writes every element of its output, so only a buffer read before anything is
// written to it (Tensor::empty) needs zeros; with `any`, memory reused from the pool keeps what its last owner wrote.
enum class Fill { zeros, any };
// A BUFFER node of a new buffer, or an error naming the size when the memory cannot be had.
llvm::Expected<UOp> allocate_buffer(DType dtype, int64_t size, Fill fill);
UOp new_buffer(DType dtype, int64_t size); // Fill::any, for tests and tools: running out of memory is fatal
Buffer& buffer(const UOp& buffer_node);
size_t live_buffers();
// The pool holds blocks of 1 MiB and more, at most its cap in bytes: $PATGRAD_BUFFER_POOL MiB (0: no pool), by default
// a sixteenth of the machine's memory and at least 256 MiB. Setting the cap frees the oldest blocks over it.
size_t pooled_bytes();
size_t buffer_pool_cap();
void set_buffer_pool_cap(size_t bytes);

// What a target made of one kernel, run any number of times; the run cache owns it and frees it with the kernel.
class Executable {
public:
  virtual ~Executable() = default;
  // Runs the kernel over its buffers, by parameter number ([0] is the output). Errors: what the target checks as it
  // runs (INTERP: an index out of bounds).
  virtual llvm::Error run(llvm::ArrayRef<Buffer*> buffers) const = 0;
  // Runs about `fraction` of the kernel's work (a search times a slice of a candidate before it runs it whole) and
  // returns the fraction it ran; the part of the output it did not compute is left as it was. By default, all of it.
  virtual llvm::Expected<double> run_part(llvm::ArrayRef<Buffer*> buffers, double fraction) const {
    if (auto e = run(buffers)) return e;
    return 1.0;
  }
  // About the memory it holds (machine code, the nodes of a program it keeps), charged to the run cache's budget.
  virtual uint64_t bytes() const = 0;
};

class Target {
public:
  explicit Target(std::string name) : name(std::move(name)) {}
  Target(const Target&) = delete;
  Target& operator=(const Target&) = delete;
  virtual ~Target() = default;

  // A lowered kernel (lowering::lower_kernel for this target's name) made runnable; kernel_name is the function its
  // source defines. Errors: the source does not compile.
  virtual llvm::Expected<std::unique_ptr<Executable>> compile(const lowering::Lowered& kernel,
                                                              const std::string& kernel_name) const = 0;
  // Whether compile may run on several threads at once (run.cpp compiles a schedule's new kernels so). Such a compile
  // must not copy or drop a UOp: their reference counts are not atomic.
  virtual bool compiles_in_parallel() const { return false; }
  // What a kernel's speed here depends on besides its code: the search database's key (a plan measured on one CPU is
  // not the winner on another). The name where nothing else matters.
  virtual std::string machine() const { return name; }
  // Whether every op of every dtype runs here. A backend in progress (RDNA3) reports what it lacks as an error naming
  // the op; the tensor tests that run on every target take the complete ones, and its own tests cover it.
  virtual bool complete() const { return true; }

  const std::string name; // "CPU", "INTERP": DEV's value and the pattern files' `target NAME`
};

// target_cpu.cpp, target_interp.cpp, target_rdna3.cpp
std::unique_ptr<Target> make_cpu_target();
std::unique_ptr<Target> make_interp_target();
std::unique_ptr<Target> make_rdna3_target();

// run.cpp: every target this build has, made once per process; one by name; DEV's (CPU when DEV is unset or empty).
// Errors: no target has that name (the message lists those there are).
llvm::ArrayRef<const Target*> targets();
llvm::Expected<const Target*> find_target(std::string_view name);
llvm::Expected<const Target*> default_target();

// run.cpp: runs a schedule's kernels in order on a target. Each kernel is lowered for the target and compiled once;
// both are cached by (kernel AST, target).
struct RunStats {
  double schedule_ms = 0, compile_ms = 0, run_ms = 0;
  int64_t kernels = 0;
};
llvm::Error run(const lowering::Schedule& s, const Target& target, RunStats* stats = nullptr);

// A kernel as run() ran it: what capture (frontend/jit.cpp) records and replays without scheduling or lowering. The
// executable is shared with the run cache, so a capture keeps it when the cache drops it.
struct Launch {
  std::shared_ptr<const Executable> executable;
  std::vector<UOp> buffers; // BUFFER nodes by parameter number ([0] the output)
  std::string name;
};
// While set (on this thread), run() appends every kernel it runs to *launches; nullptr stops it.
void record_launches(std::vector<Launch>* launches);
// The id the next buffer will have: ids only grow, so a buffer made after this call has this id or a larger one.
int64_t next_buffer_id();
inline int64_t buffer_id(const UOp& buffer_node) { return std::get<uops::Ints>(buffer_node->arg)[0]; }

// interp.cpp: one kernel's linear program over its buffers, with uops::eval.
llvm::Error interpret(const std::vector<UOp>& program, llvm::ArrayRef<Buffer*> buffers);

} // namespace patgrad::runtime
