// Search quality: BEAM from scratch on the kernels bench_tensor times (the 1024 fp32 matmul, conv2d 8x64x56x56 (64
// out, 3x3, padding 1), and a sum of 16M floats (its first kernel: 64 parts)), as plain BEAM (every plan of a round
// compiled and timed) and with the cost model choosing which are (PATGRAD_SEARCH_MODEL), at the same beam, in turns.
// Each search runs in a fresh process of this program with an empty search database and kernel cache, so neither
// inherits the other's compiled code. Per search: its wall time, plans compiled and timed, the time to 90% of its own
// final best, the heuristic's plan and the winner re-measured in turns after it (medians: GFLOP/s, GB/s for the sum;
// the winner as % of the fp32 FMA peak measured at the start), and the best so far at checkpoints, by the search's own
// samples (research/search.md, section 6). Then how well the model ranked the plans, from each search's log.
// Usage: bench_search [--beam N] [--seconds S] [--repeat R] [--no-numpy]   (N default 4; S per kernel, 20; R 1)
//        bench_search --time CASE [OPTS...]   (0 matmul, 1 conv2d, 2 sum, 3-4 small convolutions)
#include "bench/anchors.h"
#include "bench/workloads.h"
#include "frontend/tensor.h"
#include "runtime/search.h"
#include <chrono>
#include <cstdlib>
#include <llvm/ADT/StringExtras.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/JSON.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/Program.h>

using namespace patgrad;
using bench::main_kernel;
using bench::random;

namespace {

struct Case {
  std::string name, unit;
  double work; // FLOP or bytes
};
const Case cases[] = {{"matmul 1024", "GFLOP/s", 2.0 * 1024 * 1024 * 1024},
                      {"conv2d 8", "GFLOP/s", 2.0 * 8 * 64 * 56 * 56 * 64 * 9},
                      {"sum 16777216", "GB/s", 4.0 * (1 << 24)},
                      // --time only: bench_mnist_step's slowest kernels, convolutions of small images (a forward one
                      // and an input gradient's)
                      {"conv2d 512x64x8x8", "GFLOP/s", 2.0 * 512 * 64 * 6 * 6 * 64 * 9},
                      {"conv2d 512x64x12x12 to 32", "GFLOP/s", 2.0 * 512 * 32 * 10 * 10 * 64 * 9}};

Tensor case_tensor(int i) {
  if (i == 0) return random({1024, 1024}).matmul(random({1024, 1024}));
  if (i == 1) return random({8, 64, 56, 56}).conv2d(random({64, 64, 3, 3}), std::nullopt, {1}, {1});
  if (i == 3) return random({512, 64, 8, 8}).conv2d(random({64, 64, 3, 3}));
  if (i == 4) return random({512, 64, 12, 12}).conv2d(random({32, 64, 3, 3}));
  return random({1 << 24}).sum();
}

// The median time of each compiled plan of kernel k, run in turns (11 each, after a warm-up): a paired comparison on a
// shared host, where single samples minutes apart are not.
std::vector<double> medians_in_turns(const lowering::Kernel& k,
                                     llvm::ArrayRef<std::unique_ptr<runtime::Executable>> plans) {
  std::vector<runtime::Buffer*> bufs;
  for (const uops::UOp& b : k.buffers) bufs.push_back(&runtime::buffer(b));
  std::vector<std::vector<double>> times(plans.size());
  for (int run = 0; run < 12; run++)
    for (size_t p = 0; p < plans.size(); p++) {
      auto t = std::chrono::steady_clock::now();
      llvm::cantFail(plans[p]->run(bufs));
      if (run > 0)
        times[p].push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count());
    }
  std::vector<double> out;
  for (auto& t : times) {
    llvm::sort(t);
    out.push_back(t[t.size() / 2]);
  }
  return out;
}

