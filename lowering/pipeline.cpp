// The kernel pipeline's driver: every stage patterns/pipeline.pat declares for kernels, in order, over one kernel,
// from its scheduled AST to the target's program text. Rule passes run through the engine; native stages (C++ that is
// not a local rewrite) are looked up by name. The runtime only compiles and runs what this returns.
#include "lowering/lowering.h"
#include "renderers/renderers.h"

namespace patgrad::lowering {

llvm::Expected<Lowered> lower_kernel(const Kernel& k, std::string_view target, const rewriter::Library& lib,
                                     const rewriter::RewriteOptions& opts) {
  auto ast = lower(upcast(k.ast, upcast_limit()), lib, opts);
  if (!ast) return ast.takeError();
  Lowered out;
  out.program = linearize(*ast);
  if (target == "CPU") {
    auto ir = renderers::render_llvm(out.program, k.name, lib);
    if (!ir) return ir.takeError();
    out.source = std::move(*ir);
  }
  return out;
}

} // namespace patgrad::lowering
