// Search (runtime/search.cpp) and the opt space it walks (lowering::opt_actions, parse_opts): a searched kernel's
// plan is legal and at least as fast as the heuristic's on the same scratch buffers, the winner is stored and found
// again without measuring, and kernels with nothing to gain are not searched. That a searched kernel computes what
// the default one does is checked end to end by the search_script test (patgrad run --beam 2 against INTERP).
#include "frontend/tensor.h"
#include "runtime/search.h"
#include "tests/lowering/kernel_graphs.h"
#include "tests/shell.h"
#include <chrono>
#include <csignal>
#include <fmt/format.h>
#include <fstream>
#include <llvm/Support/MemoryBuffer.h>
#include <map>
#include <mutex>
#include <thread>

using namespace patgrad;
using namespace patgrad::testing;
using lowering::Opt;

namespace {

Tensor input(const Shape& shape) {
  std::vector<double> v(size_t(uops::prod(shape)));
  for (size_t i = 0; i < v.size(); i++) v[i] = double(i % 7) - 3;
  return Tensor::from_vector(v, shape).realize();
}

// The kernel that computes t (after those it reads, such as a matmul's packing of its right operand).
lowering::Kernel last_kernel(Tensor t) {
  lowering::Schedule s = lowering::schedule({t.uop()}, runtime::new_buffer);
  REQUIRE(!s.kernels.empty());
  return s.kernels.back();
}

const runtime::Target& cpu() { return *expect_ok(runtime::find_target("CPU")); }

// The CPU target, except that a plan whose last opt is `unroll rN:4` crashes when run, and one whose last opt is
// `sum rN:4` never returns: candidates a search must survive and skip.
class PlantedTarget : public runtime::Target {
public:
  PlantedTarget() : Target("CPU") {}
  llvm::Expected<std::unique_ptr<runtime::Executable>> compile(const lowering::Lowered& kernel,
                                                               const std::string& name) const override {
    auto made = cpu().compile(kernel, name);
    llvm::StringRef last = llvm::StringRef(kernel.opts).rsplit(", ").second;
    if (last.empty()) last = kernel.opts;
    if (made && last.starts_with("unroll") && last.ends_with(":4")) return std::make_unique<Crashing>();
    if (made && last.starts_with("sum") && last.ends_with(":4")) return std::make_unique<Hanging>();
    return made;
  }
  bool compiles_in_parallel() const override { return true; }

private:
  struct Crashing : runtime::Executable {
    llvm::Error run(llvm::ArrayRef<runtime::Buffer*>) const override {
      std::raise(SIGSEGV);
      return llvm::Error::success();
    }
    uint64_t bytes() const override { return 0; }
  };
  struct Hanging : runtime::Executable {
    llvm::Error run(llvm::ArrayRef<runtime::Buffer*>) const override {
      for (;;) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    uint64_t bytes() const override { return 0; }
  };
};

// The CPU target, on a machine whose speed drifts: the heuristic's plan (heuristic) is 30 ms slower in its first
// three runs (the search's timing of the incumbent), every other plan 30 ms slower once the heuristic's runs again
// (side by side with the winner): a winner that only beat an unlucky first timing.
class DriftingTarget : public runtime::Target {
public:
  explicit DriftingTarget(std::string heuristic) : Target("CPU"), heuristic(std::move(heuristic)) {}
  llvm::Expected<std::unique_ptr<runtime::Executable>> compile(const lowering::Lowered& kernel,
                                                               const std::string& name) const override {
    auto made = cpu().compile(kernel, name);
    if (!made) return made.takeError();
    return std::make_unique<Drifting>(std::move(*made), *this, kernel.opts);
  }
  bool compiles_in_parallel() const override { return true; }

private:
  struct Drifting : runtime::Executable {
    Drifting(std::unique_ptr<runtime::Executable> inner, const DriftingTarget& t, std::string opts)
        : inner(std::move(inner)), target(t), opts(std::move(opts)) {}
    llvm::Error run(llvm::ArrayRef<runtime::Buffer*> buffers) const override {
      bool slow;
      {
        std::lock_guard lock(target.mutex);
        int runs = ++target.runs[opts], heuristic_runs = target.runs[target.heuristic];
        slow = opts == target.heuristic ? runs <= 3 : heuristic_runs > 3;
      }
      if (slow) std::this_thread::sleep_for(std::chrono::milliseconds(30));
      return inner->run(buffers);
    }
    uint64_t bytes() const override { return inner->bytes(); }
    std::unique_ptr<runtime::Executable> inner;
    const DriftingTarget& target;
    std::string opts;
  };
  std::string heuristic;
  mutable std::mutex mutex;
  mutable std::map<std::string, int> runs; // by plan, in this process (a forked first run counts in its child)
};

} // namespace

TEST_CASE("opts print and parse back; bad text is an error naming it", "[runtime][search]") {
  std::vector<Opt> opts{{Opt::UPCAST, 2, 8}, {Opt::SUM, 6, 16}, {Opt::UNROLL, 6, 4}, {Opt::SPLIT, 3, 8},
                        {Opt::SWAP, 1, 3},   {Opt::THREAD, 2},  {Opt::PAD, 3, 4}};
  std::string text = lowering::to_string(opts);
  CHECK(text == "upcast r2:8, sum r6:16, unroll r6:4, split r3:8, swap r1 r3, thread r2, pad r3:4");
  CHECK(expect_ok(lowering::parse_opts(text)) == opts);
  CHECK(expect_ok(lowering::parse_opts("")).empty());
  for (const char* bad : {"upcast r2", "tile r1:2", "swap r1", "upcast 2:8", "thread r2:4", "upcast r2:8 r3:4"}) {
    INFO(bad);
    CHECK(expect_error(lowering::parse_opts(bad)).find("bad opt") != std::string::npos);
  }
}

TEST_CASE("the search's actions on a kernel are all legal", "[runtime][search]") {
  UOp ast = expect_ok(lowering::lower_to_optimize(last_kernel(input({64, 128}).matmul(input({128, 96}))), "CPU",
                                                  rewriter::builtin_library()));
  std::vector<Opt> actions = lowering::opt_actions(ast);
  CHECK(actions.size() > 10);
  for (const Opt& a : actions) {
    INFO(lowering::to_string(a));
    llvm::Error e = lowering::check_opt(ast, a);
    CHECK(!e);
    llvm::consumeError(std::move(e));
  }
  auto has = [&](Opt::Kind kind) { return llvm::any_of(actions, [&](const Opt& a) { return a.kind == kind; }); };
  CHECK((has(Opt::UPCAST) && has(Opt::SUM) && has(Opt::UNROLL) && has(Opt::SWAP) && has(Opt::THREAD)));
}

TEST_CASE("a searched kernel's plan is at least the heuristic's speed, and is stored", "[runtime][search]") {
  TempDir dir;
  // time enough for a round however slow the build (a sanitizer's Debug build lowers plans and forks far slower)
  ScopedEnv env("PATGRAD_CACHE_DIR", dir.str().c_str()), searched("PATGRAD_SEARCH_MIN_MS", "0"),
      fork("PATGRAD_SEARCH_FORK_MS", "3000"), unhurried("PATGRAD_SEARCH_SECONDS", "600");
  lowering::Kernel k = last_kernel(input({256, 1024}).matmul(input({1024, 256})));
  runtime::Searched s = expect_ok(runtime::search_kernel(k, cpu(), 2));
  INFO(lowering::to_string(s.opts));
  CHECK(!s.from_db);
  CHECK(s.candidates > 1);
  CHECK(s.default_ms > 0);
  CHECK(s.ms <= s.default_ms);
  UOp ast = expect_ok(lowering::lower_to_optimize(k, "CPU", rewriter::builtin_library()));
  expect_ok(lowering::apply_opts(ast, s.opts, *rewriter::builtin_library().pass("opts")));
  std::vector<std::string> files = files_in(dir.str() + "/search");
  CHECK(llvm::count_if(files, [](const std::string& f) { return llvm::StringRef(f).ends_with(".opts"); }) == 1);
  // every measured plan is a line of the search log, which search-log summarizes
  REQUIRE(llvm::is_contained(files, "log.jsonl"));
  std::string summary = expect_ok(runtime::summarize_search_log(dir.str() + "/search/log.jsonl"));
  INFO(summary);
  CHECK(summary.find(fmt::format("1 searches, {} plans", s.candidates)) != std::string::npos);
  // the best plan measured, unless measuring it beside the heuristic's again kept the heuristic's (timing noise)
  if (s.opts != lowering::optimize(ast, lowering::upcast_limit()))
    CHECK(summary.find(lowering::to_string(s.opts)) != std::string::npos);
  CHECK(s.model_chose); // by default the cost model picks the plans measured, and the log says how it ranked them
  CHECK(summary.find("cost model (the model chose): pairwise order right for") != std::string::npos);
  // a second search of the same kernel finds it; a wider beam than the stored one searches again
  runtime::Searched again = expect_ok(runtime::search_kernel(k, cpu(), 2));
  CHECK(again.from_db);
  CHECK(again.candidates == 0);
  CHECK(again.opts == s.opts);
  CHECK(!expect_ok(runtime::search_kernel(k, cpu(), 3)).from_db);
  // a stored plan that does not apply (edited by hand here) is searched again, not an error
  std::string db = dir.str() + "/search/" + files[0 + (files[0] == "log.jsonl")];
  auto text = llvm::MemoryBuffer::getFile(db);
  REQUIRE(text);
  std::string edited = (*text)->getBuffer().str();
  size_t line = edited.find('\n') + 1;
  edited.replace(line, edited.find('\n', line) - line, "upcast r99:3");
  { std::ofstream(db) << edited; }
  runtime::Searched redone = expect_ok(runtime::search_kernel(k, cpu(), 2));
  CHECK(!redone.from_db);
  CHECK(redone.candidates > 1);
}

TEST_CASE("kernels with nothing to gain are not searched", "[runtime][search]") {
  TempDir dir;
  ScopedEnv env("PATGRAD_CACHE_DIR", dir.str().c_str());
  // no inputs (a fill runs once), and one faster than PATGRAD_SEARCH_MIN_MS: the heuristic's plan, unmeasured or
  // measured once
  CHECK(expect_ok(runtime::search_kernel(last_kernel(Tensor::full({64, 64}, 2.0)), cpu(), 2)).candidates == 0);
  ScopedEnv fast("PATGRAD_SEARCH_MIN_MS", "1000");
  runtime::Searched tiny = expect_ok(runtime::search_kernel(last_kernel(input({4, 8}) * 2.0), cpu(), 2));
  INFO(tiny.default_ms);
  CHECK(tiny.candidates <= 1);
  // INTERP cannot compile on several threads: nothing is timed there
  CHECK(expect_ok(runtime::search_kernel(last_kernel(input({64, 64}).sum({1})),
                                         *expect_ok(runtime::find_target("INTERP")), 2))
            .candidates == 0);
}

TEST_CASE("a candidate that crashes or hangs is reported and skipped; the search still finds a winner",
          "[runtime][search]") {
  TempDir dir;
  // every plan measured (the model might not pick the planted ones); a beam of 2 keeps the run short. Time enough
  // for every round and every first run, however slow the build (a sanitizer's forks take far more than 50 ms, and
  // lowering every plan of a round in a Debug build more than the 10 s a kernel gets by default)
  ScopedEnv env("PATGRAD_CACHE_DIR", dir.str().c_str()), searched("PATGRAD_SEARCH_MIN_MS", "0"),
      every("PATGRAD_SEARCH_MODEL", "0"), fork("PATGRAD_SEARCH_FORK_MS", "3000"),
      unhurried("PATGRAD_SEARCH_SECONDS", "600");
  PlantedTarget planted;
  lowering::Kernel k = last_kernel(input({256, 1024}).matmul(input({1024, 256})));
  runtime::Searched s = expect_ok(runtime::search_kernel(k, planted, 2));
  std::string failures = fmt::format("{}", fmt::join(s.failures, "\n"));
  INFO(failures);
  CHECK(failures.find("unroll r4:4: crashed (SIGSEGV) in its first run") != std::string::npos);
  CHECK(failures.find("sum r4:4: did not finish in") != std::string::npos);
  INFO(lowering::to_string(s.opts));
  for (const Opt& o : s.opts) CHECK(!((o.kind == Opt::SUM || o.kind == Opt::UNROLL) && o.amount == 4));
  CHECK(s.candidates > int(s.failures.size())); // and the others were timed
  CHECK(s.ms <= s.default_ms);
  // the log has them, as rejected plans
  std::string summary = expect_ok(runtime::summarize_search_log(dir.str() + "/search/log.jsonl"));
  INFO(summary);
  CHECK(summary.find(fmt::format("({} rejected", s.failures.size())) != std::string::npos);
  CHECK(summary.find("cost model (every plan measured)") != std::string::npos);
}

TEST_CASE("search-log scores the cost model's ranking: pairs in the right order, the best in its top quarter",
          "[runtime][search]") {
  TempDir dir;
  std::string path = dir.str() + "/log.jsonl";
  {
    std::ofstream log(path);
    // four plans of one round, every plan measured: the model swaps b and c, and d was killed at its deadline
    constexpr const char* line =
        R"({{"key":"k","kernel":"R_4","opts":"{}","incumbent":false,"ms":{},"sliced":false,)"
        R"("rejected":{},"failure":"{}","compile_ms":1,"model_ms":{},"round":1,"model_rank":{},)"
        R"("round_plans":4,"model_chose":false}})";
    log << fmt::format(line, "a", "1", "false", "", 1, 0) << "\n"
        << fmt::format(line, "b", "2", "false", "", 3, 2) << "\n"
        << fmt::format(line, "c", "4", "false", "", 2, 1) << "\n"
        << fmt::format(line, "d", "null", "true", "did not finish in 100 ms", 4, 3) << "\n";
  }
  std::string summary = expect_ok(runtime::summarize_search_log(path));
  INFO(summary);
  // pairs: ab ac ad bd cd right, bc wrong; of those where both finished, ab ac right, bc wrong
  CHECK(summary.find("cost model (every plan measured): pairwise order right for 83% of 6 pairs of plans, timeouts "
                     "as slowest (67% of the 3 where both finished); the round's best in its top quarter in 1 of 1 "
                     "rounds") != std::string::npos);
}

TEST_CASE("a winner is timed again beside the heuristic's plan, and kept only where it wins there too",
          "[runtime][search]") {
  TempDir dir;
  ScopedEnv env("PATGRAD_CACHE_DIR", dir.str().c_str()), searched("PATGRAD_SEARCH_MIN_MS", "0"),
      fork("PATGRAD_SEARCH_FORK_MS", "3000"), unhurried("PATGRAD_SEARCH_SECONDS", "600");
  lowering::Kernel k = last_kernel(input({64, 256}).matmul(input({256, 64})));
  std::string heuristic = lowering::to_string(expect_ok(runtime::search_kernel(k, cpu(), 1, 0)).opts);
  DriftingTarget drifting(heuristic);
  runtime::Searched s = expect_ok(runtime::search_kernel(k, drifting, 1));
  INFO(heuristic << " against " << lowering::to_string(s.opts));
  CHECK(s.default_ms > 30); // the unlucky first timing, which every plan beat
  REQUIRE(s.confirm_ms);
  CHECK(s.confirm_ms->second > s.confirm_ms->first + 20); // side by side, the winner ran slower
  CHECK(lowering::to_string(s.opts) == heuristic);
  CHECK(s.ms == s.default_ms);
}
