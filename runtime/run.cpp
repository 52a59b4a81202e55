// Running a schedule: each kernel is lowered by the pipeline's passes, linearized, then interpreted (INTERP) or
// rendered to LLVM IR, compiled once and called with its outermost loop split across the cores (CPU). Lowered
// programs are cached by the kernel's AST (interned, so equal kernels share one entry).
#include "renderers/renderers.h"
#include "runtime/cpu_jit.h"
#include "runtime/device.h"
#include "runtime/thread_pool.h"
#include <chrono>
#include <cstdlib>
#include <fmt/format.h>
#include <llvm/ADT/DenseMap.h>

namespace patgrad::runtime {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

using KernelFn = void (*)(void** bufs, int64_t start, int64_t end);

struct Compiled {
  UOp ast; // keeps the key alive
  std::vector<UOp> program;
  std::unique_ptr<CompiledProgram> cpu; // null until the CPU needs it
  KernelFn fn = nullptr;
  int64_t outer = 1; // iterations of the outermost loop, 1 if none
};

struct Cache {
  std::unique_ptr<CpuCompiler> compiler; // first, so it is destroyed last: compiled programs unload into it
  llvm::DenseMap<const uops::Node*, std::unique_ptr<Compiled>> by_ast;
};
Cache& cache() {
  static Cache c;
  return c;
}

int debug_level() {
  const char* d = std::getenv("DEBUG");
  return d ? std::atoi(d) : 0;
}

llvm::Expected<Compiled*> prepare(const lowering::Kernel& k, RunStats* stats) {
  auto& entry = cache().by_ast[k.ast.get()];
  if (entry) return entry.get();
  auto t = Clock::now();
  auto lowered = lowering::lower(k.ast, rewriter::builtin_library());
  if (!lowered) return lowered.takeError();
  auto c = std::make_unique<Compiled>();
  c->ast = k.ast;
  c->program = lowering::linearize(*lowered);
  if (!c->program.empty() && c->program[0]->op == uops::Op::RANGE) c->outer = int64_t(c->program[0]->src[0]->vmax);
  if (debug_level() >= 5)
    for (const UOp& u : c->program) fmt::print(stderr, "  {}\n", uops::sexpr(u));
  if (stats) stats->schedule_ms += ms_since(t);
  entry = std::move(c);
  return entry.get();
}

llvm::Error compile_cpu(Compiled& c, const std::string& name, RunStats* stats) {
  if (c.fn) return llvm::Error::success();
  auto t = Clock::now();
  auto ir = renderers::render_llvm(c.program, name, rewriter::builtin_library());
  if (!ir) return ir.takeError();
  if (debug_level() >= 4) fmt::print(stderr, "{}\n", *ir);
  if (!cache().compiler) {
    auto comp = CpuCompiler::create();
    if (!comp) return comp.takeError();
    cache().compiler = std::move(*comp);
  }
  auto prog = cache().compiler->compile(*ir);
  if (!prog) return prog.takeError();
  auto fn = (*prog)->function(name);
  if (!fn) return fn.takeError();
  c.cpu = std::move(*prog);
  c.fn = reinterpret_cast<KernelFn>(*fn);
  if (stats) stats->compile_ms += ms_since(t);
  return llvm::Error::success();
}

} // namespace

const char* device_name(Device d) { return d == Device::CPU ? "CPU" : "INTERP"; }

llvm::Expected<Device> parse_device(std::string_view name) {
  if (name == "CPU") return Device::CPU;
  if (name == "INTERP") return Device::INTERP;
  return llvm::createStringError(llvm::inconvertibleErrorCode(), "unknown device '%s': expected CPU or INTERP",
                                 std::string(name).c_str());
}

llvm::Expected<Device> default_device() {
  const char* dev = std::getenv("DEV");
  return dev && *dev ? parse_device(dev) : Device::CPU;
}

llvm::Error run(const lowering::Schedule& s, Device dev, RunStats* stats) {
  if (debug_level() >= 1) fmt::print(stderr, "schedule: {} kernels on {}\n", s.kernels.size(), device_name(dev));
  for (const lowering::Kernel& k : s.kernels) {
    auto c = prepare(k, stats);
    if (!c) return c.takeError();
    std::vector<Buffer*> bufs;
    std::vector<void*> ptrs;
    for (const UOp& b : k.buffers) {
      bufs.push_back(&buffer(b));
      ptrs.push_back(bufs.back()->data);
    }
    if (dev == Device::CPU)
      if (auto e = compile_cpu(**c, k.name, stats)) return e;
    auto t = Clock::now();
    if (dev == Device::INTERP) {
      if (auto e = interpret((*c)->program, bufs)) return e;
    } else {
      KernelFn fn = (*c)->fn;
      void** p = ptrs.data();
      // the outermost loop, split in a few chunks per core
      parallel_for((*c)->outer, std::max<int64_t>(1, (*c)->outer / (4 * thread_count())),
                   [&](int64_t b, int64_t e) { fn(p, b, e); });
    }
    double ms = ms_since(t);
    if (stats) stats->run_ms += ms, stats->kernels++;
    if (debug_level() >= 2) fmt::print(stderr, "  {:<24} {:>9.3f} ms\n", k.name, ms);
  }
  return llvm::Error::success();
}

} // namespace patgrad::runtime
