// fuzz_rules: tests every rewrite rule of the loaded library on its own. For each op and dtype assignment its pattern
// allows, it builds instances of the left side (instances.cpp), keeps those the rule fires on, and evaluates both
// sides with the reference semantics (uops::eval) at many points: the right side must be defined and equal wherever
// the left side is defined (floats bit-exact, or within 2 ulp and signed zero for relaxed rules). Assignments with
// 8-bit dtypes are also run exhaustively over two of their constants or leaves. A rule that fires fewer than
// --instances times is reported too: it is untested, or dead.
#include "tests/fuzz/instances.h"
#include <chrono>
#include <cmath>
#include <fmt/format.h>
#include <llvm/ADT/DenseMap.h>

namespace {

using namespace patgrad;
using namespace patgrad::fuzz;

constexpr const char* usage =
    R"(usage: fuzz_rules [--seed S] [--instances N] [--rule NAME] [--patterns DIR]... [--verbose]

Fuzzes every rule of every rewrite group (built-in, plus every .pat file in each DIR) against the reference semantics.
  --instances N  fired instances each rule must reach, over all its dtype assignments (default 1000)
  --rule NAME    only this rule
  --verbose      a line per rule: domain, assignments, instances fired, points checked, time
Exit status: 0 if every rule held and reached N instances, 1 otherwise, 2 on bad usage or pattern files.
)";

struct Options {
  uint64_t seed = 1;
  uint64_t instances = 1000;
  std::string rule;
  std::vector<std::string> dirs;
  bool verbose = false;
};

constexpr size_t max_examples = 3;                    // failing points shown per rule
constexpr size_t random_points = 64;                  // points per random instance
constexpr size_t exhaustive_points = size_t(1) << 17; // two 8-bit values and a bool

// ---- evaluation: an instance's graph as a list of steps in dependency order

struct Program {
  struct Step {
    Op op;
    DType out, in;
    llvm::SmallVector<int, 3> src;
    Value value;
    int var = -1; // DEFINE_VAR: index into the instance's vars
  };
  std::vector<Step> steps; // the root last
};

Program compile(const UOp& root, const std::vector<InstanceVar>& vars) {
  Program p;
  llvm::DenseMap<const uops::Node*, int> index;
  std::vector<std::pair<UOp, size_t>> stack{{root, 0}};
  while (!stack.empty()) {
    auto& [u, next] = stack.back();
    if (next < u->src.size()) {
      const UOp& s = u->src[next++];
      if (!index.count(s.get())) stack.push_back({s, 0});
      continue;
    }
    if (!index.count(u.get())) {
      Program::Step st{u->op, u->dtype, u->src.empty() ? u->dtype : u->src[u->op == Op::WHERE ? 1 : 0]->dtype, {}, {}};
      for (const UOp& s : u->src) st.src.push_back(index[s.get()]);
      if (u->op == Op::CONST) st.value = u->value();
      for (size_t k = 0; k < vars.size(); k++)
        if (vars[k].node == u) st.var = int(k);
      index[u.get()] = int(p.steps.size());
      p.steps.push_back(std::move(st));
    }
    stack.pop_back();
  }
  return p;
}

// The root's value, or nothing where it is undefined. overflow: it is undefined only because index results left the
// 64 bits the evaluator checks (the same op is defined on i64), and nothing else was undefined: an artefact of the
// evaluator, since index means unbounded integers, not a property of the rule.
std::optional<Value> evaluate(const Program& p, const std::vector<Value>& vars,
                              std::vector<std::optional<Value>>& scratch, bool* overflow = nullptr) {
  scratch.assign(p.steps.size(), std::nullopt);
  bool overflowed = false, undefined = false;
  for (size_t i = 0; i < p.steps.size(); i++) {
    const Program::Step& st = p.steps[i];
    if (st.var >= 0)
      scratch[i] = vars[st.var];
    else if (st.op == Op::CONST)
      scratch[i] = st.value;
    else {
      llvm::SmallVector<Value, 3> args;
      for (int s : st.src)
        if (scratch[s]) args.push_back(*scratch[s]);
      if (args.size() < st.src.size()) continue; // undefined because a source is
      scratch[i] = uops::eval(st.op, st.out, st.in, args);
      if (scratch[i]) continue;
      bool wide = st.out == DType::index &&
                  uops::eval(st.op, DType::i64, st.in == DType::index ? DType::i64 : st.in, args).has_value();
      (wide ? overflowed : undefined) = true;
    }
  }
  if (overflow) *overflow = overflowed && !undefined;
  return scratch.back();
}

