// prove_rules: proves with Z3 that the integer and bool rules of the rewrite groups are correct: wherever a rule's
// pattern matches and its guard holds, its result is defined and equals the node it replaces (proof.cpp). Rules with
// a cpp:: hook, float rules and graph rewrites are the fuzzer's. Constants are variables, so one proof covers every
// constant. Fixed-width instances run from 8 to 64 bits: a timeout at a width passes when a narrower twin is proved
// (it is reported), a counterexample at any width fails. Rules are proved in parallel, reported in order.
#include "rewriter/patterns.h"
#include "rewriter/rewriter.h"
#include "tests/prove/prove.h"
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fmt/format.h>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

namespace {

using namespace patgrad;
using namespace patgrad::prove;

constexpr const char* usage =
    R"(usage: prove_rules [--rule NAME]... [--patterns DIR]... [--timeout MS] [--jobs N] [--verbose] [--smt2]
  --rule NAME      prove only this rule (repeatable)
  --patterns DIR   also load every .pat file in DIR, and prove only those files' rules (repeatable);
                   PATGRAD_PATTERNS is ignored, so that a plain run proves the built-in library alone
  --timeout MS     per Z3 query (default 4000; the narrowest width of an instance, which decides, gets 8x)
  --jobs N         rules proved at once (default 2)
  --verbose        every instance with its verdict and time
  --smt2           every query in SMT-LIB 2 (with --rule: to rerun one in z3 or another solver)
exit status: 1 if a rule is refuted or could not be proved at any width, 2 for bad arguments or pattern files
)";

constexpr const char* status_names[] = {"proved", "REFUTED", "UNKNOWN", "unsupported", "skipped"};

struct Options {
  std::vector<std::string> rules, dirs;
  unsigned jobs = 2;
  ProofOptions proof;
};

std::optional<Options> parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    bool has_value = i + 1 < argc;
    try {
      if (a == "--verbose")
        o.proof.verbose = true;
      else if (a == "--smt2")
        o.proof.smt2 = true;
      else if (a == "--rule" && has_value)
        o.rules.push_back(argv[++i]);
      else if (a == "--patterns" && has_value)
        o.dirs.push_back(argv[++i]);
      else if (a == "--timeout" && has_value)
        o.proof.timeout_ms = unsigned(std::stoul(argv[++i]));
      else if (a == "--jobs" && has_value)
        o.jobs = std::max(1u, unsigned(std::stoul(argv[++i])));
      else
        return std::nullopt;
    } catch (const std::logic_error&) { // stoul: not a number
      return std::nullopt;
    }
  }
  return o;
}

// The rules to prove: every rule of a rewrite group, once; only the user's with --patterns.
std::vector<const Rule*> select(const rewriter::Library& lib, const Options& o) {
  std::set<std::string> builtin;
  for (const rewriter::EmbeddedFile& f : rewriter::embedded_patterns()) builtin.insert("patterns/" + f.name);
  std::vector<const Rule*> out;
  for (const auto& g : lib.groups) {
    if (g->render) continue;
    for (const Rule* r : g->rules) {
      if (std::find(out.begin(), out.end(), r) != out.end()) continue;
      if (!o.rules.empty() && std::find(o.rules.begin(), o.rules.end(), r->name) == o.rules.end()) continue;
      if (!o.dirs.empty() && r->loc.file && builtin.count(r->loc.file->name)) continue;
      out.push_back(r);
    }
  }
  return out;
}

// Proves rules on `jobs` threads (each Z3 context belongs to one thread); calls done(i) in order, as soon as rules
// 0..i are finished.
void prove_all(const std::vector<const Rule*>& rules, const Options& o, std::vector<Report>& reports,
               const std::function<void(size_t)>& done) {
  std::atomic<size_t> next = 0;
  std::mutex m;
  std::condition_variable cv;
  std::vector<bool> finished(rules.size());
  std::vector<std::thread> workers;
  for (unsigned j = 0; j < std::min<size_t>(o.jobs, rules.size()); j++)
    workers.emplace_back([&] {
      for (size_t i; (i = next++) < rules.size();) {
        Report r = prove_rule(*rules[i], o.proof);
        std::lock_guard lock(m);
        reports[i] = std::move(r);
        finished[i] = true;
        cv.notify_all();
      }
    });
  for (size_t i = 0; i < rules.size(); i++) {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return finished[i]; });
    lock.unlock();
    done(i);
  }
  for (std::thread& w : workers) w.join();
}

