// Running a schedule: each kernel is lowered for the target by the pipeline's driver (lowering::lower_kernel), then
// compiled by the target and run by it. Both are cached by the kernel's AST (interned, so equal kernels share one
// entry) and the target, since the passes and so the program may differ per target.
// Observability, on stderr: DEBUG=1 each schedule's kernels and buffers; 2 then its kernels by time, slowest first,
// with their share, GFLOP/s and GB/s; 4 the program text of each kernel compiled (CPU: LLVM IR); 5 the linear program
// of each kernel lowered. PATGRAD_RULE_STATS=1: at exit, attempts, hits and time of every rule the kernel passes tried.
#include "lowering/lowering.h"
#include "runtime/cost_model.h"
#include "runtime/cpu_jit.h" // memory_cache_limit
#include "runtime/lru_cache.h"
#include "runtime/profile.h"
#include "runtime/search.h"
#include "runtime/target.h"
#include "runtime/thread_pool.h"
#include <chrono>
#include <cstdlib>
#include <fmt/format.h>
#include <llvm/ADT/DenseMap.h>
#include <llvm/ADT/DenseSet.h>

namespace patgrad::runtime {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

struct Compiled {
  UOp ast; // keeps the key alive
  Cost cost;
  std::string opts; // the optimizations applied, for DEBUG=2
  std::shared_ptr<const Executable> executable;
};

struct KernelKey {
  const uops::Node* ast;
  const Target* target;
  bool operator==(const KernelKey&) const = default;
};
struct KernelKeyHash {
  size_t operator()(const KernelKey& k) const {
    return llvm::DenseMapInfo<std::pair<const void*, const void*>>::getHashValue({k.ast, k.target});
  }
};

// Every target, made on the first lookup.
struct Targets {
  std::vector<std::unique_ptr<Target>> owned;
  std::vector<const Target*> list;
  Targets() {
    owned.push_back(make_cpu_target());
    owned.push_back(make_interp_target());
    owned.push_back(make_rdna3_target());
    for (const auto& t : owned) list.push_back(t.get());
  }
};
const Targets& all_targets() {
  static const Targets t;
  return t;
}

// The kernels lowered and compiled for each target; the least recently run are dropped (their code freed) past
// PATGRAD_MEMORY_CACHE_MB. Made on the first kernel run, after the targets and the intern table, so destroyed before
// them: a CPU executable frees its code through the CPU target's compiler, an INTERP one releases its program's nodes.
LruCache<KernelKey, Compiled, KernelKeyHash>& kernels() {
  (void)all_targets();
  static LruCache<KernelKey, Compiled, KernelKeyHash> cache{memory_cache_limit()};
  return cache;
}

thread_local std::vector<Launch>* recorded = nullptr;

int debug_level() {
  const char* d = std::getenv("DEBUG");
  return d ? std::atoi(d) : 0;
}

// Read at each lowering rather than once, so that a test can turn it on in a child process.
bool rule_stats_wanted() {
  const char* s = std::getenv("PATGRAD_RULE_STATS");
  return s && *s && std::string_view(s) != "0";
}

// The rules of the kernel passes that were tried, the slowest first (each rule once: a group may be in two passes).
void print_rule_stats() {
  const rewriter::Library& lib = rewriter::builtin_library();
  std::vector<const rewriter::Rule*> rules;
  for (const auto& pass : lib.passes) {
    if (pass->stage == "tensor") continue;
    for (const rewriter::Group* g : pass->groups)
      for (const rewriter::Rule* r : g->rules)
        if (r->attempts && std::find(rules.begin(), rules.end(), r) == rules.end()) rules.push_back(r);
  }
  std::sort(rules.begin(), rules.end(), [](auto* a, auto* b) { return a->nanos > b->nanos; });
  fmt::print(stderr, "rule statistics of the kernel passes (PATGRAD_RULE_STATS):\n  {:<24} {:>10} {:>8} {:>9}  {}\n",
             "rule", "attempts", "hits", "ms", "where");
  for (const rewriter::Rule* r : rules)
    fmt::print(stderr, "  {:<24} {:>10} {:>8} {:>9.3f}  {}\n", r->name, r->attempts, r->hits, double(r->nanos) / 1e6,
               r->loc.str());
}

void print_schedule(const lowering::Schedule& s, const Target& target) {
  auto buf = [](const UOp& b) {
    const auto& arg = std::get<uops::Ints>(b->arg); // {id, elements}
    return fmt::format("buf{}:{}[{}]", arg[0], uops::name(b->dtype), arg[1]);
  };
  fmt::print(stderr, "schedule: {} kernels on {}\n", s.kernels.size(), target.name);
  for (const lowering::Kernel& k : s.kernels) {
    std::string inputs;
    for (size_t i = 1; i < k.buffers.size(); i++) inputs += (i > 1 ? ", " : "") + buf(k.buffers[i]);
    fmt::print(stderr, "  {:<24} {} <- {}\n", k.name, buf(k.buffers[0]), inputs.empty() ? "nothing" : inputs);
  }
}

// One line per node, sources by their line number (constants inline): the program is a DAG, and printing each node's
// whole tree would repeat shared subtrees exponentially.
void print_program(const std::vector<UOp>& program) {
  llvm::DenseMap<const uops::Node*, size_t> line;
  for (const UOp& u : program) {
    std::string text = fmt::format("  %{} = {}:{}", line.size(), uops::op_info(u->op).name, uops::name(u->dtype));
    if (auto* i = std::get_if<int64_t>(&u->arg)) text += fmt::format(" [{}]", *i);
    if (u->op == uops::Op::CONST) text += " " + uops::format_value(u->dtype, u->value());
    for (const UOp& s : u->src) {
      auto it = line.find(s.get());
      text += it != line.end() ? fmt::format(" %{}", it->second) : " " + uops::sexpr(s);
    }
    line[u.get()] = line.size();
    fmt::print(stderr, "{}\n", text);
  }
}

// A kernel lowered for the target, to be compiled.
struct Pending {
  const lowering::Kernel* kernel;
  lowering::Lowered lowered;
  llvm::Expected<std::unique_ptr<Executable>> executable = nullptr;
};

// The kernel lowered for the target (the lowering time counts as scheduling).
llvm::Expected<lowering::Lowered> lower(const lowering::Kernel& k, const Target& target, RunStats* stats) {
  auto t = Clock::now();
  const rewriter::Library& lib = rewriter::builtin_library();
  rewriter::RewriteOptions opts;
  opts.stats = rule_stats_wanted();
  if (opts.stats) { // registered after the library was built, so the handler runs before the library is destroyed
    static const bool registered = std::atexit(print_rule_stats) == 0;
    (void)registered;
  }
  auto lowered = lowering::lower_kernel(k, target.name, lib, opts);
  if (!lowered) return lowered.takeError();
  if (debug_level() >= 5) print_program(lowered->program);
  if (debug_level() >= 4 && !lowered->source.empty()) fmt::print(stderr, "{}\n", lowered->source);
  if (stats) stats->schedule_ms += ms_since(t);
  if (profiling()) profile_span("lower", k.name, t, Clock::now(), llvm::json::Object{{"opts", lowered->opts}});
  return lowered;
}

// Compiles the pending kernels (on every core at once where the target can) into the run cache, replacing what it
// holds for a kernel searched again.
llvm::Error compile_pending(llvm::MutableArrayRef<Pending> pending, const Target& target, RunStats* stats) {
  auto t = Clock::now();
  auto compile = [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      auto start = Clock::now();
      pending[i].executable = target.compile(pending[i].lowered, pending[i].kernel->name);
      profile_span("compile", pending[i].kernel->name, start, Clock::now());
    }
  };
  if (target.compiles_in_parallel())
    parallel_for(int64_t(pending.size()), 1, compile);
  else
    compile(0, int64_t(pending.size()));
  if (stats) stats->compile_ms += ms_since(t);
  llvm::Error first = llvm::Error::success();
  for (Pending& p : pending) {
    if (!p.executable) {
      first = llvm::joinErrors(std::move(first), p.executable.takeError());
      continue;
    }
    KernelKey key{p.kernel->ast.get(), &target};
    Compiled* c = kernels().find(key);
    if (!c) {
      auto made = std::make_unique<Compiled>();
      made->ast = p.kernel->ast;
      c = &kernels().insert(key, std::move(made), 0);
    }
    c->cost = estimate_cost(p.lowered.program);
    c->opts = p.lowered.opts;
    c->executable = std::move(*p.executable);
    kernels().charge(key, c->executable->bytes());
  }
  return first;
}

