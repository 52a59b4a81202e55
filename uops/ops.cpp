#include "uops/ops.h"

namespace patgrad::uops {
namespace {

constexpr OpInfo table[] = {
#define OP(name, arity, props, infix, typing, operands) {#name, arity, props, infix, Typing::typing, operands},
#include "uops/ops.def"
#undef OP
};

} // namespace

const OpInfo& op_info(Op op) { return table[int(op)]; }

std::optional<Op> parse_op(std::string_view name) {
  for (int i = 0; i < num_ops; i++)
    if (table[i].name == name) return Op(i);
  return std::nullopt;
}

std::optional<Op> op_for_infix(std::string_view infix) {
  for (int i = 0; i < num_ops; i++)
    if (!infix.empty() && table[i].infix == infix) return Op(i);
  return std::nullopt;
}

} // namespace patgrad::uops
