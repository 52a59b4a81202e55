// Search (BEAM=n): a kernel's opts chosen by measuring candidates on the device, from the heuristic's plan outward.
// The heuristic's plan is timed first (the incumbent); each round extends the best n plans so far by every legal
// action (lowering::opt_actions), drops candidates whose kernel was seen already or whose program is too large,
// compiles the rest on every core, then times them one by one on scratch buffers (never compiling and timing at
// once). A candidate first runs a slice of its work (Executable::run_part: on the CPU, the first trips of the thread
// loop; about 4 ms at the best plan's speed, 1/64 to 1/8 of the work; the better of two runs), scaled up, where the
// best so far takes 2 ms or more; only one within 1.15x of the best so far runs whole, the best of three. One whose
// output differs from the incumbent's on the same random inputs is rejected and reported (a wrong opt must never win).
// Rounds stop when the best gains under 2% or the kernel's time is up (the plans left then go untimed). The winner is
// stored in the search database (a file per kernel under the kernel cache's folder, keyed by the kernel's text, the
// target and the opt space's version), so a second run of a model searches nothing.
#include "runtime/search.h"
#include "lowering/lowering.h"
#include "runtime/atomic_file.h"
#include "runtime/cpu_jit.h" // default_cache_dir
#include "runtime/thread_pool.h"
#include <chrono>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <llvm/ADT/DenseSet.h>
#include <llvm/ADT/ScopeExit.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/JSON.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/xxhash.h>
#include <map>
#include <random>
#include <unistd.h>