// BEAM=n: the pending kernels' opts measured (search.cpp), each compiled again with its winner. A winner in the search
// database is taken as it is. The rest are timed with the heuristic's plan in one run of the whole schedule (in order,
// so every kernel reads real inputs; a run's outputs are new buffers, so running it twice changes nothing), and share
// PATGRAD_SEARCH_BUDGET seconds (default 50: with lowering and compiling, a first step stays under a minute) in
// proportion to those times, counted once per run in the schedule (R2 of research/search.md), at most
// PATGRAD_SEARCH_SECONDS a kernel and what the budget has left; one with under 1% of the schedule's time, or none
// left, keeps the heuristic's plan, stored as its winner so that the next run does not time the schedule again.
llvm::Error search_pending(const lowering::Schedule& s, std::vector<Pending>& pending, const Target& target, int beam,
                           RunStats* stats) {
  const rewriter::Library& lib = rewriter::builtin_library();
  auto relower = [&](Pending& p, const Searched& searched) -> llvm::Error {
    if (lowering::to_string(searched.opts) == p.lowered.opts) return llvm::Error::success();
    auto lowered = lowering::lower_with_opts(*p.kernel, searched.ast, searched.opts, target.name, lib);
    if (!lowered) return lowered.takeError();
    p.lowered = std::move(*lowered);
    return llvm::Error::success();
  };
  std::vector<std::pair<size_t, Searched>> unknown; // pending kernels the database has no winner for
  for (size_t i = 0; i < pending.size(); i++) {
    auto stored = search_kernel(*pending[i].kernel, target, beam, 0);
    if (!stored) return stored.takeError();
    if (auto e = relower(pending[i], *stored)) return e;
    if (!stored->from_db) unknown.emplace_back(i, std::move(*stored));
  }
  if (auto e = compile_pending(pending, target, stats)) return e;
  if (unknown.empty()) return llvm::Error::success();

  llvm::DenseMap<const uops::Node*, double> ms; // per kernel AST, summed over its runs in the schedule
  double total = 0;
  for (const lowering::Kernel& k : s.kernels) {
    Compiled* c = buffer(k.buffers[0]).size ? kernels().find({k.ast.get(), &target}) : nullptr;
    if (!c) continue; // nothing to run, or evicted by a memory cache smaller than the schedule's code
    std::vector<Buffer*> bufs;
    for (const UOp& b : k.buffers) bufs.push_back(&buffer(b));
    auto t = Clock::now();
    if (auto e = c->executable->run(bufs)) return e;
    ms[k.ast.get()] += ms_since(t);
    total += ms_since(t);
  }
  const char* b = std::getenv("PATGRAD_SEARCH_BUDGET");
  double budget = b && std::atof(b) > 0 ? std::atof(b) : 50;
  std::vector<Pending> changed;
  auto share = [&](size_t i) { return total > 0 ? ms.lookup(pending[i].kernel->ast.get()) / total : 0; };
  // the largest shares first, each within what the budget has left: a search overruns its share by a round in
  // flight, and later kernels (the smaller ones) give it back
  llvm::stable_sort(unknown, [&](const auto& a, const auto& b) { return share(a.first) > share(b.first); });
  auto started = Clock::now();
  for (const auto& [i, heuristic] : unknown) {
    Pending& p = pending[i];
    double left = budget - ms_since(started) / 1e3;
    if (share(i) < 0.01 || left <= 0) {
      store_unsearched(heuristic, target, beam);
      continue;
    }
    auto start = Clock::now();
    auto searched = search_kernel(*p.kernel, target, beam, std::min(budget * share(i), left));
    if (!searched) return searched.takeError();
    if (profiling())
      profile_span("search", p.kernel->name, start, Clock::now(),
                   llvm::json::Object{{"plans", searched->candidates},
                                      {"default_ms", searched->default_ms},
                                      {"ms", searched->ms},
                                      {"opts", lowering::to_string(searched->opts)}});
    if (debug_level() >= 2 && searched->candidates > 1)
      fmt::print(stderr,
                 "  {:<24} searched: {:.3f} -> {:.3f} ms in {:.0f} ms (lower {:.0f}, compile {:.0f}, time {:.0f}), {} "
                 "plans: {}\n",
                 p.kernel->name, searched->default_ms, searched->ms, searched->search_ms, searched->lower_ms,
                 searched->compile_ms, searched->run_ms, searched->candidates, lowering::to_string(searched->opts));
    std::string before = p.lowered.opts;
    if (auto e = relower(p, *searched)) return e;
    if (p.lowered.opts != before) changed.push_back({p.kernel, std::move(p.lowered)});
  }
  return compile_pending(changed, target, stats);
}

