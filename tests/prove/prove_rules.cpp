// prove_rules: proves with Z3 that every integer and bool rule of the rewrite groups is correct: wherever its pattern
// matches and its guard holds, its result is defined and equals the node it replaces. Rules with a cpp:: hook and
// float-only rules are the fuzzer's. A rule is proved per instance (an op per op set, a dtype per node); constants
// are variables, so one proof covers every constant. Fixed-width instances run from 8 to 64 bits: a timeout at a
// width passes when a narrower twin is proved (it is reported), a counterexample at any width fails.
#include "rewriter/patterns.h"
#include "rewriter/rewriter.h"
#include "tests/prove/prove.h"
#include <chrono>
#include <fmt/format.h>
#include <set>

namespace {

using namespace patgrad;
using namespace patgrad::prove;
using Clock = std::chrono::steady_clock;

constexpr const char* usage = R"(usage: prove_rules [--rule NAME]... [--patterns DIR]... [--timeout MS] [--verbose]
  --rule NAME      prove only this rule (repeatable)
  --patterns DIR   also load every .pat file in DIR, and prove only those files' rules (repeatable);
                   PATGRAD_PATTERNS is ignored, so that a plain run proves the built-in library alone
  --timeout MS     per Z3 query (default 10000)
  --verbose        every instance with its verdict and time
  --smt2           print every query in SMT-LIB 2 (with --rule: to rerun one in z3 or another solver)
exit status: 1 if a rule is refuted or could not be proved at any width, 2 for bad arguments or pattern files
)";

struct Options {
  std::vector<std::string> rules, dirs;
  unsigned timeout_ms = 10000;
  bool verbose = false, smt2 = false;
};

enum class Status { PROVED, REFUTED, UNKNOWN, UNSUPPORTED, SKIPPED };
constexpr const char* status_names[] = {"proved", "REFUTED", "UNKNOWN", "unsupported", "skipped"};

struct Report {
  Status status = Status::PROVED;
  std::string detail;                // the counterexample, the reason, or what timed out
  std::vector<std::string> timeouts; // instances that timed out while a narrower twin was proved
  int queries = 0;
};

std::string where(const Rule& r) { return fmt::format("{}:{}", r.loc.file ? r.loc.file->name : "?", r.loc.line); }

