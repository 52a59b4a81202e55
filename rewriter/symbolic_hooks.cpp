// The hooks of symbolic.pat's rules (cpp::fold_unary, cpp::fold_divmod): what the guard language cannot say. Each
// returns a node or nothing ("no match"). The fuzzer tests them as black boxes; the Z3 prover skips rules that use
// them.
#include "rewriter/internal.h"

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
  if (!split) return std::nullopt;
  if (root->op == Op::IDIV) return add(quot, UOp::alu(Op::IDIV, {rest, d}));
  return UOp::alu(Op::MOD, {rest, d});
}

} // namespace

void register_symbolic_hooks() {
  register_hook("fold_unary", 1, fold_unary);
  register_hook("fold_divmod", 1, fold_divmod);
}

} // namespace patgrad::rewriter
