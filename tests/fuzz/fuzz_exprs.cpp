// fuzz_exprs: random index expressions through the `sym` pass (patterns/symbolic.pat), checked by evaluation.
// Each expression is a random DAG over a few DEFINE_VARs with random bounds (some negative), sharing earlier
// subexpressions, built from every operator of `patgrad rewrite`'s syntax. Its simplified form must equal it wherever
// it is defined (a refinement: where the input is undefined any result will do, where it is defined the result must
// be too), and every node of both graphs must stay within its [vmin, vmax]. Points: every value of small domains,
// else every corner of the bounds plus random points. A mismatch or a failing simplify prints a `patgrad rewrite`
// command that shows the expression and exits 1.
//   fuzz_exprs [--seed S] [--count N] [--depth D]
#include "rewriter/rewriter.h"
#include "uops/infix.h"
#include <charconv>
#include <chrono>
#include <fmt/format.h>
#include <llvm/ADT/DenseMap.h>
#include <random>

namespace {

using namespace patgrad;
using uops::DType;
using uops::Op;
using uops::UOp;
using uops::Value;

struct Options {
  uint64_t seed = 1;
  int64_t count = 1000;
  int depth = 7;
};

std::optional<Options> parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view flag = argv[i], value = argv[i + 1];
    int64_t v;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || end != value.data() + value.size() || v < 0) return std::nullopt;
    if (flag == "--seed")
      o.seed = uint64_t(v);
    else if (flag == "--count")
      o.count = v;
    else if (flag == "--depth" && v <= 20)
      o.depth = int(v);
    else
      return std::nullopt;
  }
  if (argc % 2 == 0) return std::nullopt;
  return o;
}

struct Var {
  std::string name;
  int64_t lo, hi;
};

uops::VarBounds bounds_of(const std::vector<Var>& vars) {
  uops::VarBounds bounds;
  for (const Var& v : vars) bounds[v.name] = {v.lo, v.hi};
  return bounds;
}

// Every value of a generated expression stays within this bound, so that index arithmetic never overflows in the
// input; a rewrite may regroup terms, and 2^40 leaves it room.
constexpr __int128 magnitude_limit = __int128(1) << 40;

// Random expressions: ints and bools hold the nodes built so far, for sharing.
struct Generator {
  std::mt19937_64 rng;
  std::vector<Var> vars;
  std::vector<UOp> ints, bools;
  llvm::DenseMap<const uops::Node*, __int128> magnitudes;