namespace patgrad::runtime {
namespace {

using lowering::Opt;
using Clock = std::chrono::steady_clock;

constexpr const char* space_version = "opts-1"; // bump when the actions or what an opt builds change
constexpr int max_rounds = 6;
constexpr int64_t max_copies = 256;  // of a candidate's body: past that, lowering and compiling cost more than they win
constexpr size_t max_program = 3000; // nodes of a candidate's linear program: larger ones are not compiled (LLVM's
                                     // time grows faster than the program; tinygrad caps its uops so too)
constexpr double slice_ms = 4;       // a candidate's slice: about this long at the best plan's speed,
constexpr double max_slice = 0.125;  // at most an eighth of its work (and at least 1/64),
constexpr double min_sliced_ms = 2;  // where the best plan so far takes this long

double from_env(const char* name, double fallback) {
  const char* v = std::getenv(name);
  return v && *v && std::atof(v) >= 0 ? std::atof(v) : fallback;
}
// PATGRAD_SEARCH_SECONDS: the search time of one kernel after which no new round starts (default 10).
double seconds_per_kernel() { return from_env("PATGRAD_SEARCH_SECONDS", 10); }
// PATGRAD_SEARCH_MIN_MS: a kernel faster than this by the heuristic is not searched: it has too little to gain (a
// launch on the cores alone costs about 0.07 ms here). Default 0.25.
double min_kernel_ms() { return from_env("PATGRAD_SEARCH_MIN_MS", 0.25); }
constexpr uint64_t max_scratch_bytes = uint64_t(1) << 30;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// Where the winner of a kernel is stored; empty without a cache folder.
std::string db_path(const UOp& ast, const Target& target) {
  std::string dir = default_cache_dir();
  if (dir.empty()) return "";
  std::string key = fmt::format("{}\n{}\n{}", space_version, target.name, uops::sexpr(ast));
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, "search", fmt::format("{:016x}.opts", llvm::xxh3_64bits(key)));
  return std::string(path);
}

// The stored winner: "beam N\nOPTS\n" (and the kernel's text after it, to tell a hash collision from a hit).
std::optional<std::vector<Opt>> db_lookup(const std::string& path, const UOp& ast, int beam) {
  if (path.empty()) return std::nullopt;
  auto file = llvm::MemoryBuffer::getFile(path);
  if (!file) return std::nullopt;
  llvm::StringRef text = (*file)->getBuffer();
  auto [first, rest] = text.split('\n');
  auto [opts, kernel] = rest.split('\n');
  int stored = 0;
  if (!first.consume_front("beam ") || first.getAsInteger(10, stored) || stored < beam ||
      kernel.rtrim() != uops::sexpr(ast))
    return std::nullopt;
  auto parsed = lowering::parse_opts(opts);
  if (!parsed) {
    llvm::consumeError(parsed.takeError());
    return std::nullopt;
  }
  return *parsed;
}

void db_store(const std::string& path, const UOp& ast, int beam, llvm::ArrayRef<Opt> opts) {
  if (path.empty() || llvm::sys::fs::create_directories(llvm::sys::path::parent_path(path))) return;
  auto e = write_file_atomically(path, [&](llvm::raw_ostream& os) {
    os << "beam " << beam << "\n" << lowering::to_string(opts) << "\n" << uops::sexpr(ast) << "\n";
    return llvm::Error::success();
  });
  if (e) fmt::print(stderr, "search: cannot store a result: {}\n", llvm::toString(std::move(e)));
}

// Scratch buffers with the kernel's dtypes and sizes: the inputs random (floats in [-1, 1), everything else zero, so
// that an index read from memory stays in bounds), the output written by each candidate.
struct Scratch {
  std::vector<UOp> nodes;
  // the buffers behind the nodes: looked up again at each use, since a later allocation may move the table's entries
  std::vector<Buffer*> bufs() const {
    std::vector<Buffer*> out;
    for (const UOp& n : nodes) out.push_back(&buffer(n));
    return out;
  }
};

std::optional<Scratch> make_scratch(const lowering::Kernel& k) {
  uint64_t total = 0;
  for (const UOp& b : k.buffers)
    total += uint64_t(std::max<int64_t>(buffer(b).size, 1)) * ((uops::bits(b->dtype) + 7) / 8);
  if (total > max_scratch_bytes) return std::nullopt;
  Scratch s;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> uniform(-1.f, 1.f);
  for (const UOp& b : k.buffers) {
    auto made = allocate_buffer(b->dtype, buffer(b).size, Fill::zeros);
    if (!made) {
      llvm::consumeError(made.takeError());
      return std::nullopt;
    }
    Buffer& buf = buffer(*made);
    if (b->dtype == DType::f32)
      for (int64_t i = 0; i < buf.size; i++) static_cast<float*>(buf.data)[i] = uniform(rng);
    if (b->dtype == DType::f64)
      for (int64_t i = 0; i < buf.size; i++) static_cast<double*>(buf.data)[i] = uniform(rng);
    s.nodes.push_back(*made);
  }
  return s;
}

// Whether two outputs agree: integers exactly, floats within a thousandth of the largest magnitude (the candidates
// sum in other orders).
bool same_output(const std::vector<char>& a, const std::vector<char>& b, DType dtype) {
  if (dtype != DType::f32 && dtype != DType::f64) return a == b;
  auto compare = [&](auto* x, auto* y, size_t n) {
    double largest = 1;
    for (size_t i = 0; i < n; i++) largest = std::max(largest, std::abs(double(y[i])));
    for (size_t i = 0; i < n; i++)
      if (!(std::abs(double(x[i]) - double(y[i])) <= 1e-3 * largest)) return false; // NaN differs too
    return true;
  };
  if (dtype == DType::f32)
    return compare(reinterpret_cast<const float*>(a.data()), reinterpret_cast<const float*>(b.data()), a.size() / 4);
  return compare(reinterpret_cast<const double*>(a.data()), reinterpret_cast<const double*>(b.data()), a.size() / 8);
}

struct Candidate {
  std::vector<Opt> opts;
  lowering::Lowered lowered;
  llvm::Expected<std::unique_ptr<Executable>> executable = nullptr;
  double ms = INFINITY, compile_ms = 0;
  double sliced_ms = NAN; // the sliced estimate of ms, for a plan also run whole: how well slices rank
};

// The search log: a JSON line per measured plan, appended beside the database (search/log.jsonl), for `patgrad
// search-log` and, later, for fitting a cost model. Each line is one unbuffered write, so processes appending at once
// do not mix their lines.
void log_plan(const std::string& db, const lowering::Kernel& k, const Candidate& c, bool incumbent, bool sliced,
              bool rejected) {
  if (db.empty()) return;
  std::string path = search_log_path();
  if (llvm::sys::fs::create_directories(llvm::sys::path::parent_path(path))) return;
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_Append);
  if (ec) return;
  os.SetUnbuffered();
  llvm::json::Object line{{"key", llvm::sys::path::stem(db)},
                          {"kernel", k.name},
                          {"opts", lowering::to_string(c.opts)},
                          {"incumbent", incumbent},
                          {"ms", std::isfinite(c.ms) ? llvm::json::Value(c.ms) : llvm::json::Value(nullptr)},
                          {"sliced", sliced},
                          {"slice_ms", std::isfinite(c.sliced_ms) ? llvm::json::Value(c.sliced_ms) : nullptr},
                          {"rejected", rejected},
                          {"compile_ms", c.compile_ms},
                          {"nodes", int64_t(c.lowered.program.size())}};
  std::string text;
  llvm::raw_string_ostream(text) << llvm::json::Value(std::move(line)) << "\n";
  os << text;
}

