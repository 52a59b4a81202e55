// prove_rules: proves with Z3 that every integer and bool rule of the rewrite groups is correct: wherever its pattern
// matches and its guard holds, its result is defined and equals the node it replaces. Rules with a cpp:: hook and
// float-only rules are the fuzzer's. A rule is proved per instance (an op per op set, a dtype per node); constants
// are variables, so one proof covers every constant. Fixed-width instances run from 8 to 64 bits: a timeout at a
// width passes when a narrower twin is proved (it is reported), a counterexample at any width fails.
#include "rewriter/patterns.h"
#include "rewriter/rewriter.h"
#include "tests/prove/prove.h"
#include <chrono>
#include <cstdio>
#include <fmt/format.h>
#include <set>

namespace {

using namespace patgrad;
using namespace patgrad::prove;
using Clock = std::chrono::steady_clock;
constexpr unsigned abstract_timeout_ms = 2000;

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
  std::vector<std::string> bounded;  // index instances proved only for values of a bounded width
};

std::string where(const Rule& r) { return fmt::format("{}:{}", r.loc.file ? r.loc.file->name : "?", r.loc.line); }

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

const char* verdict_name(Verdict v) {
  return v == Verdict::PROVED ? "proved" : v == Verdict::REFUTED ? "refuted" : "unknown";
}

// One instance, index encoded with index_bits (0: unbounded). Nothing if the pattern cannot match these dtypes or the
// result cannot be built for them: the rule never fires there, so it cannot be wrong there.
std::optional<Outcome> attempt(const Rule& rule, const Instance& inst, int index_bits, const Options& o) {
  z3::context c; // its own: an interrupted check can leave a context cancelled (solve.cpp)
  Encoder enc(c, rule, inst, index_bits, false);
  if (!enc.encode()) return std::nullopt;
  if (!enc.result_dtype_error.empty()) return Outcome{Verdict::REFUTED, enc.result_dtype_error};
  std::string what = index_bits ? fmt::format("{} (index of {} bits)", inst.describe(), index_bits) : inst.describe();
  if (!enc.buildable) {
    if (o.verbose) fmt::print("    {:<28} never fires\n", what);
    return std::nullopt;
  }
  if (o.smt2) {
    z3::solver s(c);
    s.add(enc.query());
    fmt::print("; {} {}\n{}(check-sat)\n", rule.name, what, s.to_smt2());
  }
  auto start = Clock::now();
  Outcome out{Verdict::UNKNOWN, "the rule cannot fire with index this narrow"};
  const char* how = "";
  // a bounded proof assumes no overflow: it counts only if the rule can fire under that assumption
  if (!index_bits || solve_premise(c, enc, o.timeout_ms) == Verdict::REFUTED) {
    if (enc.divides()) { // divisions abstracted to what the lemmas say: often enough, and much faster
      z3::context ac;
      Encoder abstract(ac, rule, inst, index_bits, true);
      abstract.encode();
      Outcome a = solve(ac, abstract, std::min(o.timeout_ms, abstract_timeout_ms));
      if (a.verdict == Verdict::PROVED)
        out = {Verdict::PROVED, ""}, how = " by the division lemmas";
    }
    if (out.verdict != Verdict::PROVED) out = solve(c, enc, o.timeout_ms);
  }
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  if (o.verbose) fmt::print("    {:<28} {}{} ({:.0f} ms)\n", what, verdict_name(out.verdict), how, ms);
  return out;
}

// After an unbounded index query timed out: bounded ones from 8 bits up, while they succeed. Returns the widest
// width proved (0 if none), or sets a refutation: a counterexample with bounded values is one on Int too.
int prove_bounded(const Rule& rule, const Instance& inst, const Options& o, Report& rep) {
  int widest = 0;
  for (int bits : {8, 16, 32, 64}) {
    auto out = attempt(rule, inst, bits, o);
    if (!out || out->verdict == Verdict::UNKNOWN) break;
    if (out->verdict == Verdict::REFUTED) {
      rep.status = Status::REFUTED;
      rep.detail = fmt::format("{} (index of {} bits): {}", inst.describe(), bits, out->counterexample);
      return 0;
    }
    widest = bits;
  }
  return widest;
}

bool has_index(const Instance& inst) {
  return std::find(inst.dtypes.begin(), inst.dtypes.end(), DType::index) != inst.dtypes.end();
}

// The instances [begin, end) share a key: they differ only in width, narrowest first. After a timeout the wider
// twins are not tried: they would take longer still.
void prove_twins(const Rule& rule, const std::vector<Instance>& insts, size_t begin, size_t end, const Options& o,
                 Report& rep) {
  bool proved = false;
  std::vector<std::string> unknown;
  for (size_t i = begin; i < end; i++) {
    const Instance& inst = insts[i];
    if (!unknown.empty()) {
      unknown.push_back(inst.describe() + " (not tried)");
      continue;
    }
    auto out = attempt(rule, inst, 0, o);
    if (!out) continue;
    if (out->verdict == Verdict::REFUTED) {
      rep.status = Status::REFUTED;
      rep.detail = inst.describe() + ": " + out->counterexample;
      return;
    }
    if (out->verdict == Verdict::PROVED) {
      proved = true;
      continue;
    }
    int bits = has_index(inst) ? prove_bounded(rule, inst, o, rep) : 0;
    if (rep.status == Status::REFUTED) return;
    if (bits) {
      rep.bounded.push_back(fmt::format("{} to {} bits", inst.describe(), bits));
      proved = true;
    } else unknown.push_back(inst.describe());
  }
  if (unknown.empty()) return;
  if (proved) rep.timeouts.insert(rep.timeouts.end(), unknown.begin(), unknown.end());
  else {
    rep.status = Status::UNKNOWN;
    rep.detail += (rep.detail.empty() ? "timeout at every width: " : "; ") + join(unknown);
  }
}

