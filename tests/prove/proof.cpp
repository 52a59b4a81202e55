// One rule's proof: every instance (instances.cpp), width twins narrowest first. An instance with divisions is tried
// first with them abstracted (division.cpp). Where the unbounded index query times out, bounded index proofs from
// 8 bits up say how far Z3 got. Rules that do not state facts about values (a cpp:: hook, floats, graph ops such as
// GRAD) are skipped with the reason.
#include "tests/prove/prove.h"
#include <chrono>
#include <fmt/format.h>

namespace patgrad::prove {
namespace {

using Clock = std::chrono::steady_clock;
constexpr unsigned abstract_timeout_ms = 2000;

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
std::optional<Outcome> attempt(const Rule& rule, const Instance& inst, int index_bits, unsigned timeout_ms,
                               const ProofOptions& o, std::string& log) {
  z3::context c; // its own: an interrupted check can leave a context cancelled (solve.cpp)
  Encoder enc(c, rule, inst, index_bits, false);
  if (!enc.encode()) return std::nullopt;
  if (!enc.result_dtype_error.empty()) return Outcome{Verdict::REFUTED, enc.result_dtype_error};
  std::string what = index_bits ? fmt::format("{} (index of {} bits)", inst.describe(), index_bits) : inst.describe();
  if (!enc.buildable) {
    if (o.verbose) log += fmt::format("    {:<28} never fires\n", what);
    return std::nullopt;
  }
  if (o.smt2) {
    z3::solver s(c);
    s.add(enc.query());
    log += fmt::format("; {} {}\n{}(check-sat)\n", rule.name, what, s.to_smt2());
  }
  auto start = Clock::now();
  Outcome out{Verdict::UNKNOWN, "the rule cannot fire with index this narrow"};
  const char* how = "";
  // a bounded proof assumes no overflow: it counts only if the rule can fire under that assumption
  if (!index_bits || can_fire(c, enc, timeout_ms)) {
    if (enc.divides()) { // divisions abstracted to what the lemmas say: often enough, and much faster
      z3::context ac;
      Encoder abstract(ac, rule, inst, index_bits, true);
      abstract.encode();
      if (solve(ac, abstract, std::min(timeout_ms, abstract_timeout_ms)).verdict == Verdict::PROVED)
        out = {Verdict::PROVED, ""}, how = " by the division lemmas";
    }
    if (out.verdict != Verdict::PROVED) out = solve(c, enc, timeout_ms);
  }
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  if (o.verbose) log += fmt::format("    {:<28} {}{} ({:.0f} ms)\n", what, verdict_name(out.verdict), how, ms);
  return out;
}

// After an unbounded index query timed out: bounded ones from 8 bits up, while they succeed. Returns the widest
// width proved (0 if none), or sets a refutation: a counterexample with bounded values is one on Int too.
int prove_bounded(const Rule& rule, const Instance& inst, const ProofOptions& o, Report& rep) {
  int widest = 0;
  for (int bits : {8, 16, 32, 64}) {
    auto out = attempt(rule, inst, bits, o.timeout_ms, o, rep.log);
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

// The instances [begin, end) share a key: they differ only in width, narrowest first. The narrowest decides whether
// the rule passes, so it gets eight times the time (mod_mod's i8 takes 6-8 s alone, more beside another test on two
// cores); after a timeout the wider twins are not tried: they would take longer still.
void prove_twins(const Rule& rule, const std::vector<Instance>& insts, size_t begin, size_t end, const ProofOptions& o,
                 Report& rep) {
  bool proved = false;
  std::vector<std::string> unknown;
  for (size_t i = begin; i < end; i++) {
    const Instance& inst = insts[i];
    if (!unknown.empty()) {
      unknown.push_back(inst.describe() + " (not tried)");
      continue;
    }
    auto out = attempt(rule, inst, 0, i == begin ? 8 * o.timeout_ms : o.timeout_ms, o, rep.log);
    if (!out) continue;
    if (out->verdict == Verdict::REFUTED) {
      rep.status = Status::REFUTED;
      rep.detail = inst.describe() + ": " + out->counterexample;
      return;
    }
    if (out->verdict == Verdict::PROVED) {
      proved = true;
      rep.instances++;
      continue;
    }
    int bits = has_index(inst) ? prove_bounded(rule, inst, o, rep) : 0;
    if (rep.status == Status::REFUTED) return;
    if (bits) {
      rep.bounded.push_back(fmt::format("{} to {} bits", inst.describe(), bits));
      rep.instances++;
      proved = true;
    } else
      unknown.push_back(inst.describe());
  }
  if (unknown.empty()) return;
  if (proved)
    rep.timeouts.insert(rep.timeouts.end(), unknown.begin(), unknown.end());
  else {
    rep.status = Status::UNKNOWN;
    rep.detail += (rep.detail.empty() ? "timeout at every width: " : "; ") + join(unknown);
  }
}

bool is_value_op(Op op) {
  return has_semantics(op) || op == Op::CONST || op == Op::DEFINE_VAR || uops::op_info(op).operands == uops::FLOAT;
}

// An op of the pattern or the result that eval() gives no value (GRAD, TUPLE, LOAD, ...): such a rule rewrites the
// structure of a graph, which is not a claim about values.
std::optional<Op> graph_op(const Pat& p) {
  bool value = p.ops.none();
  for (int i = 0; i < uops::num_ops && !value; i++) value = p.ops.test(i) && is_value_op(Op(i));
  if (!value)
    for (int i = 0; i < uops::num_ops; i++)
      if (p.ops.test(i)) return Op(i);
  for (const Pat& s : p.src)
    if (auto op = graph_op(s)) return op;
  return std::nullopt;
}

std::optional<Op> graph_op(const Build& b) {
  if (b.kind == Build::NODE && b.op_of_slot < 0 && !is_value_op(b.op)) return b.op;
  for (const Build& s : b.src)
    if (auto op = graph_op(s)) return op;
  return std::nullopt;
}

} // namespace

Report prove_rule(const Rule& rule, const ProofOptions& o) {
  auto skip = [&](std::string why) {
    Report r;
    r.status = Status::SKIPPED;
    r.detail = std::move(why);
    return r;
  };
  if (rule.disabled) return skip("disabled");
  if (rule.uses_hook) return skip("cpp:: hook");
  if (!rule.bindings.empty()) return skip("where bindings"); // the encoder knows captures only
  auto graph = graph_op(rule.pattern);
  if (!graph) graph = graph_op(rule.result);
  if (graph) return skip(fmt::format("{}: a graph op, without value semantics", uops::op_info(*graph).name));
  if (rule.domain == rewriter::Domain::FLOAT_EXACT || rule.domain == rewriter::Domain::FLOAT_RELAXED)
    return skip("floats");
  Report rep;
  try {
    std::vector<Instance> insts = instances(rule);
    if (insts.empty()) return skip("floats");
    for (size_t i = 0, end; i < insts.size() && rep.status != Status::REFUTED; i = end) {
      for (end = i; end < insts.size() && insts[end].key == insts[i].key; end++) {
      }
      prove_twins(rule, insts, i, end, o, rep);
    }
  } catch (const Unsupported& u) {
    rep.status = Status::UNSUPPORTED;
    rep.detail = u.what();
  }
  return rep;
}

} // namespace patgrad::prove