std::string join(const std::vector<std::string>& parts, const char* sep = ", ") {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

// The instances [begin, end) share a key: they differ only in width, narrowest first.
void prove_twins(const Rule& rule, const std::vector<Instance>& insts, size_t begin, size_t end, const Options& o,
                 z3::context& c, Report& rep) {
  bool proved = false;
  std::vector<std::string> unknown;
  for (size_t i = begin; i < end && rep.status != Status::REFUTED; i++) {
    const Instance& inst = insts[i];
    Encoder enc(c, rule, inst);
    if (!enc.encode()) continue; // a literal this dtype cannot hold: the pattern never matches
    if (!enc.result_dtype_error.empty()) {
      rep.status = Status::REFUTED;
      rep.detail = inst.describe() + ": " + enc.result_dtype_error;
      return;
    }
    if (!enc.buildable) { // the result is never built for these dtypes: the rule cannot fire, so it cannot be wrong
      if (o.verbose) fmt::print("    {:<14} never fires\n", inst.describe());
      proved = true;
      continue;
    }
    if (o.smt2) {
      z3::solver s(c);
      s.add(enc.query());
      fmt::print("; {} {}\n{}(check-sat)\n", rule.name, inst.describe(), s.to_smt2());
    }
    auto start = Clock::now();
    Outcome out = solve(c, enc, o.timeout_ms);
    rep.queries++;
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (o.verbose)
      fmt::print("    {:<14} {} ({:.0f} ms)\n", inst.describe(),
                 out.verdict == Verdict::PROVED ? "proved" : out.verdict == Verdict::REFUTED ? "refuted" : "unknown", ms);
    if (out.verdict == Verdict::REFUTED) {
      rep.status = Status::REFUTED;
      rep.detail = inst.describe() + ": " + out.counterexample;
    } else if (out.verdict == Verdict::PROVED) proved = true;
    else unknown.push_back(inst.describe());
  }
  if (unknown.empty() || rep.status == Status::REFUTED) return;
  if (proved) rep.timeouts.insert(rep.timeouts.end(), unknown.begin(), unknown.end());
  else {
    rep.status = Status::UNKNOWN;
    rep.detail += (rep.detail.empty() ? "timeout at every width: " : "; ") + join(unknown);
  }
}

Report prove_rule(const Rule& rule, const Options& o) {
  Report rep;
  auto skip = [&](const char* why) { return Report{Status::SKIPPED, why, {}, 0}; };
  if (rule.disabled) return skip("disabled");
  if (rule.uses_hook) return skip("cpp:: hook");
  if (rule.domain == rewriter::Domain::FLOAT_EXACT || rule.domain == rewriter::Domain::FLOAT_RELAXED) return skip("floats");
  z3::context c;
  try {
    std::vector<Instance> insts = instances(rule);
    if (insts.empty()) return skip("floats");
    for (size_t i = 0, end; i < insts.size(); i = end) {
      for (end = i; end < insts.size() && insts[end].key == insts[i].key; end++) {}
      prove_twins(rule, insts, i, end, o, c, rep);
      if (rep.status == Status::REFUTED) break;
    }
  } catch (const Unsupported& u) {
    return Report{Status::UNSUPPORTED, u.what(), {}, rep.queries};
  }
  if (rep.status == Status::PROVED && rule.domain == rewriter::Domain::MIXED) rep.detail = "integer and bool dtypes";
  return rep;
}

std::optional<Options> parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    bool has_value = i + 1 < argc;
    if (a == "--verbose") o.verbose = true;
    else if (a == "--smt2") o.smt2 = true;
    else if (a == "--rule" && has_value) o.rules.push_back(argv[++i]);
    else if (a == "--patterns" && has_value) o.dirs.push_back(argv[++i]);
    else if (a == "--timeout" && has_value) o.timeout_ms = unsigned(std::stoul(argv[++i]));
    else return std::nullopt;
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

  auto start = Clock::now();
  std::vector<std::string> by_status[5], with_timeouts;
  for (const Rule* r : rules) {
    if (o->verbose) fmt::print("{} ({}, {})\n", r->name, where(*r), rewriter::domain_name(r->domain));
    Report rep = prove_rule(*r, *o);
    std::string detail = rep.detail;
    if (!rep.timeouts.empty()) {
      detail += (detail.empty() ? "" : "; ") + ("timeout at " + join(rep.timeouts) + ", narrower widths proved");
      with_timeouts.push_back(fmt::format("{} ({})", r->name, join(rep.timeouts)));
    }
    fmt::print("{:<11} {:<20} {:<26} {}\n", status_names[int(rep.status)], r->name, where(*r), detail);
    bool brief = rep.status == Status::PROVED || rep.status == Status::REFUTED || rep.status == Status::UNKNOWN;
    by_status[int(rep.status)].push_back(brief ? r->name : fmt::format("{} ({})", r->name, rep.detail));
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  auto count = [&](Status s) { return by_status[int(s)].size(); };
  fmt::print("\nprove_rules: {} rules: {} proved, {} refuted, {} unknown, {} unsupported, {} skipped; {:.1f} s\n",
             rules.size(), count(Status::PROVED), count(Status::REFUTED), count(Status::UNKNOWN),
             count(Status::UNSUPPORTED), count(Status::SKIPPED), seconds);
  if (!with_timeouts.empty()) fmt::print("  proved below a timeout: {}\n", join(with_timeouts));
  for (Status s : {Status::REFUTED, Status::UNKNOWN, Status::UNSUPPORTED, Status::SKIPPED})
    if (count(s)) fmt::print("  {}: {}\n", status_names[int(s)], join(by_status[int(s)]));
  return count(Status::REFUTED) || count(Status::UNKNOWN) ? 1 : 0;
}