std::string where(const Rule& r) { return fmt::format("{}:{}", r.loc.file ? r.loc.file->name : "?", r.loc.line); }

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

// One line per rule: status, name, place, and what qualifies the verdict.
std::string describe(const Report& rep) {
  std::vector<std::string> parts;
  if (!rep.detail.empty()) parts.push_back(rep.detail);
  if (rep.status == Status::PROVED)
    parts.push_back(fmt::format("{} instance{}", rep.instances, rep.instances == 1 ? "" : "s"));
  if (!rep.timeouts.empty()) parts.push_back("timeout at " + join(rep.timeouts) + ", narrower widths proved");
  if (!rep.bounded.empty()) parts.push_back("Int timed out, bounded proof: " + join(rep.bounded));
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

} // namespace

int main(int argc, char** argv) {
  auto o = parse_args(argc, argv);
  if (!o) return fmt::print(stderr, "{}", usage), 2;
  rewriter::LoadOptions load;
  load.dirs = o->dirs;
  load.use_env = false;
  auto lib = rewriter::load(load);
  if (!lib) return fmt::print(stderr, "{}\n", llvm::toString(lib.takeError())), 2;
  std::vector<const Rule*> rules = select(**lib, *o);
  for (const std::string& name : o->rules)
    if (std::none_of(rules.begin(), rules.end(), [&](const Rule* r) { return r->name == name; }))
      return fmt::print(stderr, "prove_rules: no rewrite rule named '{}'\n", name), 2;

  auto start = std::chrono::steady_clock::now();
  std::vector<Report> reports(rules.size());
  std::vector<std::string> by_status[5], with_timeouts, bounded;
  prove_all(rules, *o, reports, [&](size_t i) {
    const Rule& r = *rules[i];
    const Report& rep = reports[i];
    if (o->proof.verbose || o->proof.smt2)
      fmt::print("{} ({}, {})\n{}", r.name, where(r), domain_name(r.domain), rep.log);
    fmt::print("{:<11} {:<20} {:<26} {}\n", status_names[int(rep.status)], r.name, where(r), describe(rep));
    std::fflush(stdout); // a long run shows its progress
    if (!rep.timeouts.empty()) with_timeouts.push_back(fmt::format("{} ({})", r.name, join(rep.timeouts)));
    if (!rep.bounded.empty()) bounded.push_back(fmt::format("{} ({})", r.name, join(rep.bounded)));
    bool brief = rep.status == Status::PROVED || rep.status == Status::REFUTED || rep.status == Status::UNKNOWN;
    by_status[int(rep.status)].push_back(brief ? r.name : fmt::format("{} ({})", r.name, rep.detail));
  });
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  auto count = [&](Status s) { return by_status[int(s)].size(); };
  fmt::print("\nprove_rules: {} rules: {} proved, {} refuted, {} unknown, {} unsupported, {} skipped; {:.1f} s\n",
             rules.size(), count(Status::PROVED), count(Status::REFUTED), count(Status::UNKNOWN),
             count(Status::UNSUPPORTED), count(Status::SKIPPED), seconds);
  if (!with_timeouts.empty())
    fmt::print("  proved at narrower widths, wider ones timed out: {}\n", join(with_timeouts));
  if (!bounded.empty())
    fmt::print("  proved for index values of a bounded width only (Int timed out): {}\n", join(bounded));
  for (Status s : {Status::REFUTED, Status::UNKNOWN, Status::UNSUPPORTED, Status::SKIPPED})
    if (count(s)) fmt::print("  {}: {}\n", status_names[int(s)], join(by_status[int(s)]));
  return count(Status::REFUTED) || count(Status::UNKNOWN) ? 1 : 0;
}