// The heuristic's plan and the search's winner, re-measured in turns after the search.
std::pair<double, double> remeasure(const lowering::Kernel& k, const runtime::Target& cpu, const runtime::Searched& s) {
  const rewriter::Library& lib = rewriter::builtin_library();
  std::vector<std::unique_ptr<runtime::Executable>> plans;
  for (const auto& opts : {lowering::optimize(s.ast, lowering::upcast_limit()), s.opts}) {
    auto lowered = llvm::cantFail(lowering::lower_with_opts(k, s.ast, opts, "CPU", lib));
    plans.push_back(llvm::cantFail(cpu.compile(lowered, k.name)));
  }
  std::vector<double> ms = medians_in_turns(k, plans);
  return {ms[0], ms[1]};
}

// --time: the heuristic's plan and the given ones (parse_opts' text) on case i, timed in turns (11 runs each after a
// warm-up), as rates beside the FMA peak: a plan tried by hand before the search space or the heuristic takes it.
int time_plans(int i, const std::vector<std::string>& texts) {
  if (i < 0 || i >= int(std::size(cases))) {
    fmt::print(stderr, "bench_search: --time takes a case from 0 to {}\n", std::size(cases) - 1);
    return 2;
  }
  const runtime::Target& cpu = *llvm::cantFail(runtime::find_target("CPU"));
  const rewriter::Library& lib = rewriter::builtin_library();
  lowering::Kernel k = main_kernel(case_tensor(i));
  uops::UOp ast = llvm::cantFail(lowering::lower_to_optimize(k, "CPU", lib));
  std::vector<std::vector<lowering::Opt>> plans{lowering::optimize(ast, lowering::upcast_limit())};
  for (const std::string& text : texts) {
    auto opts = lowering::parse_opts(text);
    if (!opts) {
      fmt::print(stderr, "bench_search: {}\n", llvm::toString(opts.takeError()));
      return 2;
    }
    plans.push_back(*opts);
  }
  std::vector<std::unique_ptr<runtime::Executable>> compiled;
  for (const auto& opts : plans) {
    auto lowered = lowering::lower_with_opts(k, ast, opts, "CPU", lib);
    if (!lowered) {
      fmt::print(stderr, "bench_search: {}: {}\n", lowering::to_string(opts), llvm::toString(lowered.takeError()));
      return 2;
    }
    if (const char* d = std::getenv("DEBUG"); d && std::atoi(d) >= 4) fmt::print(stderr, "{}\n", lowered->source);
    compiled.push_back(llvm::cantFail(cpu.compile(*lowered, k.name)));
  }
  double peak = bench::fma_peak_gflops();
  std::vector<double> ms = medians_in_turns(k, compiled);
  fmt::print("# {}, fp32 FMA peak {:.1f} GFLOP/s; medians of 11 runs in turns\n", cases[i].name, peak);
  for (size_t p = 0; p < plans.size(); p++) {
    double rate = cases[i].work / (ms[p] / 1e3) / 1e9;
    fmt::print("{:>8.1f} {} {:>4.0f}%  {}{}\n", rate, cases[i].unit, 100 * rate / peak, p == 0 ? "heuristic: " : "",
               lowering::to_string(plans[p]));
  }
  return 0;
}

// One search in this process (the child's side): a JSON object on stdout.
int search_one(int i, int beam) {
  const runtime::Target& cpu = *llvm::cantFail(runtime::find_target("CPU"));
  Tensor t = case_tensor(i);
  lowering::Kernel k = main_kernel(t);
  auto s = runtime::search_kernel(k, cpu, beam);
  if (!s) {
    fmt::print(stderr, "bench_search: {}: {}\n", cases[i].name, llvm::toString(s.takeError()));
    return 1;
  }
  auto [heuristic_ms, winner_ms] = remeasure(k, cpu, *s);
  llvm::json::Array progress;
  for (auto [at, best] : s->progress) progress.push_back(llvm::json::Array{at, best});
  auto summary = runtime::summarize_search_log(runtime::search_log_path());
  llvm::json::Object o{{"search_ms", s->search_ms},
                       {"default_ms", s->default_ms},
                       {"ms", s->ms},
                       {"timed", s->candidates},
                       {"compiled", s->compiled},
                       {"compile_ms", s->compile_ms},
                       {"run_ms", s->run_ms},
                       {"model_ms", s->model_ms},
                       {"opts", lowering::to_string(s->opts)},
                       {"progress", std::move(progress)},
                       {"summary", summary ? *summary : llvm::toString(summary.takeError())},
                       {"heuristic_median_ms", heuristic_ms},
                       {"winner_median_ms", winner_ms}};
  std::string text;
  llvm::raw_string_ostream(text) << llvm::json::Value(std::move(o));
  fmt::print("{}\n", text);
  return 0;
}