  int64_t uniform(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); }
  bool chance(int percent) { return uniform(0, 99) < percent; }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[size_t(uniform(0, int64_t(v.size()) - 1))];
  }

  // One to four variables: mostly small ranges, some negative, a few single values, wide or far from zero.
  void new_vars() {
    vars.clear();
    ints.clear();
    bools.clear();
    magnitudes.clear();
    int n = int(uniform(1, 4));
    for (int i = 0; i < n; i++) {
      int64_t lo = chance(5) ? uniform(-1000000, 1000000) : chance(35) ? uniform(-40, 0) : uniform(0, 8);
      int64_t span = chance(10) ? 0 : chance(15) ? uniform(40, 1000) : uniform(1, 16);
      vars.push_back({std::string(1, char('a' + i)), lo, lo + span});
    }
  }

  UOp constant() { return UOp::constant(DType::index, chance(85) ? uniform(-10, 10) : uniform(-200, 200)); }
  UOp divisor() { return UOp::constant(DType::index, uniform(1, chance(80) ? 9 : 64) * (chance(25) ? -1 : 1)); }
  UOp var() {
    const Var& v = pick(vars);
    return UOp::var(v.name, v.lo, v.hi);
  }

  UOp int_leaf() {
    if (!ints.empty() && chance(30)) return pick(ints);
    return chance(70) ? var() : constant();
  }

  UOp int_expr(int depth) {
    if (depth <= 0 || chance(12)) return int_leaf();
    UOp u = int_node(depth - 1);
    if (magnitude(u) > magnitude_limit) return int_leaf();
    ints.push_back(u);
    return u;
  }

  UOp int_node(int d) {
    auto alu = [](Op op, UOp a, UOp b) { return UOp::alu(op, {a, b}); };
    switch (uniform(0, 16)) {
    case 0: return alu(Op::ADD, int_expr(d), int_expr(d));
    case 1: return alu(Op::ADD, int_expr(d), constant());
    case 2: return alu(Op::SUB, int_expr(d), int_expr(d));
    case 3: return alu(Op::MUL, int_expr(d), constant());
    case 4: return alu(Op::MUL, int_expr(d), int_expr(d));
    case 5: return alu(Op::MUL, int_expr(d), UOp::constant(DType::index, -1)); // unary minus
    case 6: return alu(Op::IDIV, int_expr(d), divisor());
    case 7: return alu(Op::MOD, int_expr(d), divisor());
    case 8: return alu(Op::IDIV, int_expr(d), int_expr(d));
    case 9: return alu(Op::MOD, int_expr(d), int_expr(d));
    case 10: return alu(Op::MAX, int_expr(d), int_expr(d));
    case 11: return alu(Op::MIN, int_expr(d), int_expr(d));
    case 12: return UOp::alu(Op::WHERE, {bool_expr(d), int_expr(d), int_expr(d)});
    case 13: return alu(Op::SUB, constant(), int_expr(d));
    case 14: return alu(chance(50) ? Op::SHL : Op::SHR, int_expr(d), UOp::constant(DType::index, uniform(0, 4)));
    case 15: return idiom(d);
    default: return alu(chance(40) ? Op::AND : chance(50) ? Op::OR : Op::XOR, int_expr(d), int_expr(d));
    }
  }

  // A bound on the magnitude of u's values. The value range alone is too loose: it spans int64 for a shift or a
  // divisor whose range holds 0, where the values are as small as the operands'.
  __int128 magnitude(const UOp& u) {
    __int128 range = std::max(-u->vmin, u->vmax);
    if (u->src.empty() || uops::is_bool(u->dtype)) return range;
    if (auto it = magnitudes.find(u.get()); it != magnitudes.end()) return it->second;
    __int128 m[3] = {};
    for (size_t i = 0; i < u->src.size(); i++) m[i] = magnitude(u->src[i]);
    Op op = u->op;
    __int128 r = op == Op::ADD || op == Op::SUB                   ? m[0] + m[1]
                 : op == Op::MUL                                  ? m[0] * m[1]
                 : op == Op::IDIV || op == Op::SHR                ? m[0]
                 : op == Op::SHL                                  ? m[0] << 4
                 : op == Op::MOD                                  ? m[1]
                 : op == Op::MAX || op == Op::MIN                 ? std::max(m[0], m[1])
                 : op == Op::WHERE                                ? std::max(m[1], m[2])
                 : op == Op::AND || op == Op::OR || op == Op::XOR ? 2 * std::max(m[0], m[1]) + 1
                                                                  : range;
    return magnitudes[u.get()] = std::min(r, range);
  }

  // Shapes a simplifier should see through, over random operands.
  UOp idiom(int d) {
    auto alu = [](Op op, UOp a, UOp b) { return UOp::alu(op, {a, b}); };
    UOp e = int_expr(d), f = int_expr(d), c = divisor();
    switch (uniform(0, 4)) {
    case 0: return alu(Op::ADD, alu(Op::MOD, e, c), alu(Op::MUL, alu(Op::IDIV, e, c), c));
    case 1: return alu(Op::IDIV, alu(Op::ADD, alu(Op::MUL, e, c), f), c);
    case 2: return alu(Op::MOD, alu(Op::ADD, alu(Op::MUL, e, c), f), c);
    case 3: return alu(Op::ADD, alu(Op::MIN, e, f), alu(Op::MAX, f, e));
    default: return UOp::alu(Op::WHERE, {alu(Op::CMPLT, e, f), f, e});
    }
  }

  UOp bool_expr(int depth) {
    if (depth <= 0 || chance(8)) {
      if (!bools.empty() && chance(50)) return pick(bools);
      if (chance(10)) return UOp::constant(DType::bool_, __int128(chance(50)));
    }
    UOp u = bool_node(std::max(depth - 1, 0));
    bools.push_back(u);
    return u;
  }

  UOp bool_node(int d) {
    static constexpr Op cmps[] = {Op::CMPLT, Op::CMPLE, Op::CMPEQ, Op::CMPNE};
    static constexpr Op logic[] = {Op::AND, Op::OR, Op::XOR};
    UOp t = UOp::constant(DType::bool_, __int128(1));
    int64_t k = d == 0 ? 0 : uniform(0, 7);
    if (k < 3) { // comparisons, against a constant half of the time
      UOp a = int_expr(d), b = chance(50) ? constant() : int_expr(d);
      Op op = cmps[uniform(0, 3)];
      return chance(50) ? UOp::alu(op, {a, b}) : UOp::alu(op, {b, a});
    }
    if (k < 5) return UOp::alu(logic[uniform(0, 2)], {bool_expr(d), bool_expr(d)});
    if (k == 5) return UOp::alu(Op::XOR, {bool_expr(d), t}); // not
    if (k == 6) return UOp::alu(Op::WHERE, {bool_expr(d), bool_expr(d), bool_expr(d)});
    return UOp::alu(Op::CMPLT, {int_leaf(), int_leaf()});
  }

  // A fresh expression over fresh variables: mostly an index, sometimes a bool.
  UOp expression(int depth) {
    new_vars();
    return chance(80) ? int_expr(depth) : bool_expr(depth);
  }
};

