// threads: the kernel's outermost output loop becomes a thread loop, RANGE(n, start, end): each call of the compiled
// kernel runs its share [start, end) of it (the CPU splits it across cores). The range keeps its bound n, so index
// arithmetic simplified against [0, n) stays valid. Not a local rewrite: the choice is the kernel's.
// Expects: SINK(END(effect, outermost range, ...)) or a kernel without loops (left alone).
// Guarantees: at most one RANGE with three sources, the DEFINE_VARs "start" and "end" in [0, n].
#include "lowering/lowering.h"

namespace patgrad::lowering {

UOp split_threads(const UOp& ast) {
  if (ast->op != Op::SINK || ast->src.size() != 1 || ast->src[0]->op != Op::END) return ast;
  const UOp& r = ast->src[0]->src[1];
  if (r->src.size() != 1 || r->src[0]->op != Op::CONST) return ast;
  int64_t n = int64_t(r->src[0]->value().i);
  UOp thread = UOp::make(Op::RANGE, DType::index, {r->src[0], UOp::var("start", 0, n), UOp::var("end", 0, n)}, r->arg);
  return uops::substitute(ast, [&](const uops::Node* x) { return x == r.get() ? thread : UOp(); });
}

} // namespace patgrad::lowering