struct Run {
  double search_ms, default_ms, ms, compile_ms, run_ms, model_ms, heuristic_median_ms, winner_median_ms;
  int64_t timed, compiled;
  std::string opts, summary;
  std::vector<std::pair<double, double>> progress;
};

// One search in a fresh process with an empty cache folder.
std::optional<Run> spawn(const char* self, int i, int beam, bool model) {
  llvm::SmallString<128> dir, out;
  if (llvm::sys::fs::createUniqueDirectory("patgrad-bench-search", dir)) return std::nullopt;
  out = dir;
  out += "/result.json";
  std::string case_arg = std::to_string(i), beam_arg = std::to_string(beam);
  std::string env_dir = "PATGRAD_CACHE_DIR=" + std::string(dir),
              env_model = std::string("PATGRAD_SEARCH_MODEL=") + (model ? "1" : "0");
  std::vector<std::string> env;
  for (char** e = environ; *e; e++) env.push_back(*e);
  env.push_back(env_dir), env.push_back(env_model);
  std::vector<llvm::StringRef> env_refs(env.begin(), env.end());
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, llvm::StringRef(out), std::nullopt};
  int rc = llvm::sys::ExecuteAndWait(self, {self, "--one", case_arg, "--beam", beam_arg}, env_refs, redirects);
  auto text = llvm::MemoryBuffer::getFile(out);
  llvm::sys::fs::remove_directories(dir);
  if (rc != 0 || !text) return std::nullopt;
  auto v = llvm::json::parse((*text)->getBuffer());
  if (!v) {
    llvm::consumeError(v.takeError());
    return std::nullopt;
  }
  const llvm::json::Object& o = *v->getAsObject();
  auto num = [&](const char* key) { return o.getNumber(key).value_or(NAN); };
  Run r{num("search_ms"),
        num("default_ms"),
        num("ms"),
        num("compile_ms"),
        num("run_ms"),
        num("model_ms"),
        num("heuristic_median_ms"),
        num("winner_median_ms"),
        int64_t(num("timed")),
        int64_t(num("compiled")),
        o.getString("opts").value_or("").str(),
        o.getString("summary").value_or("").str(),
        {}};
  for (const llvm::json::Value& p : *o.getArray("progress"))
    r.progress.push_back({*(*p.getAsArray())[0].getAsNumber(), *(*p.getAsArray())[1].getAsNumber()});
  return r;
}

// The best so far at t ms into the search.
double best_at(const Run& r, double t) {
  double best = INFINITY;
  for (auto [at, ms] : r.progress)
    if (at <= t) best = std::min(best, ms);
  return best;
}

} // namespace

