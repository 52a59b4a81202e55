// Time to turn a small kernel's IR into callable code with CpuCompiler: cold (parse, O2, codegen, link), warm from the
// memory cache (link only) and warm from the disk cache (read, check, link), in a fresh cache directory.
// Usage: bench_jit [kernels]   (default 20 distinct kernels; each phase prints min / median / max in ms)
#include "runtime/cpu_jit.h"
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <llvm/ADT/SmallString.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Format.h>
#include <llvm/Support/raw_ostream.h>
#include <string>
#include <vector>

using patgrad::runtime::CompiledProgram;
using patgrad::runtime::CpuCompiler;

namespace {

// out[i] = (a[i] + b[i]) * scale: the scale makes every kernel's text, and so its cache key, distinct.
std::string kernel_ir(int scale) {
  return R"(
define void @add_scale(ptr noalias %out, ptr noalias %a, ptr noalias %b, i64 %start, i64 %end) {
entry:
  %empty = icmp sge i64 %start, %end
  br i1 %empty, label %exit, label %loop
loop:
  %i = phi i64 [ %start, %entry ], [ %next, %loop ]
  %pa = getelementptr inbounds float, ptr %a, i64 %i
  %pb = getelementptr inbounds float, ptr %b, i64 %i
  %x = load float, ptr %pa
  %y = load float, ptr %pb
  %sum = fadd float %x, %y
  %scaled = fmul float %sum, )" +
         std::to_string(scale) + R"(.0
  %po = getelementptr inbounds float, ptr %out, i64 %i
  store float %scaled, ptr %po
  %next = add nsw i64 %i, 1
  %done = icmp eq i64 %next, %end
  br i1 %done, label %exit, label %loop
exit:
  ret void
}
)";
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

template <typename T>
T or_exit(llvm::Expected<T> value) {
  if (!value) {
    llvm::errs() << "bench_jit: " << llvm::toString(value.takeError()) << "\n";
    std::exit(1);
  }
  return std::move(*value);
}

// Compiles every kernel once with compiler; the time of each, in ms.
std::vector<double> compile_all(CpuCompiler& compiler, const std::vector<std::string>& kernels,
                                std::vector<std::unique_ptr<CompiledProgram>>& keep) {
  std::vector<double> times;
  for (const std::string& ir : kernels) {
    auto start = std::chrono::steady_clock::now();
    keep.push_back(or_exit(compiler.compile(ir)));
    times.push_back(ms_since(start));
  }
  return times;
}

void report(const char* phase, std::vector<double> times, const CpuCompiler& compiler) {
  double first = times.front(); // the first of a phase also pays for lazy setup (target, thread pools, allocator)
  std::sort(times.begin(), times.end());
  auto stats = compiler.stats();
  llvm::outs() << llvm::format("%-13s first %7.3f  min %7.3f  median %7.3f  max %7.3f ms", phase, first, times.front(),
                               times[times.size() / 2], times.back())
               << llvm::format("   (compiler totals: %lld compiles, %lld memory hits, %lld disk hits)\n",
                               (long long)stats.compiles, (long long)stats.memory_hits, (long long)stats.disk_hits);
}

} // namespace

int main(int argc, char** argv) {
  int count = argc > 1 ? std::atoi(argv[1]) : 20;
  if (count < 1) count = 1;
  std::vector<std::string> kernels;
  for (int k = 0; k < count; k++) kernels.push_back(kernel_ir(k + 2));
  llvm::SmallString<128> dir;
  if (llvm::sys::fs::createUniqueDirectory("patgrad-bench-jit", dir)) {
    llvm::errs() << "bench_jit: cannot create a temporary directory\n";
    return 1;
  }

  std::vector<std::unique_ptr<CompiledProgram>> keep_first, keep_second;
  auto start = std::chrono::steady_clock::now();
  auto first = or_exit(CpuCompiler::create(std::string(dir)));
  llvm::outs() << llvm::format("%d kernels; CpuCompiler::create %.3f ms\n", count, ms_since(start));
  report("cold", compile_all(*first, kernels, keep_first), *first);
  report("warm, memory", compile_all(*first, kernels, keep_first), *first);
  auto second = or_exit(CpuCompiler::create(std::string(dir)));
  report("warm, disk", compile_all(*second, kernels, keep_second), *second);

  keep_first.clear();
  keep_second.clear();
  llvm::sys::fs::remove_directories(dir);
  return 0;
}
