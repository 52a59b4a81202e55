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

} // namespace

const std::vector<Hook>& hooks() {
  static const std::vector<Hook> table = {
      {"fold_unary", 1, fold_unary},
  };
  return table;
}

} // namespace patgrad::rewriter
