// The optimization choice: which kernel optimizations to apply, as marks in the graph that the rules of opts.pat carry
// out. Choosing is not a local rewrite (it weighs the whole kernel); doing is. Today's one choice is tinygrad's UPCAST
// of one output axis by a heuristic: each trip of a reducing kernel's loops computes k neighbouring outputs instead of
// one. The k copies of the reduction share the reduction's loops (merge_ends makes their ENDs one), so each trip has
// k independent accumulators, and loads that do not depend on the upcast axis are shared by the copies (interning
// makes them one node). Searching over the choice is future work.
// Expects the kernel `index` makes, SINK(END(STORE, output ranges...)); marks it SINK(END(UPCAST[k](STORE, r),
// output ranges...)) or leaves it as it is.
#include "lowering/lowering.h"
#include <cstdlib>

namespace patgrad::lowering {

int64_t upcast_limit() {
  static const int64_t limit = [] {
    const char* v = std::getenv("PATGRAD_UPCAST");
    return v ? std::max<int64_t>(1, std::atoll(v)) : 8;
  }();
  return limit;
}

UOp optimize(const UOp& ast, int64_t limit) {
  if (limit < 2 || ast->op != Op::SINK || ast->src.size() != 1 || ast->src[0]->op != Op::END ||
      ast->src[0]->src[0]->op != Op::STORE)
    return ast;
  const UOp& end = ast->src[0];
  std::vector<UOp> order = uops::toposort({ast});
  int64_t trips = 0; // of the longest reduction
  for (const UOp& n : order)
    if (n->op == Op::REDUCE) {
      uops::Ints sizes;
      for (size_t i = 1; i < n->src.size(); i++)
        sizes.push_back(n->src[i]->src[0]->op == Op::CONST ? int64_t(n->src[i]->src[0]->value().i) : 1);
      // past int64 only beside an empty output axis: nothing runs
      trips = std::max(trips, uops::checked_prod(sizes).value_or(0));
    }
  // LLVM vectorizes elementwise loops by itself; a short reduction (a sum over a few overlapping windows) gains less
  // from shared loads than its copies' index arithmetic costs
  constexpr int64_t min_trips = 32;
  if (trips < min_trips) return ast;
  llvm::ArrayRef<UOp> outputs = llvm::ArrayRef(end->src).drop_front(); // outermost first
  // the innermost output axis that k divides, for the largest k; never the outermost of several, which the device
  // splits across threads
  for (int64_t k = limit; k >= 2; k /= 2)
    for (size_t i = outputs.size(); i-- > (outputs.size() > 1 ? 1 : 0);) {
      const UOp& r = outputs[i];
      if (r->src[0]->op != Op::CONST || int64_t(r->src[0]->value().i) % k != 0) continue;
      llvm::SmallVector<UOp, 5> marked{UOp::make(Op::UPCAST, DType::void_, {end->src[0], r}, k)};
      marked.append(outputs.begin(), outputs.end());
      return UOp::make(Op::SINK, DType::void_, {UOp::make(Op::END, DType::void_, marked)});
    }
  return ast;
}

} // namespace patgrad::lowering