// Order of float values by their bits, so that neighbours differ by one.
int64_t ulp_order(DType d, double v) {
  uint64_t b = uops::float_bits(d, v), sign = uint64_t(1) << (uops::bits(d) - 1);
  return b & sign ? -int64_t(b & ~sign) : int64_t(b);
}

bool agree(DType d, Value l, Value r, bool relaxed) {
  if (uops::same_value(d, l, r)) return true;
  if (!relaxed || !uops::is_float(d)) return false;
  if (l.f == 0 && r.f == 0) return true;
  if (std::isnan(l.f) || std::isnan(r.f) || std::isinf(l.f) || std::isinf(r.f)) return false;
  return std::abs(ulp_order(d, l.f) - ulp_order(d, r.f)) <= 2;
}

// Calls f with the var values of each point: every combination of as many vars' candidates as fit the budget (the
// exhaustive vars first), the other vars drawn at random per point. f returns false to stop.
template <class F>
void for_each_point(const Instance& inst, Rng& rng, size_t budget, F f) {
  size_t n = inst.vars.size(), combos = 1;
  std::vector<bool> enumerated(n);
  for (int pass = 0; pass < 2; pass++)
    for (size_t k = 0; k < n; k++) {
      size_t c = inst.vars[k].candidates.size();
      if (inst.vars[k].exhaustive == (pass == 0) && !enumerated[k] && combos * c <= budget)
        enumerated[k] = true, combos *= c;
    }
  bool all = std::all_of(enumerated.begin(), enumerated.end(), [](bool e) { return e; });
  size_t points = all ? combos : std::max(combos, random_points);
  std::vector<Value> values(n);
  for (size_t i = 0; i < points; i++) {
    size_t rest = i % combos;
    for (size_t k = 0; k < n; k++) {
      const auto& c = inst.vars[k].candidates;
      if (enumerated[k])
        values[k] = c[rest % c.size()], rest /= c.size();
      else
        values[k] = rng.pick(c);
    }
    if (!f(values)) return;
  }
}

// ---- one rule

struct RuleResult {
  uint64_t assignments = 0, attempts = 0, fired = 0, points = 0, overflows = 0;
  DTypeSet dtypes = 0;                  // of the values in its assignments (bool only where there is nothing else)
  std::vector<std::string> never_fired; // assignments no instance fired on: blind spots, shown with --verbose
  std::vector<std::string> examples;
  std::string coverage; // why the rule counts as not instantiated, or ""
  double seconds = 0;
};

std::string show_point(const Instance& inst, const std::vector<Value>& values) {
  std::string s;
  for (size_t k = 0; k < values.size(); k++) {
    const InstanceVar& iv = inst.vars[k];
    DType d = iv.node->dtype;
    s +=
        fmt::format("{}{}={}", k ? ", " : "", std::get<uops::Var>(iv.node->arg).name, uops::format_value(d, values[k]));
    if (iv.bits_of == DType::void_) continue;
    if (auto v = uops::eval(Op::BITCAST, iv.bits_of, d, std::array{values[k]}))
      s += fmt::format(" ({} {})", uops::name(iv.bits_of), uops::format_value(iv.bits_of, *v));
  }
  return s.empty() ? "(no vars)" : s;
}

std::string show(const std::optional<Value>& v, DType d) {
  return v ? uops::format_value(d, *v) : std::string("undefined");
}

struct RuleFuzzer {
  const Rule& rule;
  Rng rng;
  RuleResult r;
  std::vector<std::optional<Value>> scratch;

  bool done() const { return r.examples.size() >= max_examples; }

  void fail(const Assignment& a, const Instance& inst, const UOp& rhs, const std::string& what) {
    r.examples.push_back(fmt::format("  {}\n    lhs: {}\n    rhs: {}\n    {}", a.str(rule), uops::sexpr(inst.lhs),
                                     uops::sexpr(rhs), what));
  }

