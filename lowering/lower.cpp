// The kernel pipeline: every pass patterns/pipeline.pat declares (and any a user file adds), in declaration order.
#include "lowering/lowering.h"

namespace patgrad::lowering {

llvm::Expected<UOp> lower(const UOp& ast, const rewriter::Library& lib) {
  UOp cur = ast;
  for (const auto& pass : lib.passes) {
    auto r = rewriter::graph_rewrite(cur, *pass);
    if (!r) return r.takeError();
    cur = *r;
  }
  return cur;
}

} // namespace patgrad::lowering