// Every kernel of the schedule with an output, lowered and compiled for the target unless the cache holds it. The
// rewriter runs on this thread; the target's compiles, most of a cold first step, run on every core at once.
llvm::Error prepare(const lowering::Schedule& s, const Target& target, RunStats* stats) {
  std::vector<Pending> pending;
  llvm::DenseSet<const uops::Node*> seen; // a schedule may compute one kernel twice
  for (const lowering::Kernel& k : s.kernels) {
    if (buffer(k.buffers[0]).size == 0 || kernels().find({k.ast.get(), &target}) || !seen.insert(k.ast.get()).second)
      continue;
    auto lowered = lower(k, target, stats);
    if (!lowered) return lowered.takeError();
    pending.push_back({&k, std::move(*lowered)});
  }
  if (pending.empty()) return llvm::Error::success();
  if (int beam = search_beam(); beam > 0 && target.compiles_in_parallel()) {
    auto t = Clock::now();
    double compiling = stats ? stats->compile_ms : 0;
    if (auto e = search_pending(s, pending, target, beam, stats)) return e;
    if (stats) stats->schedule_ms += ms_since(t) - (stats->compile_ms - compiling); // the search's time, not compiles
    return llvm::Error::success();
  }
  return compile_pending(pending, target, stats);
}

} // namespace

