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
  case Op::PAD: case Op::SHRINK: { // each undoes the other
    Ints b;
    for (size_t i = 0; i < in.size(); i++) {
      int64_t lo = a[2 * i], hi = a[2 * i + 1];
      if (node->op == Op::PAD) b.push_back(lo), b.push_back(lo + in[i]);
      else b.push_back(lo), b.push_back(in[i] - hi);
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

} // namespace

const std::vector<Hook>& hooks() {
  static const std::vector<Hook> table = {
      {"fold_unary", 1, fold_unary},
      {"grad_movement", 2, grad_movement},
      {"grad_reduce_max", 2, grad_reduce_max},
  };
  return table;
}

} // namespace patgrad::rewriter
