// BEAM search from scratch (an empty search database) on the kernels bench_tensor times: the 1024 fp32 matmul, conv2d
// 8x64x56x56 (64 out, 3x3, padding 1) and a sum of 16M floats (its first kernel: 64 parts). For each: the search's
// wall time, the plans it timed, the time it took to reach 90% of its final best, and the heuristic's plan and the
// winner as GFLOP/s (GB/s for the sum), both timed by the search on the same scratch buffers; beside numpy (OpenBLAS)
// and the machine's fp32 FMA peak, measured in the same run.
// Usage: bench_search [--beam N] [--seconds S] [--no-numpy]   (N: plans kept a round, default 4; S: per kernel, 20)
#include "bench/anchors.h"
#include "frontend/tensor.h"
#include "runtime/search.h"
#include <cstdlib>
#include <llvm/Support/FileSystem.h>
#include <random>

using namespace patgrad;

namespace {

Tensor random(const Shape& shape) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<float> v(size_t(uops::prod(shape)));
  for (float& x : v) x = dist(rng);
  return Tensor::from_vector(v, shape).realize();
}

// The kernel of the schedule that does the work: the one reading the most elements.
lowering::Kernel main_kernel(const Tensor& t) {
  lowering::Schedule s = lowering::schedule({t.uop()}, runtime::new_buffer);
  const lowering::Kernel* best = &s.kernels[0];
  auto reads = [](const lowering::Kernel& k) {
    int64_t n = 0;
    for (size_t i = 1; i < k.buffers.size(); i++) n += runtime::buffer(k.buffers[i]).size;
    return n;
  };
  for (const lowering::Kernel& k : s.kernels)
    if (reads(k) > reads(*best)) best = &k;
  return *best;
}

} // namespace

int main(int argc, char** argv) {
  int beam = 4;
  double seconds = 20;
  bool numpy = true;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--beam" && i + 1 < argc)
      beam = std::atoi(argv[++i]);
    else if (a == "--seconds" && i + 1 < argc)
      seconds = std::atof(argv[++i]);
    else if (a == "--no-numpy")
      numpy = false;
    else {
      fmt::print(stderr, "usage: bench_search [--beam N] [--seconds S] [--no-numpy]\n");
      return 2;
    }
  }
  llvm::SmallString<128> dir; // an empty search database (and kernel cache): every kernel is searched from scratch
  if (llvm::sys::fs::createUniqueDirectory("patgrad-bench-search", dir)) return 1;
  setenv("PATGRAD_CACHE_DIR", dir.c_str(), 1);
  setenv("PATGRAD_SEARCH_SECONDS", std::to_string(seconds).c_str(), 1);
  const runtime::Target& cpu = *llvm::cantFail(runtime::find_target("CPU"));
  double peak = bench::fma_peak_gflops();
  fmt::print("# patgrad CPU device, {} threads, BEAM={}, at most {} s a kernel\n", runtime::thread_count(), beam,
             seconds);
  fmt::print("# fp32 FMA peak (<16 x float> llvm.fma through our JIT, all threads): {:.1f} GFLOP/s\n", peak);

  struct Case {
    std::string name, numpy_key, unit;
    double work; // FLOP or bytes
    Tensor t;
  };
  std::vector<Case> cases;
  cases.push_back({"matmul 1024", "matmul 1024", "GFLOP/s", 2.0 * 1024 * 1024 * 1024,
                   random({1024, 1024}).matmul(random({1024, 1024}))});
  cases.push_back({"conv2d 8", "conv2d 8", "GFLOP/s", 2.0 * 8 * 64 * 56 * 56 * 64 * 9,
                   random({8, 64, 56, 56}).conv2d(random({64, 64, 3, 3}), std::nullopt, {1}, {1})});
  cases.push_back({"sum 16777216", "sum 16777216", "GB/s", 4.0 * (1 << 24), random({1 << 24}).sum()});
  std::vector<std::pair<Case*, runtime::Searched>> results;
  for (Case& c : cases) {
    lowering::Kernel k = main_kernel(c.t);
    auto s = runtime::search_kernel(k, cpu, beam);
    if (!s) {
      fmt::print(stderr, "bench_search: {}: {}\n", c.name, llvm::toString(s.takeError()));
      return 1;
    }
    results.push_back({&c, *s});
  }
  std::map<std::string, double> np = numpy ? bench::numpy_times(1024, 1.0) : std::map<std::string, double>{};
  fmt::print("{:<14} {:<8} {:>9} {:>6} {:>9} {:>10} {:>10} {:>8} {:>8} {:>8}  {}\n", "kernel", "unit", "search s",
             "plans", "to 90% s", "heuristic", "searched", "numpy", "%pk", "gain", "winner");
  for (auto& [c, s] : results) {
    double to90 = 0; // the first moment the best so far was within 1/0.9 of the final best
    for (auto& [at, best] : s.progress)
      if (best <= s.ms / 0.9) {
        to90 = at;
        break;
      }
    auto rate = [&](double ms) { return c->work / (ms / 1e3) / 1e9; };
    auto it = np.find(c->numpy_key);
    std::string numpy_rate = it == np.end() ? "-" : fmt::format("{:.1f}", c->work / it->second / 1e9);
    std::string share = c->unit == "GFLOP/s" ? fmt::format("{:.1f}%", 100 * rate(s.ms) / peak) : "-";
    fmt::print("{:<14} {:<8} {:>9.1f} {:>6} {:>9.1f} {:>10.1f} {:>10.1f} {:>8} {:>8} {:>7.2f}x  {}\n", c->name, c->unit,
               s.search_ms / 1e3, s.candidates, to90 / 1e3, rate(s.default_ms), rate(s.ms), numpy_rate, share,
               s.default_ms / s.ms, lowering::to_string(s.opts));
  }
  llvm::sys::fs::remove_directories(dir);
  return 0;
}