void record_launches(std::vector<Launch>* launches) { recorded = launches; }

llvm::ArrayRef<const Target*> targets() { return all_targets().list; }

llvm::Expected<const Target*> find_target(std::string_view name) {
  std::string known;
  for (const Target* t : targets()) {
    if (t->name == name) return t;
    known += (known.empty() ? "" : ", ") + t->name;
  }
  return llvm::createStringError(llvm::inconvertibleErrorCode(), "unknown target '%s': expected one of %s",
                                 std::string(name).c_str(), known.c_str());
}

llvm::Expected<const Target*> default_target() {
  const char* dev = std::getenv("DEV");
  return find_target(dev && *dev ? dev : "CPU");
}

llvm::Error run(const lowering::Schedule& s, const Target& target, RunStats* stats) {
  if (debug_level() >= 1) print_schedule(s, target);
  if (auto e = prepare(s, target, stats)) return e;
  struct Ran {
    const lowering::Kernel* kernel;
    double ms;
    Cost cost;
    std::string opts;
  };
  std::vector<Ran> ran; // for DEBUG=2's table
  for (const lowering::Kernel& k : s.kernels) {
    // an empty output: its loops would run no trip, and index arithmetic over an empty range means nothing
    if (buffer(k.buffers[0]).size == 0) continue;
    Compiled* c = kernels().find({k.ast.get(), &target});
    if (!c) { // evicted by the kernels compiled after it (a memory cache smaller than one schedule's code)
      if (auto e = prepare({{k}, {}}, target, stats)) return e;
      c = kernels().find({k.ast.get(), &target});
    }
    std::vector<Buffer*> bufs;
    for (const UOp& b : k.buffers) bufs.push_back(&buffer(b));
    auto t = Clock::now();
    if (auto e = c->executable->run(bufs)) return e;
    auto end = Clock::now();
    double ms = std::chrono::duration<double, std::milli>(end - t).count();
    if (recorded) recorded->push_back({c->executable, k.buffers, k.name});
    if (stats) stats->run_ms += ms, stats->kernels++;
    if (profiling()) // the arguments cost allocations: not on every run
      profile_span("kernel", k.name, t, end,
                   llvm::json::Object{
                       {"opts", c->opts}, {"flops", c->cost.flops}, {"bytes", c->cost.bytes}, {"target", target.name}});
    if (debug_level() >= 2) ran.push_back({&k, ms, c->cost, c->opts});
  }
  if (ran.empty()) return llvm::Error::success();
  // DEBUG=2: the schedule's kernels, the slowest first, each with its share of their time
  double total = 0;
  for (const Ran& r : ran) total += r.ms;
  llvm::stable_sort(ran, [](const Ran& a, const Ran& b) { return a.ms > b.ms; });
  fmt::print(stderr, "ran {} kernels on {} in {:.3f} ms, by time:\n", ran.size(), target.name, total);
  for (const Ran& r : ran) {
    double seconds = std::max(r.ms, 1e-6) / 1e3;
    fmt::print(stderr,
               "  {:<24} {:>9.3f} ms {:>5.1f}% {:>10.0f} flop {:>10.0f} B {:>8.3f} GFLOP/s {:>8.3f} GB/s "
               "(estimates){}{}\n",
               r.kernel->name, r.ms, total > 0 ? 100 * r.ms / total : 100.0, r.cost.flops, r.cost.bytes,
               r.cost.flops / seconds / 1e9, r.cost.bytes / seconds / 1e9, r.opts.empty() ? "" : "  ", r.opts);
  }
  return llvm::Error::success();
}

} // namespace patgrad::runtime
