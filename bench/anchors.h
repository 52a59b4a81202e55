// What the benchmarks measure beside their own figures, in the same run: numpy's time for the same work (OpenBLAS,
// bench/numpy_anchor.py) and the machine's fp32 FMA peak through our own JIT.
#pragma once
#include "lowering/lowering.h"
#include "runtime/cpu_jit.h"
#include "runtime/thread_pool.h"
#include <chrono>
#include <cstdio>
#include <fmt/format.h>
#include <map>
#include <string>
#include <vector>

namespace patgrad::bench {

// numpy's median seconds per "name size" key, from the anchor script's output; empty if it could not run.
inline std::map<std::string, double> numpy_times(int64_t max_n, double budget) {
  const char* python = std::getenv("PYTHON");
  std::string here = __FILE__; // the script sits beside this file
  std::string script = here.substr(0, here.find_last_of('/') + 1) + "numpy_anchor.py";
  std::string cmd = std::string(python ? python : "python3") + " " + script + " --max-n " + std::to_string(max_n) +
                    " --seconds " + std::to_string(budget);
  std::map<std::string, double> out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char line[512], name[64];
  long long size;
  double secs;
  while (std::fgets(line, sizeof line, p)) {
    if (line[0] == '#')
      std::printf("%s", line);
    else if (std::sscanf(line, "%63s %lld %lf", name, &size, &secs) == 3)
      out[std::string(name) + " " + std::to_string(size)] = secs;
  }
  if (pclose(p) != 0) std::printf("# numpy_anchor.py failed: its figures are missing\n");
  return out;
}

// The fp32 FMA peak: `accumulators` independent FMA chains of the host's vector width (lowering::host_vector_unit:
// 16 floats with AVX-512, 8 with AVX2), enough to cover the FMA latency times the number of FMA pipes (4 cycles x 2
// pipes on Zen 3-5 and recent Intel) and few enough for AVX2's 16 registers; `rounds` of them per loop trip so the
// loop's own instructions do not count. "min-legal-vector-width" keeps LLVM from splitting 512-bit vectors on CPUs it
// tunes for 256-bit code. a = a * m + c with m just under 1 stays near 1: no overflow, no denormals.
constexpr int accumulators = 12, rounds = 4;

inline std::string fma_peak_ir(int64_t lanes) {
  auto acc = [](int a, int round) { return fmt::format("%a{}.{}", a, round); };
  std::string v = fmt::format("<{} x float>", lanes), fma = fmt::format("@llvm.fma.v{}f32", lanes);
  std::string ir = fmt::format(R"(declare {0} {1}({0}, {0}, {0})
define void @fma_peak(ptr %out, i64 %trips, float %m, float %c) #0 {{
entry:
  %m0 = insertelement {0} poison, float %m, i64 0
  %mv = shufflevector {0} %m0, {0} poison, <{2} x i32> zeroinitializer
  %c0 = insertelement {0} poison, float %c, i64 0
  %cv = shufflevector {0} %c0, {0} poison, <{2} x i32> zeroinitializer
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i.next, %loop ]
)",
                               v, fma, lanes);
  for (int a = 0; a < accumulators; a++)
    ir += fmt::format("  {} = phi {} [ %cv, %entry ], [ {}, %loop ]\n", acc(a, 0), v, acc(a, rounds));
  for (int r = 1; r <= rounds; r++)
    for (int a = 0; a < accumulators; a++)
      ir += fmt::format("  {0} = call {1} {2}({1} {3}, {1} %mv, {1} %cv)\n", acc(a, r), v, fma, acc(a, r - 1));
  ir += R"(  %i.next = add i64 %i, 1
  %more = icmp ult i64 %i.next, %trips
  br i1 %more, label %loop, label %exit
exit:
)";
  // the sum of the accumulators is stored, so that none of the work is dead
  std::string sum = acc(0, rounds);
  for (int a = 1; a < accumulators; a++) {
    ir += fmt::format("  %s{} = fadd {} {}, {}\n", a, v, sum, acc(a, rounds));
    sum = fmt::format("%s{}", a);
  }
  // align 4: the output is a float array, not vector-aligned
  ir += fmt::format("  store {} {}, ptr %out, align 4\n  ret void\n}}\n", v, sum);
  return ir + fmt::format("attributes #0 = {{ \"min-legal-vector-width\"=\"{}\" }}\n", 32 * lanes);
}

// GFLOP/s of the FMA kernel on every thread at once: the best of a few runs of about 0.1 s each.
inline double fma_peak_gflops() {
  const int64_t lanes = lowering::host_vector_unit().lanes;
  auto compiler = llvm::cantFail(runtime::CpuCompiler::create("", 0)); // no disk cache: it compiles in milliseconds
  auto program = llvm::cantFail(compiler->compile(fma_peak_ir(lanes)));
  auto kernel =
      reinterpret_cast<void (*)(float*, int64_t, float, float)>(llvm::cantFail(program->function("fma_peak")));
  int64_t threads = runtime::thread_count();
  std::vector<float> out(size_t(threads * lanes));
  auto run = [&](int64_t trips) {
    auto t = std::chrono::steady_clock::now();
    runtime::parallel_for(threads, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; i++) kernel(&out[size_t(i * lanes)], trips, 0.999999f, 1e-6f);
    });
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  int64_t trips = 1000;
  while (run(trips) < 0.02) trips *= 4; // warms the threads up too
  trips = int64_t(double(trips) * 0.1 / run(trips)) + 1;
  double best = 1e30;
  for (int i = 0; i < 5; i++) best = std::min(best, run(trips));
  return double(threads) * double(trips) * rounds * accumulators * double(lanes) * 2 / best / 1e9;
}

} // namespace patgrad::bench