// A graph in evaluation order (sources first), with each DEFINE_VAR's variable number.
struct Program {
  std::vector<const uops::Node*> nodes;
  llvm::DenseMap<const uops::Node*, size_t> index;
  std::vector<int> var_of; // per node: the variable's number, or -1

  Program(const UOp& root, const std::vector<Var>& vars) {
    std::vector<std::pair<const uops::Node*, bool>> stack{{root.get(), false}};
    while (!stack.empty()) {
      auto [n, expanded] = stack.back();
      stack.pop_back();
      if (index.count(n)) continue;
      if (!expanded) {
        stack.push_back({n, true});
        for (const UOp& s : n->src) stack.push_back({s.get(), false});
        continue;
      }
      index[n] = nodes.size();
      nodes.push_back(n);
      int v = -1;
      if (auto* d = std::get_if<uops::Var>(&n->arg))
        for (size_t i = 0; i < vars.size(); i++)
          if (vars[i].name == d->name) v = int(i);
      var_of.push_back(v);
    }
  }

  // Every node's value at a point; nullopt where a node is undefined, and in everything that uses it (the graph is
  // dataflow: both branches of a where are computed).
  void run(const std::vector<int64_t>& point, std::vector<std::optional<Value>>& out) const {
    out.assign(nodes.size(), std::nullopt);
    for (size_t i = 0; i < nodes.size(); i++) {
      const uops::Node* n = nodes[i];
      if (n->op == Op::CONST)
        out[i] = n->value();
      else if (n->op == Op::DEFINE_VAR)
        out[i] = uops::int_value(n->dtype, point[size_t(var_of[i])]);
      else {
        llvm::SmallVector<Value, 3> args;
        for (const UOp& s : n->src) {
          const auto& v = out[index.find(s.get())->second];
          if (!v) break;
          args.push_back(*v);
        }
        if (args.size() == n->src.size()) out[i] = uops::eval(n->op, n->dtype, n->src.back()->dtype, args);
      }
    }
  }

  // The first node whose value lies outside its range, if any.
  const uops::Node* out_of_range(const std::vector<std::optional<Value>>& values) const {
    for (size_t i = 0; i < nodes.size(); i++) {
      if (!values[i]) continue;
      __int128 v = uops::as_wide(nodes[i]->dtype, *values[i]);
      if (v < nodes[i]->vmin || v > nodes[i]->vmax) return nodes[i];
    }
    return nullptr;
  }
};

using Points = std::vector<std::vector<int64_t>>;