// An op of the pattern or the result that eval() gives no value (GRAD, TUPLE, LOAD, ...): such a rule rewrites the
// structure of a graph, which is not a claim about values.
std::optional<Op> graph_op(const Pat& p) {
  bool value = p.ops.none();
  for (int i = 0; i < uops::num_ops && !value; i++)
    value = p.ops.test(i) && (has_semantics(Op(i)) || Op(i) == Op::CONST || Op(i) == Op::DEFINE_VAR);
  if (!value)
    for (int i = 0; i < uops::num_ops; i++)
      if (p.ops.test(i)) return Op(i);
  for (const Pat& s : p.src)
    if (auto op = graph_op(s)) return op;
  return std::nullopt;
}

std::optional<Op> graph_op(const Build& b) {
  if (b.kind == Build::NODE && b.op_of_slot < 0 && !has_semantics(b.op)) return b.op;
  for (const Build& s : b.src)
    if (auto op = graph_op(s)) return op;
  return std::nullopt;
}

Report prove_rule(const Rule& rule, const Options& o) {
  auto skip = [&](std::string why) { return Report{Status::SKIPPED, why, {}, {}}; };
  if (rule.disabled) return skip("disabled");
  if (rule.uses_hook) return skip("cpp:: hook");
  auto graph = graph_op(rule.pattern);
  if (!graph) graph = graph_op(rule.result);
  if (graph) return skip(fmt::format("{}: a graph op, without value semantics", uops::op_info(*graph).name));
  if (rule.domain == rewriter::Domain::FLOAT_EXACT || rule.domain == rewriter::Domain::FLOAT_RELAXED) return skip("floats");
  Report rep;
  try {
    std::vector<Instance> insts = instances(rule);
    if (insts.empty()) return skip("floats");
    for (size_t i = 0, end; i < insts.size() && rep.status != Status::REFUTED; i = end) {
      for (end = i; end < insts.size() && insts[end].key == insts[i].key; end++) {}
      prove_twins(rule, insts, i, end, o, rep);
    }
  } catch (const Unsupported& u) {
    return Report{Status::UNSUPPORTED, u.what(), {}, {}};
  }
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
  std::vector<std::string> by_status[5], with_timeouts, bounded;
  for (const Rule* r : rules) {
    if (o->verbose) fmt::print("{} ({}, {})\n", r->name, where(*r), rewriter::domain_name(r->domain));
    Report rep = prove_rule(*r, *o);
    std::string detail = rep.detail;
    if (!rep.timeouts.empty()) {
      detail += (detail.empty() ? "" : "; ") + ("timeout at " + join(rep.timeouts) + ", narrower widths proved");
      with_timeouts.push_back(fmt::format("{} ({})", r->name, join(rep.timeouts)));
    }
    if (!rep.bounded.empty()) {
      detail += (detail.empty() ? "" : "; ") + ("Int timed out, bounded proof: " + join(rep.bounded));
      bounded.push_back(fmt::format("{} ({})", r->name, join(rep.bounded)));
    }
    fmt::print("{:<11} {:<20} {:<26} {}\n", status_names[int(rep.status)], r->name, where(*r), detail);
    std::fflush(stdout); // a long run shows its progress
    bool brief = rep.status == Status::PROVED || rep.status == Status::REFUTED || rep.status == Status::UNKNOWN;
    by_status[int(rep.status)].push_back(brief ? r->name : fmt::format("{} ({})", r->name, rep.detail));
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  auto count = [&](Status s) { return by_status[int(s)].size(); };
  fmt::print("\nprove_rules: {} rules: {} proved, {} refuted, {} unknown, {} unsupported, {} skipped; {:.1f} s\n",
             rules.size(), count(Status::PROVED), count(Status::REFUTED), count(Status::UNKNOWN),
             count(Status::UNSUPPORTED), count(Status::SKIPPED), seconds);
  if (!with_timeouts.empty()) fmt::print("  proved at narrower widths, wider ones timed out: {}\n", join(with_timeouts));
  if (!bounded.empty()) fmt::print("  proved for index values of a bounded width only (Int timed out): {}\n", join(bounded));
  for (Status s : {Status::REFUTED, Status::UNKNOWN, Status::UNSUPPORTED, Status::SKIPPED})
    if (count(s)) fmt::print("  {}: {}\n", status_names[int(s)], join(by_status[int(s)]));
  return count(Status::REFUTED) || count(Status::UNKNOWN) ? 1 : 0;
}
