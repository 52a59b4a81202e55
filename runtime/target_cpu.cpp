// CPU: a kernel's LLVM IR (patterns/target_cpu.pat) compiled to machine code by the CpuCompiler (cached in memory
// and on disk), then called with its thread loop split across the cores. The kernel function takes the buffers and a
// [start, end) share of the thread loop (lowering/threads.cpp), so the chunks are independent.
#include "lowering/lowering.h"
#include "runtime/cpu_internal.h"
#include "runtime/cpu_jit.h"
#include "runtime/target.h"
#include "runtime/thread_pool.h"
#include <algorithm>
#include <cmath>
#include <mutex>

namespace patgrad::runtime {
namespace {

using KernelFn = void (*)(void** bufs, int64_t start, int64_t end);

class CpuExecutable : public Executable {
public:
  CpuExecutable(std::unique_ptr<CompiledProgram> code, KernelFn fn, int64_t outer)
      : code(std::move(code)), fn(fn), outer(outer) {}

  llvm::Error run(llvm::ArrayRef<Buffer*> buffers) const override {
    llvm::SmallVector<void*, 8> ptrs;
    for (Buffer* b : buffers) ptrs.push_back(b->data);
    void** p = ptrs.data();
    // a few chunks per core: a core slowed by the OS or by costlier iterations does not hold up the rest
    parallel_for(outer, std::max<int64_t>(1, outer / (4 * thread_count())), [&](int64_t b, int64_t e) { fn(p, b, e); });
    return llvm::Error::success();
  }
  // The first trips of the thread loop, at least one per thread.
  llvm::Expected<double> run_part(llvm::ArrayRef<Buffer*> buffers, double fraction) const override {
    int64_t n =
        std::clamp<int64_t>(int64_t(std::ceil(double(outer) * fraction)), std::min(outer, thread_count()), outer);
    llvm::SmallVector<void*, 8> ptrs;
    for (Buffer* b : buffers) ptrs.push_back(b->data);
    void** p = ptrs.data();
    parallel_for(n, std::max<int64_t>(1, n / (4 * thread_count())), [&](int64_t b, int64_t e) { fn(p, b, e); });
    return double(n) / double(outer);
  }
  uint64_t bytes() const override { return code->bytes(); }

private:
  std::unique_ptr<CompiledProgram> code;
  KernelFn fn;
  int64_t outer; // iterations of the outermost loop, 1 if none
};

class CpuTarget : public Target {
public:
  CpuTarget() : Target("CPU") {}

  llvm::Expected<std::unique_ptr<Executable>> compile(const lowering::Lowered& kernel,
                                                      const std::string& kernel_name) const override {
    {
      std::lock_guard<std::mutex> lock(making);
      if (!compiler) {
        auto made = CpuCompiler::create();
        if (!made) return made.takeError();
        compiler = std::move(*made);
      }
    }
    auto code = compiler->compile(kernel.source);
    if (!code) return code.takeError();
    auto fn = (*code)->function(kernel_name);
    if (!fn) return fn.takeError();
    const std::vector<UOp>& program = kernel.program;
    int64_t outer = 1; // the thread loop's trips (lowering/threads.cpp): RANGE(n, start, end)
    for (const UOp& u : program)
      if (u->op == uops::Op::RANGE && u->src.size() == 3) outer = int64_t(u->src[0]->vmax);
    return std::make_unique<CpuExecutable>(std::move(*code), reinterpret_cast<KernelFn>(*fn), outer);
  }
  bool compiles_in_parallel() const override { return true; } // CpuCompiler::compile is thread-safe
  std::string machine() const override {
    static const std::string id = name + ";" + target_id(host_target());
    return id;
  }

private:
  // made on the first compile, so that a process that only interprets never starts a JIT; executables unload their
  // code into it, so the run cache that holds them must go first (run.cpp makes the targets before it)
  mutable std::unique_ptr<CpuCompiler> compiler;
  mutable std::mutex making;
};

} // namespace

std::unique_ptr<Target> make_cpu_target() { return std::make_unique<CpuTarget>(); }

} // namespace patgrad::runtime