// A progress line on stderr while a kernel is searched, when stderr is a terminal: kernel, round, plans, best so far.
void show_progress(const lowering::Kernel& k, int round, int plans, double best, double incumbent) {
  static const bool tty = isatty(2);
  if (tty)
    fmt::print(stderr, "\r\033[Ksearch {} round {}: {} plans, best {:.3f} ms (heuristic {:.3f})", k.name, round, plans,
               best, incumbent);
}

} // namespace

std::string search_log_path() {
  std::string dir = default_cache_dir();
  if (dir.empty()) return "";
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, "search", "log.jsonl");
  return std::string(path);
}

llvm::Expected<std::string> summarize_search_log(const std::string& path) {
  auto file = llvm::MemoryBuffer::getFile(path);
  if (!file)
    return llvm::createStringError(file.getError(), "cannot read the search log %s: %s", path.c_str(),
                                   file.getError().message().c_str());
  struct Kernel {
    std::string name, best_opts;
    int plans = 0, hopeless = 0, rejected = 0;
    double incumbent = INFINITY, best = INFINITY, compile_ms = 0;
    std::vector<double> times;
  };
  std::vector<std::string> order;
  std::map<std::string, Kernel> kernels;
  llvm::SmallVector<llvm::StringRef, 0> lines;
  (*file)->getBuffer().split(lines, '\n', -1, false);
  int bad = 0;
  std::vector<double> slice_ratios; // sliced estimate / whole time, for plans that had both
  for (llvm::StringRef line : lines) {
    auto v = llvm::json::parse(line);
    const llvm::json::Object* o = v ? v->getAsObject() : nullptr;
    if (!v) llvm::consumeError(v.takeError());
    auto key = o ? o->getString("key") : std::nullopt;
    if (!key) { // a line cut short by a killed writer, say
      bad++;
      continue;
    }
    auto [it, fresh] = kernels.try_emplace(key->str());
    if (fresh) order.push_back(key->str());
    Kernel& k = it->second;
    k.name = o->getString("kernel").value_or("?").str();
    k.plans++;
    k.compile_ms += o->getNumber("compile_ms").value_or(0);
    k.rejected += o->getBoolean("rejected").value_or(false);
    double ms = o->getNumber("ms").value_or(INFINITY);
    k.times.push_back(ms);
    if (auto slice = o->getNumber("slice_ms"); slice && std::isfinite(ms)) slice_ratios.push_back(*slice / ms);
    if (o->getBoolean("incumbent").value_or(false)) k.incumbent = ms;
    if (!o->getBoolean("sliced").value_or(true) && ms < k.best)
      k.best = ms, k.best_opts = o->getString("opts").value_or("").str();
  }
  std::string out = fmt::format("{:<26} {:>6} {:>10} {:>10} {:>6} {:>9} {:>10}  {}\n", "kernel", "plans", "heuristic",
                                "best ms", "gain", ">2x best", "compile s", "best plan");
  int plans = 0, hopeless = 0;
  double compile = 0;
  for (const std::string& key : order) {
    Kernel& k = kernels[key];
    for (double t : k.times) k.hopeless += t > 2 * k.best;
    plans += k.plans, hopeless += k.hopeless, compile += k.compile_ms;
    out += fmt::format("{:<26} {:>6} {:>10.3f} {:>10.3f} {:>5.2f}x {:>9} {:>10.1f}  {}{}\n", k.name, k.plans,
                       k.incumbent, k.best, k.incumbent / k.best, k.hopeless, k.compile_ms / 1e3, k.best_opts,
                       k.rejected ? fmt::format(" ({} rejected: their output differed)", k.rejected) : "");
  }
  out += fmt::format("{} searches, {} plans ({} over 2x their kernel's best), {:.1f} s of compiling{}\n", order.size(),
                     plans, hopeless, compile / 1e3, bad ? fmt::format("; {} unreadable lines skipped", bad) : "");
  if (!slice_ratios.empty()) { // slices decide which plans are losers: their estimates should be close to the truth
    llvm::sort(slice_ratios);
    out += fmt::format("sliced estimates / whole times, {} plans: median {:.2f}, 10% {:.2f}, 90% {:.2f}\n",
                       slice_ratios.size(), slice_ratios[slice_ratios.size() / 2],
                       slice_ratios[slice_ratios.size() / 10], slice_ratios[slice_ratios.size() * 9 / 10]);
  }
  return out;
}