  // Applies the rule to the instance and compares both sides at its points; true if the rule fired.
  bool check(const Assignment& a, const Instance& inst, size_t budget) {
    r.attempts++;
    std::optional<UOp> rhs = rewriter::apply_rule(rule, inst.lhs);
    if (!rhs) return false;
    r.fired++;
    DType d = inst.lhs->dtype;
    if ((*rhs)->dtype != d) {
      fail(a, inst, *rhs,
           fmt::format("the right side is {}, the left side {}", uops::name((*rhs)->dtype), uops::name(d)));
      return true;
    }
    Program lhs = compile(inst.lhs, inst.vars), rhs_program = compile(*rhs, inst.vars);
    for_each_point(inst, rng, budget, [&](const std::vector<Value>& values) {
      auto l = evaluate(lhs, values, scratch);
      if (!l) return true; // undefined on the left: anything refines it
      bool overflow = false;
      auto rv = evaluate(rhs_program, values, scratch, &overflow);
      if (!rv && overflow) {
        r.overflows++;
        return true;
      }
      r.points++;
      if (rv && agree(d, *l, *rv, rule.relaxed)) return true;
      fail(a, inst, *rhs, fmt::format("at {}: lhs = {}, rhs = {}", show_point(inst, values), show(l, d), show(rv, d)));
      return false;
    });
    return true;
  }

  // Random instances, spread over the assignments until the rule has fired `target` times (or attempts run out).
  void random_phase(const std::vector<Assignment>& as, uint64_t target) {
    uint64_t quota = (target + as.size() - 1) / as.size(), give_up = 40 * quota + 200;
    std::vector<uint64_t> fired(as.size()), attempts(as.size());
    auto attempt = [&](size_t k) {
      attempts[k]++;
      if (auto inst = make_instance(as[k], rng); inst && check(as[k], *inst, random_points)) fired[k]++;
    };
    for (bool progress = true; progress && !done();) {
      progress = false;
      for (size_t k = 0; k < as.size() && !done(); k++)
        if (fired[k] < quota && attempts[k] < give_up) attempt(k), progress = true;
    }
    // assignments that rarely fire leave the total short: the others make up for them
    for (uint64_t extra = 0; r.fired < target && extra < 40 * target && !done(); extra++) {
      size_t k = extra % as.size();
      if (fired[k])
        attempt(k);
      else if (std::none_of(fired.begin(), fired.end(), [](uint64_t f) { return f > 0; }))
        break;
    }
    for (size_t k = 0; k < as.size(); k++)
      if (!fired[k]) r.never_fired.push_back(as[k].str(rule));
  }

  // Every value of up to two 8-bit constants or leaves (the leaves as full-range vars and as narrow ones).
  void exhaustive_phase(const Assignment& a) {
    std::vector<int> consts, leaves;
    for (int i : exhaustive_dims(a)) (a.nodes[i].op < 0 ? leaves : consts).push_back(i);
    if (consts.empty() && leaves.empty()) return;
    Fixed fixed{std::vector<std::optional<Value>>(a.nodes.size()), std::vector<LeafMode>(a.nodes.size())};
    size_t combos = size_t(1) << (8 * consts.size()), reps = leaves.empty() ? 1 : 4;
    for (size_t combo = 0; combo < combos && !done(); combo++) {
      for (size_t k = 0; k < consts.size(); k++)
        fixed.consts[consts[k]] = uops::int_value(a.dtypes[consts[k]], Wide((combo >> (8 * k)) & 0xff));
      for (size_t rep = 0; rep < reps && !done(); rep++) {
        for (int i : leaves) fixed.leaves[i] = rep == 0 ? LeafMode::FULL : LeafMode::NARROW;
        if (auto inst = make_instance(a, rng, &fixed)) check(a, *inst, exhaustive_points);
      }
    }
  }

  void run(uint64_t target) {
    std::string why;
    std::vector<Assignment> as = assignments(rule, 256, why);
    r.assignments = as.size();
    for (const Assignment& a : as)
      for (DType d : a.dtypes) r.dtypes |= uops::bit(d);
    if (r.dtypes & ~uops::BOOL) r.dtypes &= ~uops::BOOL;
    if (as.empty()) {
      r.coverage = why;
      return;
    }
    random_phase(as, target);
    for (const Assignment& a : as)
      if (a.has_8bit() && !done()) exhaustive_phase(a);
    if (done()) return;
    if (r.fired < target)
      r.coverage =
          fmt::format("could not be instantiated: fired {} of {} times in {} attempts", r.fired, target, r.attempts);
    else if (r.points == 0)
      r.coverage = "fired, but the left side was never defined: nothing was checked";
  }
};