int main(int argc, char** argv) {
  int beam = 4, repeat = 1, one = -1;
  double seconds = 20;
  bool numpy = true;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--beam" && i + 1 < argc)
      beam = std::atoi(argv[++i]);
    else if (a == "--seconds" && i + 1 < argc)
      seconds = std::atof(argv[++i]);
    else if (a == "--repeat" && i + 1 < argc)
      repeat = std::max(1, std::atoi(argv[++i]));
    else if (a == "--one" && i + 1 < argc)
      one = std::atoi(argv[++i]);
    else if (a == "--no-numpy")
      numpy = false;
    else if (a == "--time" && i + 1 < argc)
      return time_plans(std::atoi(argv[i + 1]), std::vector<std::string>(argv + i + 2, argv + argc));
    else {
      fmt::print(
          stderr,
          "usage: bench_search [--beam N] [--seconds S] [--repeat R] [--no-numpy]\n"
          "       bench_search --time CASE [OPTS...]   (CASE: 0 matmul, 1 conv2d, 2 sum, 3-4 small convolutions)\n");
      return 2;
    }
  }
  setenv("PATGRAD_SEARCH_SECONDS", std::to_string(seconds).c_str(), 1);
  if (one >= 0) return search_one(one, beam);
  std::string self = llvm::sys::fs::getMainExecutable(argv[0], reinterpret_cast<void*>(&main));
  double peak = bench::fma_peak_gflops();
  fmt::print("# patgrad CPU device, {} threads, BEAM={}, at most {} s a kernel, {} run(s) per mode\n",
             runtime::thread_count(), beam, seconds, repeat);
  fmt::print("# fp32 FMA peak (<{} x float> llvm.fma through our JIT, all threads): {:.1f} GFLOP/s\n",
             lowering::host_vector_unit().lanes, peak);
  const double checkpoints[] = {0.5, 1, 2, 5, 10, 20};
  std::string model_lines;
  fmt::print("{:<13} {:<6} {:>7} {:>8} {:>6} {:>7} {:>9} {:>8} {:>5} {:>6}  {:<37} {}\n", "kernel", "mode", "search",
             "compiled", "timed", "to 90%", "heuristic", "winner", "%pk", "gain", "best so far at 0.5/1/2/5/10/20 s",
             "winner");
  for (int i = 0; i < 3; i++) {
    const Case& c = cases[i];
    auto rate = [&](double ms) { return c.work / (ms / 1e3) / 1e9; };
    for (int rep = 0; rep < repeat; rep++)
      for (bool model : {false, true}) {
        auto found = spawn(self.c_str(), i, beam, model);
        if (!found) {
          fmt::print(stderr, "bench_search: the search of {} failed\n", c.name);
          return 1;
        }
        const Run& r = *found;
        double to90 = NAN; // the first moment the best so far was within 1/0.9 of this search's final best
        for (auto [at, ms] : r.progress)
          if (ms <= r.ms / 0.9) {
            to90 = at;
            break;
          }
        std::string curve;
        for (double t : checkpoints) curve += fmt::format("{:>6.1f}", rate(best_at(r, 1e3 * t)));
        std::string share = c.unit == "GFLOP/s" ? fmt::format("{:.0f}", 100 * rate(r.winner_median_ms) / peak) : "-";
        fmt::print("{:<13} {:<6} {:>6.1f}s {:>8} {:>6} {:>6.1f}s {:>9.1f} {:>8.1f} {:>5} {:>5.2f}x  {:<37} {}\n",
                   c.name, model ? "model" : "beam", r.search_ms / 1e3, r.compiled, r.timed, to90 / 1e3,
                   rate(r.heuristic_median_ms), rate(r.winner_median_ms), share,
                   r.heuristic_median_ms / r.winner_median_ms, curve, r.opts);
        std::fflush(stdout);
        for (llvm::StringRef line : llvm::split(r.summary, '\n'))
          if (line.starts_with("cost model"))
            model_lines += fmt::format("{:<13} {:<6} {}\n", c.name, model ? "model" : "beam", line.str());
      }
  }
  fmt::print("# search, to 90% (of its own final best): seconds; heuristic, winner: {} (GB/s for the sum), medians of "
             "11 runs in turns after the search; gain: heuristic / winner time; best so far: the search's own "
             "samples\n",
             cases[0].unit);
  fmt::print("{}", model_lines);
  if (numpy) {
    std::map<std::string, double> np = bench::numpy_times(1024, 1.0);
    for (const Case& c : cases)
      if (auto it = np.find(c.name); it != np.end())
        fmt::print("# numpy {}: {:.1f} {}\n", c.name, c.work / it->second / 1e9, c.unit);
  }
  return 0;
}