// Points to check: all of them if there are few, else every corner of the bounds, the values next to the bounds, and
// random points.
Points points(const std::vector<Var>& vars, Generator& g) {
  __int128 total = 1;
  for (const Var& v : vars) total *= __int128(v.hi) - v.lo + 1;
  Points out;
  if (total <= 48) {
    std::vector<int64_t> p;
    for (const Var& v : vars) p.push_back(v.lo);
    for (__int128 k = 0; k < total; k++) {
      out.push_back(p);
      for (size_t i = 0; i < vars.size() && ++p[i] > vars[i].hi; i++) p[i] = vars[i].lo; // odometer
    }
    return out;
  }
  for (size_t corner = 0; corner < (size_t(1) << vars.size()); corner++) {
    std::vector<int64_t> p, inside;
    for (size_t i = 0; i < vars.size(); i++) {
      bool high = corner >> i & 1;
      p.push_back(high ? vars[i].hi : vars[i].lo);
      inside.push_back(vars[i].lo == vars[i].hi ? vars[i].lo : high ? vars[i].hi - 1 : vars[i].lo + 1);
    }
    out.push_back(p);
    out.push_back(inside);
  }
  while (out.size() < 48) {
    std::vector<int64_t> p;
    for (const Var& v : vars) p.push_back(g.uniform(v.lo, v.hi));
    out.push_back(p);
  }
  return out;
}

// A command that shows input simplified, with the bounds of the variables it uses.
std::string command_line(const UOp& input, const std::vector<Var>& vars) {
  std::string out = "patgrad rewrite --trace";
  Program program(input, vars);
  for (size_t i = 0; i < vars.size(); i++)
    if (std::count(program.var_of.begin(), program.var_of.end(), int(i)))
      out += fmt::format(" --var {}={}..{}", vars[i].name, vars[i].lo, vars[i].hi);
  return out + fmt::format(" '{}'", uops::infix(input));
}

std::string point_text(const std::vector<Var>& vars, const std::vector<int64_t>& p) {
  std::string out;
  for (size_t i = 0; i < vars.size(); i++) out += fmt::format("{}{}={}", i ? " " : "", vars[i].name, p[i]);
  return out;
}

// What went wrong with one expression.
struct Failure {
  std::string what;
  std::string simplified; // its infix, if simplify succeeded
  std::vector<int64_t> point;
};

// The first failure of input at the points, if any.
std::optional<Failure> check(const UOp& input, const std::vector<Var>& vars, const Points& points) {
  llvm::Expected<UOp> simplified = rewriter::simplify(input);
  if (!simplified) return Failure{"simplify failed: " + llvm::toString(simplified.takeError()), "", {}};
  // the pass runs to a fixed point, so its result is its own simplification
  llvm::Expected<UOp> again = rewriter::simplify(*simplified);
  if (!again || !(*again == *simplified))
    return Failure{"simplifying the result again gives " +
                       (again ? uops::infix(*again) : llvm::toString(again.takeError())),
                   uops::infix(*simplified),
                   {}};
  Program before(input, vars), after(*simplified, vars);
  std::vector<std::optional<Value>> x, y;
  DType d = input->dtype;
  for (const std::vector<int64_t>& p : points) {
    before.run(p, x);
    after.run(p, y);
    if (!x.back()) continue; // undefined input: any result refines it
    auto fail = [&](std::string what) { return Failure{std::move(what), uops::infix(*simplified), p}; };
    if (!y.back()) return fail(fmt::format("input = {}, simplified is undefined", uops::format_value(d, *x.back())));
    if (!uops::same_value(d, *x.back(), *y.back()))
      return fail(fmt::format("input = {}, simplified = {}", uops::format_value(d, *x.back()),
                              uops::format_value(d, *y.back())));
    for (auto [program, values] : {std::pair{&before, &x}, std::pair{&after, &y}})
      if (const uops::Node* n = program->out_of_range(*values)) {
        UOp u = UOp::make(n->op, n->dtype, n->src, n->arg);
        return fail(fmt::format("{} = {} lies outside its range {}..{}", uops::infix(u),
                                uops::format_value(n->dtype, (*values)[program->index.find(n)->second].value()),
                                uops::format_wide(n->vmin), uops::format_wide(n->vmax)));
      }
  }
  return std::nullopt;
}