// A rule's domain as the dtypes its instances cover, by the prelude's class names where one fits.
std::string domain(DTypeSet s) {
  std::pair<DTypeSet, const char*> classes[] = {
      {uops::ALL, "all"},      {uops::INT | uops::FLOAT, "numbers"}, {uops::INT, "ints"},
      {uops::FLOAT, "floats"}, {uops::SINTS | uops::UINTS, "fixed"}, {uops::SINTS, "sints"},
      {uops::UINTS, "uints"},  {uops::bit(DType::index), "index"},   {uops::BOOL, "bool"}};
  for (auto [set, name] : classes)
    if (s == set) return name;
  std::string out;
  for (int i = 0; i < uops::num_dtypes; i++)
    if (s & uops::bit(DType(i))) out += (out.empty() ? "" : ",") + std::string(uops::name(DType(i)));
  return out;
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325;
  for (char c : s) h = (h ^ uint8_t(c)) * 0x100000001b3;
  return h;
}

std::optional<uint64_t> parse_number(const char* s) {
  std::string v = s;
  if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoull(v);
}

std::optional<Options> parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--verbose") {
      o.verbose = true;
      continue;
    }
    if (i + 1 >= argc) return std::nullopt;
    const char* v = argv[++i];
    if (a == "--rule")
      o.rule = v;
    else if (a == "--patterns")
      o.dirs.push_back(v);
    else if (auto n = parse_number(v); n && (a == "--seed" || a == "--instances"))
      (a == "--seed" ? o.seed : o.instances) = *n;
    else
      return std::nullopt;
  }
  return o;
}

} // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  if (!o) {
    fmt::print(stderr, "{}", usage);
    return 2;
  }
  rewriter::LoadOptions lo;
  lo.dirs = o->dirs;
  auto lib = rewriter::load(lo);
  if (!lib) {
    fmt::print(stderr, "{}\n", llvm::toString(lib.takeError()));
    return 2;
  }
  // every rule of a rewrite group, once, in declaration order; rules rooted at an op with no value semantics (GRAD:
  // gradient.pat's derivatives; the kernel layer's structure: SINK, INDEX, REDUCE, END, LOAD, STORE) have no two
  // sides to evaluate and compare: gradcheck and the kernel tests (values against INTERP) cover them instead
  std::vector<const Rule*> rules;
  int structural = 0;
  for (const auto& r : (*lib)->rules) {
    bool rewrite = false;
    for (const auto& g : (*lib)->groups)
      rewrite |= !g->render && std::find(g->rules.begin(), g->rules.end(), r.get()) != g->rules.end();
    bool valued = r->pattern.ops.none();
    for (int op = 0; op < uops::num_ops; op++)
      valued |= r->pattern.ops.test(op) && uops::op_info(uops::Op(op)).typing != uops::Typing::FREE &&
                uops::Op(op) != uops::Op::SINK; // a kernel's root: structure, no value
    if (rewrite && !valued) structural++;
    else if (rewrite && (o->rule.empty() || r->name == o->rule)) rules.push_back(r.get());
  }
  if (rules.empty()) {
    fmt::print(stderr, "fuzz_rules: no rewrite rule named '{}'\n", o->rule);
    return 2;
  }
  auto start = std::chrono::steady_clock::now();
  uint64_t fired = 0, points = 0, min_fired = UINT64_MAX;
  int failing = 0;
  for (const Rule* rule : rules) {
    auto t0 = std::chrono::steady_clock::now();
    RuleFuzzer f{*rule, Rng(o->seed ^ fnv1a(rule->name))};
    f.run(o->instances);
    const RuleResult& r = f.r;
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    fired += r.fired, points += r.points, min_fired = std::min(min_fired, r.fired);
    if (o->verbose)
      fmt::print(
          "{:<20} {:<8} {:>4} assignments {:>8} fired of {:>8} tried {:>9} points {:>4} index overflows {:5.2f}s\n",
          rule->name, domain(r.dtypes), r.assignments, r.fired, r.attempts, r.points, r.overflows, secs);
    if (o->verbose)
      for (const std::string& a : r.never_fired) fmt::print("  never fired on {}\n", a);
    if (r.examples.empty() && r.coverage.empty()) continue;
    failing++;
    fmt::print("FAIL {} ({}){}\n", rule->name, rule->loc.str(), r.coverage.empty() ? "" : ": " + r.coverage);
    for (const std::string& e : r.examples) fmt::print("{}\n", e);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("fuzz_rules: {} rules, {} instances (at least {} per rule), {} points, {:.1f}s; {} failing; {} rules of "
             "graph ops without values (gradients, kernel structure) left to gradcheck and the kernel tests\n",
             rules.size(), fired, min_fired, points, secs, failing, structural);
  return failing ? 1 : 0;
}
