// C++ hooks that rules call as cpp::name(...): what the guard language cannot say. Each returns a node or nothing
// ("no match"). The fuzzer tests them as black boxes; the Z3 prover skips rules that use them.
#include "rewriter/rules.h"

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

using uops::Ints;

UOp movement(Op op, const UOp& x, Ints arg) { return UOp::make(op, x->dtype, {x}, std::move(arg)); }

// The gradient of a movement op or a sum: the op that maps g back onto the source's shape. These need the shapes
// and args as lists, which the guard language does not have.
std::optional<UOp> grad_movement(llvm::ArrayRef<UOp> args) {
  const UOp &node = args[0], &g = args[1];
  if (node->src.size() != 1 || g->shape != node->shape) return std::nullopt;
  const uops::Shape& in = node->src[0]->shape;
  const Ints& a = std::get<Ints>(node->arg);
  UOp d;
  switch (node->op) {
  case Op::RESHAPE: d = movement(Op::RESHAPE, g, Ints(in.begin(), in.end())); break;
  case Op::PERMUTE: {
    Ints inverse(a.size());
    for (size_t i = 0; i < a.size(); i++) inverse[a[i]] = int64_t(i);
    d = movement(Op::PERMUTE, g, inverse);
    break;
  }
  case Op::EXPAND: {
    Ints r{int64_t(Op::ADD)};
    for (size_t i = 0; i < in.size(); i++)
      if (in[i] != node->shape[i]) r.push_back(int64_t(i));
    d = r.size() == 1 ? g : movement(Op::REDUCE_AXIS, g, r);
    break;
  }
  case Op::PAD:
  case Op::SHRINK: { // each undoes the other
    Ints b;
    for (size_t i = 0; i < in.size(); i++) {
      int64_t lo = a[2 * i], hi = a[2 * i + 1];
      if (node->op == Op::PAD)
        b.push_back(lo), b.push_back(lo + in[i]);
      else
        b.push_back(lo), b.push_back(in[i] - hi);
    }
    d = movement(node->op == Op::PAD ? Op::SHRINK : Op::PAD, g, b);
    break;
  }
  case Op::FLIP: d = movement(Op::FLIP, g, a); break;
  case Op::REDUCE_AXIS:
    if (a[0] != int64_t(Op::ADD)) return std::nullopt;
    d = movement(Op::EXPAND, g, Ints(in.begin(), in.end()));
    break;
  default: return std::nullopt;
  }
  return UOp::make(Op::TUPLE, DType::void_, {d});
}

// The gradient of a max reduction: g flows to the elements equal to the maximum, shared equally between ties.
std::optional<UOp> grad_reduce_max(llvm::ArrayRef<UOp> args) {
  const UOp &node = args[0], &g = args[1];
  const Ints& a = std::get<Ints>(node->arg);
  if (node->op != Op::REDUCE_AXIS || a[0] != int64_t(Op::MAX) || !uops::is_float(node->dtype)) return std::nullopt;
  const UOp& x = node->src[0];
  Ints in(x->shape.begin(), x->shape.end()), sum{int64_t(Op::ADD)};
  sum.insert(sum.end(), a.begin() + 1, a.end());
  UOp one = UOp::constant(x->dtype, uops::float_value(x->dtype, 1)), zero = UOp::constant(x->dtype, uops::Value{});
  UOp hit = UOp::alu(Op::WHERE, {UOp::alu(Op::CMPEQ, {x, movement(Op::EXPAND, node, in)}), one, zero});
  UOp count = movement(Op::REDUCE_AXIS, hit, sum);
  UOp share = UOp::alu(Op::FDIV, {g, count});
  return UOp::make(Op::TUPLE, DType::void_, {UOp::alu(Op::MUL, {hit, movement(Op::EXPAND, share, in)})});
}

// The gradient of a product reduction: g times the product of the other elements, exact with zeros: where x has
// no zero that is prod / x; where one element is zero, only it gets the product of the rest (the nonzero ones);
// with two zeros every gradient is zero.
std::optional<UOp> grad_reduce_prod(llvm::ArrayRef<UOp> args) {
  const UOp &node = args[0], &g = args[1];
  const Ints& a = std::get<Ints>(node->arg);
  if (node->op != Op::REDUCE_AXIS || a[0] != int64_t(Op::MUL) || !uops::is_float(node->dtype)) return std::nullopt;
  const UOp& x = node->src[0];
  Ints in(x->shape.begin(), x->shape.end()), sum{int64_t(Op::ADD)}, prod{int64_t(Op::MUL)};
  sum.insert(sum.end(), a.begin() + 1, a.end());
  prod.insert(prod.end(), a.begin() + 1, a.end());
  UOp one = UOp::constant(x->dtype, uops::float_value(x->dtype, 1)), zero = UOp::constant(x->dtype, uops::Value{});
  UOp is_zero = UOp::alu(Op::CMPEQ, {x, zero});
  UOp nonzero_prod = movement(Op::EXPAND, movement(Op::REDUCE_AXIS, UOp::alu(Op::WHERE, {is_zero, one, x}), prod), in);
  UOp zeros = movement(Op::EXPAND, movement(Op::REDUCE_AXIS, UOp::alu(Op::WHERE, {is_zero, one, zero}), sum), in);
  UOp others = UOp::alu(
      Op::WHERE,
      {is_zero, UOp::alu(Op::WHERE, {UOp::alu(Op::CMPEQ, {zeros, one}), nonzero_prod, zero}),
       UOp::alu(Op::WHERE, {UOp::alu(Op::CMPEQ, {zeros, zero}), UOp::alu(Op::FDIV, {nonzero_prod, x}), zero})});
  return UOp::make(Op::TUPLE, DType::void_, {UOp::alu(Op::MUL, {others, movement(Op::EXPAND, g, in)})});
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

const std::vector<Hook>& hooks() {
  static const std::vector<Hook> table = {
      {"fold_unary", 1, fold_unary},           {"grad_movement", 2, grad_movement},
      {"grad_reduce_max", 2, grad_reduce_max}, {"grad_reduce_prod", 2, grad_reduce_prod},
      {"fold_divmod", 1, fold_divmod},
  };
  return table;
}

} // namespace patgrad::rewriter
