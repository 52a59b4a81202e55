// The kernel pipeline: every kernel pass patterns/pipeline.pat declares (and any a user file adds), in declaration
// order; passes declared with stage=tensor (autograd's) are not part of it.
#include "lowering/lowering.h"

namespace patgrad::lowering {

llvm::Expected<UOp> lower(const UOp& ast, const rewriter::Library& lib, const rewriter::RewriteOptions& opts) {
  UOp cur = ast;
  for (const auto& pass : lib.passes) {
    if (!pass->kernel) continue;
    auto r = rewriter::graph_rewrite(cur, *pass, opts);
    if (!r) return r.takeError();
    cur = *r;
  }
  return cur;
}

} // namespace patgrad::lowering
