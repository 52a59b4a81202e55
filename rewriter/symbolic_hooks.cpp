// The hooks of symbolic.pat's rules (cpp::fold_unary, cpp::fold_divmod): what the guard language cannot say. Each
// returns a node or nothing ("no match"). The fuzzer tests them as black boxes; the Z3 prover skips rules that use
// them.
#include "rewriter/internal.h"
#include <fmt/format.h>

namespace patgrad::rewriter {
namespace {

// A one-source op of a constant (unary ALU, CAST, BITCAST): the op table's eval with the node's own dtypes. The
// guard language's eval() takes two operands and one dtype; conversions need two dtypes.
std::optional<UOp> fold_unary(llvm::ArrayRef<UOp> args) {
  const UOp& root = args[0];
  if (root->src.size() != 1 || root->src[0]->op != Op::CONST) return std::nullopt;
  auto v = uops::eval(root->op, root->dtype, root->src[0]->dtype, std::array{root->src[0]->value()});
  if (!v) return std::nullopt;
  return UOp::constant(root->dtype, *v);
}

// Division of a sum by a positive constant, for any number of terms (Halide's and tinygrad's "divmod folding"):
// with x = sum(a_i * v_i) + k, each coefficient splits as a_i = q_i * c + r_i (0 <= r_i < c), so
// x // c = sum(q_i * v_i) + rest // c and x % c = rest % c, where rest = sum(r_i * v_i) + k % c. When rest's range
// lies in one multiple of c the division is gone; else a common factor of rest's coefficients and c divides out.
// Only on index: the identity needs exact arithmetic, which index guarantees and fixed widths do not.
std::optional<UOp> fold_divmod(llvm::ArrayRef<UOp> args) {
  const UOp& root = args[0];
  if ((root->op != Op::IDIV && root->op != Op::MOD) || root->dtype != DType::index) return std::nullopt;
  const UOp &x = root->src[0], &d = root->src[1];
  if (d->op != Op::CONST || d->value().i <= 0) return std::nullopt;
  __int128 c = d->value().i, k = 0;
  std::vector<std::pair<__int128, UOp>> terms; // (coefficient, node)
  std::vector<UOp> stack{x};
  while (!stack.empty()) {
    UOp t = stack.back();
    stack.pop_back();
    if (t->op == Op::ADD)
      stack.insert(stack.end(), t->src.begin(), t->src.end());
    else if (t->op == Op::CONST)
      k += t->value().i;
    else if (t->op == Op::MUL && t->src[1]->op == Op::CONST)
      terms.push_back({t->src[1]->value().i, t->src[0]});
    else if (t->op == Op::MUL && t->src[0]->op == Op::CONST)
      terms.push_back({t->src[0]->value().i, t->src[1]});
    else
      terms.push_back({1, t});
  }
  auto floordiv = [](__int128 a, __int128 b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); };
  auto gcd = [](__int128 a, __int128 b) {
    for (a = a < 0 ? -a : a, b = b < 0 ? -b : b; b != 0;) a = std::exchange(b, a % b);
    return a;
  };
  auto cst = [](__int128 v) { return UOp::constant(DType::index, v); };
  auto term = [&](__int128 coef, const UOp& v) { return coef == 1 ? v : UOp::alu(Op::MUL, {v, cst(coef)}); };
  auto add = [](const UOp& a, const UOp& b) { return a ? UOp::alu(Op::ADD, {a, b}) : b; };
  UOp quot, rest;
  bool split = floordiv(k, c) != 0;
  __int128 g = c, kr = k - floordiv(k, c) * c;
  for (auto& [coef, v] : terms) {
    __int128 q = floordiv(coef, c), r = coef - q * c;
    if (q != 0) quot = add(quot, term(q, v)), split = true;
    if (r != 0) rest = add(rest, term(r, v)), g = gcd(g, r);
  }
  if (floordiv(k, c) != 0) quot = add(quot, cst(floordiv(k, c)));
  if (kr != 0) rest = add(rest, cst(kr));
  g = gcd(g, kr);
  if (!rest) rest = cst(0);
  if (floordiv(rest->vmin, c) == floordiv(rest->vmax, c)) { // rest // c is a constant
    __int128 q = floordiv(rest->vmin, c);
    if (root->op == Op::IDIV) return quot ? add(quot, cst(q)) : cst(q);
    return q == 0 ? rest : add(rest, cst(-q * c));
  }
  // the same with each coefficient's remainder of its own sign: negative terms can keep a sum in one multiple of c
  // where their positive remainders do not (a flipped axis: c1 * 25 - ky * 5 - kx + 24 over 800)
  UOp squot, srest = kr != 0 ? cst(kr) : UOp();
  if (floordiv(k, c) != 0) squot = cst(floordiv(k, c));
  for (auto& [coef, v] : terms) {
    __int128 q = coef / c, r = coef - q * c;
    if (q != 0) squot = add(squot, term(q, v));
    if (r != 0) srest = add(srest, term(r, v));
  }
  if (!srest) srest = cst(0);
  if (floordiv(srest->vmin, c) == floordiv(srest->vmax, c)) {
    __int128 q = floordiv(srest->vmin, c);
    if (root->op == Op::IDIV) return squot ? add(squot, cst(q)) : cst(q);
    return q == 0 ? srest : add(srest, cst(-q * c));
  }
  if (g > 1) { // rest = g * small: divide the coefficients and c by g
    UOp small;
    for (auto& [coef, v] : terms)
      if (__int128 r = coef - floordiv(coef, c) * c; r != 0) small = add(small, term(r / g, v));
    if (kr != 0) small = add(small, cst(kr / g));
    if (root->op == Op::IDIV) {
      UOp div = UOp::alu(Op::IDIV, {small, cst(c / g)});
      return quot ? add(quot, div) : div;
    }
    return UOp::alu(Op::MUL, {UOp::alu(Op::MOD, {small, cst(c / g)}), cst(g)});
  }
  // a term whose coefficient a divides c, beside others that lie in one multiple of a: rest = a * (v + m) + o with
  // 0 <= o < a, so rest // c = (v + m) // (c / a) and rest % c = ((v + m) % (c / a)) * a + o (a padded row's
  // element y * 20 + x + 36 over pairs of rows of 40 is (y + 2) // 2 where x + 36 lies in [40, 60))
  for (size_t i = 0; i < terms.size(); i++) {
    __int128 a = terms[i].first - floordiv(terms[i].first, c) * c;
    if (a < 2 || c % a != 0) continue;
    UOp others = kr != 0 ? cst(kr) : UOp();
    for (size_t j = 0; j < terms.size(); j++)
      if (__int128 r = terms[j].first - floordiv(terms[j].first, c) * c; j != i && r != 0)
        others = add(others, term(r, terms[j].second));
    if (!others) others = cst(0);
    __int128 m = floordiv(others->vmin, a);
    if (m != floordiv(others->vmax, a)) continue;
    UOp shifted = m == 0 ? terms[i].second : add(terms[i].second, cst(m));
    if (root->op == Op::IDIV) {
      UOp div = UOp::alu(Op::IDIV, {shifted, cst(c / a)});
      return quot ? add(quot, div) : div;
    }
    UOp low = m == 0 ? others : add(others, cst(-m * a));
    return add(UOp::alu(Op::MUL, {UOp::alu(Op::MOD, {shifted, cst(c / a)}), cst(a)}), low);
  }
  if (!split) return std::nullopt;
  if (root->op == Op::IDIV) return add(quot, UOp::alu(Op::IDIV, {rest, d}));
  return UOp::alu(Op::MOD, {rest, d});
}

// A gated load's index matters only where its gate holds: the targets read element 0 elsewhere (lower.pat's
// gated_loads). A gate that bounds ranges (c < r, r < c, and conjunctions of them: a padded input's window) narrows
// them for the index, which then simplifies as if the ranges ran over the bounds only (tinygrad's uop_given_valid):
// each such range becomes a variable over its bounds, the index is simplified, and the ranges come back. A padded
// input's index loses the division and modulo that wrapping past its edges needed.
std::optional<UOp> index_given_gate(llvm::ArrayRef<UOp> args) {
  const UOp& load = args[0];
  if (load->op != Op::LOAD || load->src.size() != 3) return std::nullopt;
  struct Bounds {
    UOp range;
    int64_t lo, hi; // inclusive, under the gate
  };
  llvm::DenseMap<const uops::Node*, Bounds> bounds;
  auto of = [&](const UOp& r) -> Bounds& {
    return bounds.try_emplace(r.get(), Bounds{r, int64_t(r->vmin), int64_t(r->vmax)}).first->second;
  };
  std::vector<UOp> stack{load->src[2]};
  while (!stack.empty()) {
    UOp c = stack.back();
    stack.pop_back();
    if (c->op == Op::AND) stack.insert(stack.end(), c->src.begin(), c->src.end());
    if (c->op != Op::CMPLT) continue;
    const UOp &a = c->src[0], &b = c->src[1];
    if (a->op == Op::CONST && b->op == Op::RANGE) of(b).lo = std::max<int64_t>(of(b).lo, int64_t(a->value().i) + 1);
    if (a->op == Op::RANGE && b->op == Op::CONST) of(a).hi = std::min<int64_t>(of(a).hi, int64_t(b->value().i) - 1);
  }
  llvm::DenseMap<const uops::Node*, UOp> to_var, to_range;
  for (auto& [n, b] : bounds) {
    if (b.lo > b.hi || (b.lo == n->vmin && b.hi == n->vmax)) continue; // never true, or no narrower
    UOp v = UOp::var(fmt::format("gate.{}", std::get<int64_t>(n->arg)), b.lo, b.hi);
    to_var[n] = v, to_range[v.get()] = b.range;
  }
  if (to_var.empty()) return std::nullopt;
  auto swap = [](const UOp& e, const llvm::DenseMap<const uops::Node*, UOp>& m) {
    return uops::substitute(e, [&](const uops::Node* n) {
      auto it = m.find(n);
      return it == m.end() ? UOp() : it->second;
    });
  };
  // simplified again over the ranges themselves, so that the result is in the form the rules keep (terms sort
  // differently over variables) and a second visit finds nothing to do
  auto narrow = simplify(swap(load->src[1], to_var));
  auto index = narrow ? simplify(swap(*narrow, to_range)) : narrow.takeError();
  if (!index) {
    llvm::consumeError(index.takeError());
    return std::nullopt;
  }
  if (*index == load->src[1]) return std::nullopt;
  return UOp::make(Op::LOAD, load->dtype, {load->src[0], *index, load->src[2]}, load->arg);
}

} // namespace

void register_symbolic_hooks() {
  register_hook("fold_unary", 1, fold_unary);
  register_hook("fold_divmod", 1, fold_divmod);
  register_hook("index_given_gate", 1, index_given_gate);
}

} // namespace patgrad::rewriter