// root with `with` in place of every use of target.
UOp substitute(const UOp& root, const uops::Node* target, const UOp& with,
               llvm::DenseMap<const uops::Node*, UOp>& memo) {
  if (root.get() == target) return with;
  if (auto it = memo.find(root.get()); it != memo.end()) return it->second;
  llvm::SmallVector<UOp, 3> src;
  for (const UOp& s : root->src) src.push_back(substitute(s, target, with, memo));
  return memo[root.get()] = UOp::make(root->op, root->dtype, src, root->arg);
}

// A smaller expression that still fails: each step replaces one node by one of its sources or by zero (false).
// Every step removes a node with sources, so it ends.
UOp reduce(UOp input, const std::vector<Var>& vars, const Points& points) {
  for (bool progress = true; progress;) {
    progress = false;
    Program program(input, vars);
    for (auto it = program.nodes.rbegin(); it != program.nodes.rend() && !progress; ++it) {
      const uops::Node* n = *it;
      if (n->src.empty()) continue;
      llvm::SmallVector<UOp, 4> candidates{UOp::constant(n->dtype, __int128(0))};
      for (const UOp& s : n->src)
        if (s->dtype == n->dtype) candidates.push_back(s);
      for (const UOp& c : candidates) {
        llvm::DenseMap<const uops::Node*, UOp> memo;
        UOp smaller = substitute(input, n, c, memo);
        if (!check(smaller, vars, points)) continue;
        input = smaller;
        progress = true;
        break;
      }
    }
  }
  return input;
}

void print_failure(const UOp& input, const std::vector<Var>& vars, const Failure& f) {
  fmt::print("  {}\n  {}\n", f.what, command_line(input, vars));
  if (!f.simplified.empty()) fmt::print("  simplified: {}\n", f.simplified);
  if (!f.point.empty()) fmt::print("  at {}\n", point_text(vars, f.point));
}

// Prints the failure, then that of a reduced expression (re-read from its text, so that the command shows it).
void report(const UOp& input, const std::vector<Var>& vars, const Points& points, const Failure& f) {
  fmt::print("failure:\n");
  print_failure(input, vars, f);
  llvm::Expected<UOp> reduced = uops::parse_infix(uops::infix(reduce(input, vars, points)), bounds_of(vars));
  if (!reduced) return llvm::consumeError(reduced.takeError());
  if (std::optional<Failure> g = check(*reduced, vars, points)) {
    fmt::print("reduced:\n");
    print_failure(*reduced, vars, *g);
  }
}

} // namespace

int main(int argc, char** argv) {
  std::optional<Options> o = parse_args(argc, argv);
  if (!o) {
    fmt::print(stderr, "usage: fuzz_exprs [--seed S] [--count N] [--depth D (at most 20)]\n");
    return 2;
  }
  Generator g;
  g.rng.seed(o->seed);
  auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < o->count; i++) {
    UOp generated = g.expression(o->depth);
    // through the printed form, so that the reproducer's text builds exactly the expression that was checked
    llvm::Expected<UOp> input = uops::parse_infix(uops::infix(generated), bounds_of(g.vars));
    if (!input) {
      fmt::print("infix() printed what parse_infix cannot read: {}\n  {}\n", llvm::toString(input.takeError()),
                 uops::infix(generated));
      return 1;
    }
    Points pts = points(g.vars, g);
    if (std::optional<Failure> f = check(*input, g.vars, pts)) {
      report(*input, g.vars, pts, *f);
      fmt::print("(expression {} of fuzz_exprs --seed {} --depth {})\n", i, o->seed, o->depth);
      return 1;
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  uint64_t firings = 0;
  for (const auto& r : rewriter::builtin_library().rules) firings += r->hits;
  fmt::print("fuzz_exprs: {} expressions in {:.1f} s ({:.0f} expressions/s, {} rule firings), no failure\n", o->count,
             seconds, double(o->count) / seconds, firings);
  return 0;
}
