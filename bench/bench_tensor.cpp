// Tensor ops end to end on the CPU device, beside numpy (OpenBLAS) doing the same work: fp32 matmul at N = 256 ..
// 2048 (GFLOP/s), an add and a sum of 16M floats (GB/s: 12 and 4 bytes per element), conv2d 8x64x56x56, 64 out,
// 3x3, padding 1 (GFLOP/s; numpy's is im2col + matmul). Each op runs once to compile, then is timed until about a
// second has passed (at least 3 runs, or 1 when the compiling run took over 10 s); figures are medians. "wall" is
// building the graph, scheduling and running (what realize() costs), "kernels" the kernels alone. numpy's figures come
// from bench/numpy_anchor.py, run after ours in the same process tree. The machine's fp32 FMA peak is measured first
// (a hand-written kernel through our own JIT on every thread), and each GFLOP/s figure is also given as a share of it.
// Usage: bench_tensor [--max-n N] [--seconds S] [--no-numpy]   (N defaults to 1024: the naive 2048 matmul is slow)
#include "bench/anchors.h"
#include "frontend/tensor.h"
#include "lowering/lowering.h"
#include "runtime/cpu_jit.h"
#include "runtime/thread_pool.h"
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fmt/format.h>
#include <functional>
#include <map>
#include <random>
#include <string>

using namespace patgrad;
using bench::fma_peak_gflops;
using bench::numpy_times;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Timing {
  double wall = 0, kernels = 0, first = 0; // median seconds; first: the compiling run
  int runs = 0;
};

Timing time_op(const std::function<Tensor()>& build, double budget) {
  const runtime::Target& cpu = *llvm::cantFail(runtime::find_target("CPU"));
  auto once = [&](double& kernel_s) {
    auto t = Clock::now();
    Tensor out = build();
    lowering::Schedule s = lowering::schedule({out.uop()}, runtime::new_buffer);
    runtime::RunStats stats;
    if (auto e = runtime::run(s, cpu, &stats)) {
      std::fprintf(stderr, "bench_tensor: %s\n", llvm::toString(std::move(e)).c_str());
      std::exit(1);
    }
    kernel_s = stats.run_ms / 1e3;
    return seconds_since(t);
  };
  Timing r;
  double unused;
  r.first = once(unused);
  std::vector<double> wall, kernels;
  auto start = Clock::now();
  size_t min_runs = r.first > 10 ? 1 : 3; // an op that takes many seconds (the naive conv2d) is timed once
  while (wall.size() < min_runs || (seconds_since(start) < budget && wall.size() < 50)) {
    double k;
    wall.push_back(once(k));
    kernels.push_back(k);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  r.wall = median(wall), r.kernels = median(kernels), r.runs = int(wall.size());
  return r;
}

std::string fmt_number(double v, const char* format) {
  char text[32];
  std::snprintf(text, sizeof text, format, v);
  return text;
}

Tensor random_tensor(std::mt19937& rng, const Shape& shape) {
  std::uniform_real_distribution<float> dist(0, 1);
  std::vector<float> v(size_t(uops::prod(shape)));
  for (float& x : v) x = dist(rng);
  return Tensor::from_vector(v, shape);
}

struct Row {
  std::string key, unit;
  double work; // FLOP or bytes per run
  Timing ours;
};

} // namespace

int main(int argc, char** argv) {
  int64_t max_n = 1024;
  double budget = 1.0;
  bool numpy = true;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--max-n" && i + 1 < argc)
      max_n = std::atoll(argv[++i]);
    else if (a == "--seconds" && i + 1 < argc)
      budget = std::atof(argv[++i]);
    else if (a == "--no-numpy")
      numpy = false;
    else {
      std::fprintf(stderr, "usage: bench_tensor [--max-n N] [--seconds S] [--no-numpy]\n");
      return 1;
    }
  }
  std::printf("# patgrad CPU device, %lld threads\n", (long long)runtime::thread_count());
  double peak = fma_peak_gflops();
  std::printf("# fp32 FMA peak (<%d x float> llvm.fma through our JIT, all threads): %.1f GFLOP/s\n",
              int(lowering::host_vector_unit().lanes), peak);
  std::mt19937 rng(0);
  std::vector<Row> rows;
  for (int64_t n : {256, 512, 1024, 2048}) {
    if (n > max_n) {
      std::printf("# matmul %lld skipped: above --max-n %lld\n", (long long)n, (long long)max_n);
      continue;
    }
    Tensor a = random_tensor(rng, {n, n}), b = random_tensor(rng, {n, n});
    rows.push_back({"matmul " + std::to_string(n), "GFLOP/s", 2.0 * double(n * n * n),
                    time_op([&] { return a.matmul(b); }, budget)});
  }
  int64_t big = int64_t(1) << 24;
  Tensor x = random_tensor(rng, {big}), y = random_tensor(rng, {big});
  rows.push_back({"add " + std::to_string(big), "GB/s", 12.0 * double(big), time_op([&] { return x + y; }, budget)});
  rows.push_back({"sum " + std::to_string(big), "GB/s", 4.0 * double(big), time_op([&] { return x.sum(); }, budget)});
  Tensor img = random_tensor(rng, {8, 64, 56, 56}), w = random_tensor(rng, {64, 64, 3, 3});
  rows.push_back({"conv2d 8", "GFLOP/s", 2.0 * 8 * 64 * 56 * 56 * 64 * 9,
                  time_op([&] { return img.conv2d(w, std::nullopt, {1}, {1}); }, budget)});
  std::map<std::string, double> np = numpy ? numpy_times(max_n, budget) : std::map<std::string, double>{};
  // %peak: the wall and kernel GFLOP/s as a share of the FMA peak; "-" for the GB/s rows, which memory bounds
  std::printf("%-16s %-8s %10s %10s %10s %10s %9s %6s %8s %8s\n", "op", "unit", "wall", "kernels", "numpy",
              "numpy/wall", "compile s", "runs", "wall %pk", "kern %pk");
  for (const Row& r : rows) {
    double ours = r.work / r.ours.wall / 1e9, kern = r.work / r.ours.kernels / 1e9;
    auto it = np.find(r.key);
    std::string theirs = "-", ratio = "-", wall_peak = "-", kern_peak = "-";
    if (it != np.end()) {
      double t = r.work / it->second / 1e9;
      theirs = fmt_number(t, "%.2f"), ratio = fmt_number(t / ours, "%.1fx");
    }
    if (r.unit == "GFLOP/s")
      wall_peak = fmt_number(100 * ours / peak, "%.1f%%"), kern_peak = fmt_number(100 * kern / peak, "%.1f%%");
    std::printf("%-16s %-8s %10.2f %10.2f %10s %10s %9.2f %6d %8s %8s\n", r.key.c_str(), r.unit.c_str(), ours, kern,
                theirs.c_str(), ratio.c_str(), r.ours.first, r.ours.runs, wall_peak.c_str(), kern_peak.c_str());
  }
  return 0;
}