int search_beam() {
  static const int beam = [] {
    const char* v = std::getenv("BEAM");
    return v ? std::max(0, std::atoi(v)) : 0;
  }();
  return beam;
}

llvm::Expected<Searched> search_kernel(const lowering::Kernel& k, const Target& target, int beam, double seconds) {
  seconds = std::min(seconds, seconds_per_kernel());
  const rewriter::Library& lib = rewriter::builtin_library();
  const rewriter::Pass* rules = lib.pass("opts");
  auto ast = lowering::lower_to_optimize(k, target.name, lib);
  if (!ast) return ast.takeError();
  Searched out;
  out.ast = *ast;
  out.opts = lowering::optimize(*ast, lowering::upcast_limit());
  std::string path = db_path(*ast, target);
  if (!rules) return out;
  if (auto stored = db_lookup(path, *ast, beam)) {
    // a stored plan that no longer applies (a file edited by hand, opts whose rules changed) is searched again
    auto applied = lowering::apply_opts(*ast, *stored, *rules);
    if (applied) {
      out.opts = *stored;
      out.from_db = true;
      return out;
    }
    llvm::consumeError(applied.takeError());
  }
  // no time, no parallel compiles, or a kernel without inputs (a fill or random numbers: it runs once)
  if (!(seconds > 0) || !target.compiles_in_parallel() || k.buffers.size() < 2) return out;
  std::optional<Scratch> scratch = make_scratch(k);
  if (!scratch) return out; // too large to copy
  auto start = Clock::now();
  std::vector<Buffer*> bufs = scratch->bufs();
  const Buffer& output = *bufs[0];
  size_t output_bytes = size_t(std::max<int64_t>(output.size, 1)) * ((uops::bits(output.dtype) + 7) / 8);
  std::vector<char> reference;
  double best_ms = INFINITY;

  int round_number = 0;
  auto record = [&](Candidate& c, bool sliced, bool rejected) {
    log_plan(path, k, c, out.candidates == 0, sliced, rejected);
    if (!sliced) best_ms = std::min(best_ms, c.ms);
    out.candidates++;
    out.progress.push_back({ms_since(start), best_ms});
    show_progress(k, round_number, out.candidates, best_ms, out.progress[0].second);
    c.executable = nullptr; // its code goes before the next round's
  };
  // lowers, compiles (every core) and times a round's candidates; the first call's first candidate is the incumbent
  double &lower_ms = out.lower_ms, &compile_ms = out.compile_ms, &run_ms = out.run_ms;
  auto measure = [&](std::vector<Candidate>& round) -> llvm::Error {
    auto t = Clock::now();
    for (Candidate& c : round) {
      auto lowered = lowering::lower_with_opts(k, *ast, c.opts, target.name, lib);
      if (!lowered) return lowered.takeError();
      c.lowered = std::move(*lowered);
    }
    if (!reference.empty()) // the incumbent is measured whatever its size
      llvm::erase_if(round, [](const Candidate& c) { return c.lowered.program.size() > max_program; });
    lower_ms += ms_since(t);
    t = Clock::now();
    parallel_for(int64_t(round.size()), 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; i++) {
        auto t = Clock::now();
        round[i].executable = target.compile(round[i].lowered, k.name);
        round[i].compile_ms = ms_since(t);
      }
    });
    compile_ms += ms_since(t);
    t = Clock::now();
    auto timed = llvm::make_scope_exit([&] { run_ms += ms_since(t); });
    for (Candidate& c : round) {
      if (!c.executable) return c.executable.takeError();          // a legal plan that does not compile is a bug
      if (!reference.empty() && ms_since(start) > 1e3 * seconds) { // time is up: the rest go untimed
        c.executable = nullptr;
        continue;
      }
      // a slice first where the incumbent is long enough that a slice's time is not mostly the launch's: a loser is
      // told by a part of its work, scaled up
      if (!reference.empty() && best_ms > min_sliced_ms) {
        double fraction = std::clamp(slice_ms / best_ms, 1.0 / 64, max_slice);
        for (int run = 0; run < 2; run++) { // the better of two: a new kernel's first run is cold (code, pages)
          auto t = Clock::now();
          auto part = (*c.executable)->run_part(bufs, fraction);
          if (!part) return part.takeError();
          c.ms = std::min(c.ms, ms_since(t) / *part);
        }
        static const bool check_slices = std::getenv("PATGRAD_SEARCH_CHECK_SLICES"); // every plan whole too
        if (c.ms > 1.15 * best_ms && !check_slices) {
          record(c, true, false);
          continue;
        }
        c.sliced_ms = c.ms;
        c.ms = INFINITY;
      }
      for (int run = 0; run < 3; run++) { // the incumbent and the close ones: the best of three whole runs
        auto t = Clock::now();
        if (auto e = (*c.executable)->run(bufs)) return e;
        c.ms = std::min(c.ms, ms_since(t));
        if (c.ms > 1.15 * best_ms) break;
      }
      std::vector<char> got(static_cast<char*>(output.data), static_cast<char*>(output.data) + output_bytes);
      bool rejected = !reference.empty() && !same_output(got, reference, output.dtype);
      if (reference.empty()) reference = std::move(got);
      if (rejected) {
        fmt::print(stderr, "search: {} with {} computes another result than the default plan; not used\n", k.name,
                   lowering::to_string(c.opts));
        c.ms = INFINITY;
      }
      record(c, false, rejected);
    }
    return llvm::Error::success();
  };

  std::vector<Candidate> incumbent(1);
  incumbent[0].opts = out.opts;
  if (auto e = measure(incumbent)) return e;
  out.default_ms = incumbent[0].ms;
  if (out.default_ms < min_kernel_ms()) {
    if (isatty(2)) fmt::print(stderr, "\r\033[K");
    db_store(path, *ast, beam, out.opts);
    out.ms = out.default_ms;
    out.search_ms = ms_since(start);
    return out;
  }
  std::vector<Candidate> beam_plans;
  beam_plans.push_back(std::move(incumbent[0]));
  if (!out.opts.empty()) beam_plans.push_back({}); // the empty plan is a start too (its ms is measured below)
  llvm::DenseSet<uint64_t> seen;
  for (const Candidate& c : beam_plans) {
    auto applied = lowering::apply_opts(*ast, c.opts, *rules);
    if (!applied) return applied.takeError();
    seen.insert(llvm::xxh3_64bits(uops::sexpr(*applied)));
  }
  for (int round = 0; round < max_rounds; round++) {
    round_number = round + 1;
    std::vector<Candidate> next;
    for (const Candidate& from : beam_plans) {
      auto applied = lowering::apply_opts(*ast, from.opts, *rules);
      if (!applied) return applied.takeError();
      int64_t copies = 1;
      for (const Opt& o : from.opts)
        if (lowering::copies_body(o)) copies *= o.amount;
      for (const Opt& a : lowering::opt_actions(*applied)) { // legal on *applied by construction
        bool copying = lowering::copies_body(a);
        if (copying && copies * a.amount > max_copies) continue;
        // a second copying opt of one kind on one range is the first with a larger factor, which the actions hold (and
        // a sum of 16 partial sums of 16 took LLVM 7.6 s to compile)
        if (copying && llvm::any_of(from.opts, [&](const Opt& o) { return o.kind == a.kind && o.range == a.range; }))
          continue;
        auto extended = lowering::apply_opt(*applied, a, *rules);
        if (!extended) return extended.takeError();
        if (!seen.insert(llvm::xxh3_64bits(uops::sexpr(*extended))).second) continue;
        Candidate c;
        c.opts = from.opts;
        c.opts.push_back(a);
        next.push_back(std::move(c));
      }
    }
    if (next.empty()) break;
    double before = best_ms;
    if (auto e = measure(next)) return e;
    for (Candidate& c : beam_plans) next.push_back(std::move(c));
    llvm::stable_sort(next, [](const Candidate& a, const Candidate& b) { return a.ms < b.ms; });
    next.resize(std::min<size_t>(next.size(), size_t(beam)));
    beam_plans = std::move(next);
    if (!(best_ms < before * 0.98) || ms_since(start) > 1e3 * seconds) break;
  }
  if (!beam_plans.empty() && beam_plans[0].ms < out.default_ms) out.opts = beam_plans[0].opts;
  out.ms = std::min(out.default_ms, beam_plans.empty() ? INFINITY : beam_plans[0].ms);
  out.search_ms = ms_since(start);
  if (isatty(2)) fmt::print(stderr, "\n");
  db_store(path, *ast, beam, out.opts);
  return out;
}

} // namespace patgrad::runtime
