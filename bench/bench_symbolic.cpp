// bench_symbolic: the start-up cost of the built-in rules (load and check every pattern file, compile the `sym`
// pass's matcher on first use) and the `sym` pass on 10,000 random index expressions from a fixed seed: expressions,
// rule firings and match attempts per second.
#include "rewriter/rewriter.h"
#include <chrono>
#include <fmt/format.h>
#include <llvm/ADT/DenseSet.h>
#include <random>

namespace {

using namespace patgrad;
using uops::DType;
using uops::Op;
using uops::UOp;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The shapes index arithmetic takes: sums, products, floor division and modulo by constants, min, max and where
// over a few bounded variables, with shared subexpressions.
struct Generator {
  std::mt19937_64 rng{20240601};
  std::vector<UOp> built;

  int64_t uniform(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); }
  UOp constant(int64_t lo, int64_t hi) { return UOp::constant(DType::index, uniform(lo, hi)); }

  UOp leaf() {
    static const char* names[] = {"gidx", "lidx", "ridx", "n"};
    int64_t k = uniform(0, 9);
    if (k < 5) return UOp::var(names[k % 4], 0, k % 4 == 3 ? 4096 : 15 + 16 * k);
    if (k < 7 && !built.empty()) return built[size_t(uniform(0, int64_t(built.size()) - 1))];
    return constant(-8, 64);
  }

  UOp expr(int depth) {
    if (depth == 0 || uniform(0, 7) == 0) return leaf();
    UOp a = expr(depth - 1);
    auto alu = [](Op op, UOp x, UOp y) { return UOp::alu(op, {x, y}); };
    UOp r;
    switch (uniform(0, 8)) {
    case 0:
    case 1: r = alu(Op::ADD, a, expr(depth - 1)); break;
    case 2: r = alu(Op::SUB, a, expr(depth - 1)); break;
    case 3: r = alu(Op::MUL, a, constant(-4, 16)); break;
    case 4: r = alu(Op::IDIV, a, constant(1, 32)); break;
    case 5: r = alu(Op::MOD, a, constant(1, 32)); break;
    case 6: r = alu(uniform(0, 1) ? Op::MAX : Op::MIN, a, expr(depth - 1)); break;
    case 7: r = UOp::alu(Op::WHERE, {alu(Op::CMPLT, a, expr(depth - 1)), a, expr(depth - 1)}); break;
    default:
      r = alu(Op::ADD, alu(Op::MUL, alu(Op::IDIV, a, constant(2, 8)), constant(2, 8)), alu(Op::MOD, a, constant(2, 8)));
    }
    built.push_back(r);
    return r;
  }
};

size_t count_nodes(const UOp& root) {
  llvm::DenseSet<const uops::Node*> seen;
  std::vector<const uops::Node*> stack{root.get()};
  while (!stack.empty()) {
    const uops::Node* n = stack.back();
    stack.pop_back();
    if (!seen.insert(n).second) continue;
    for (const UOp& s : n->src) stack.push_back(s.get());
  }
  return seen.size();
}

struct Counts {
  uint64_t attempts = 0, hits = 0;
};
Counts counts(const rewriter::Library& lib) {
  Counts c;
  for (const auto& r : lib.rules) c.attempts += r->attempts, c.hits += r->hits;
  return c;
}

} // namespace

int main() {
  Clock::time_point start = Clock::now();
  auto lib = rewriter::load(rewriter::LoadOptions{});
  if (!lib) {
    fmt::print(stderr, "{}\n", llvm::toString(lib.takeError()));
    return 1;
  }
  double load = seconds_since(start);
  const rewriter::Pass* sym = (*lib)->pass("sym");
  if (!sym) {
    fmt::print(stderr, "the built-in patterns declare no pass 'sym'\n");
    return 1;
  }
  // the first rewrite compiles the pass's matcher; the second shows what the expression itself costs
  UOp trivial = UOp::alu(Op::ADD, {UOp::var("a", 0, 10), UOp::constant(DType::index, 0)});
  double first_and_second[2];
  for (double& t : first_and_second) {
    start = Clock::now();
    if (auto r = rewriter::graph_rewrite(trivial, *sym); !r)
      return fmt::print(stderr, "{}\n", llvm::toString(r.takeError())), 1;
    t = seconds_since(start);
  }

  Generator g;
  std::vector<UOp> exprs;
  size_t nodes = 0;
  for (int i = 0; i < 10000; i++) {
    g.built.clear();
    exprs.push_back(g.expr(6));
    nodes += count_nodes(exprs.back());
  }
  Counts before = counts(**lib);
  start = Clock::now();
  for (const UOp& e : exprs)
    if (auto r = rewriter::graph_rewrite(e, *sym); !r) {
      fmt::print(stderr, "simplify failed: {}\n  {}\n", llvm::toString(r.takeError()), uops::infix(e));
      return 1;
    }
  double run = seconds_since(start);
  Counts after = counts(**lib);

  fmt::print("load and check built-in patterns: {:.2f} ms ({} rules in {} groups)\n", load * 1e3, (*lib)->rules.size(),
             (*lib)->groups.size());
  fmt::print("compile the sym matcher: {:.2f} ms (first rewrite {:.3f} ms, second {:.3f} ms)\n",
             (first_and_second[0] - first_and_second[1]) * 1e3, first_and_second[0] * 1e3, first_and_second[1] * 1e3);
  fmt::print("simplify {} expressions ({:.1f} nodes on average): {:.3f} s, {:.0f} expressions/s\n", exprs.size(),
             double(nodes) / double(exprs.size()), run, double(exprs.size()) / run);
  fmt::print("rule firings: {} ({:.0f}/s); match attempts: {} ({:.0f}/s)\n", after.hits - before.hits,
             double(after.hits - before.hits) / run, after.attempts - before.attempts,
             double(after.attempts - before.attempts) / run);
  return 0;
}
