// The kernel pipeline's driver: every stage patterns/pipeline.pat declares for kernels, in order, over one kernel,
// from its scheduled AST to the target's program text. Rule passes run through the engine; native stages (C++ that is
// not a local rewrite) are looked up here by name. The runtime only compiles and runs what this returns.
#include "lowering/lowering.h"
#include "renderers/renderers.h"
#include <cstdlib>
#include <fmt/format.h>
#include <llvm/ADT/StringMap.h>

namespace patgrad::lowering {
namespace {

struct KernelState {
  const Kernel& kernel;
  const rewriter::Library& lib;
  const rewriter::Group* render; // the target's render group, or null
  UOp ast;                       // until linearize
  Lowered out;
  const std::vector<Opt>* chosen = nullptr; // the optimize stage's opts; null: the heuristic's
};

using NativeStage = llvm::Error (*)(KernelState&);

llvm::Error run_optimize(KernelState& k) {
  const rewriter::Pass* rules = k.lib.pass("opts");
  if (!rules || rules->stage != "optimize")
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "the optimize stage carries out each opt with the pass 'opts' (stage=optimize), "
                                   "which the pattern library does not declare");
  if (auto seed = random_opts_seed(); seed && !k.chosen) {
    auto r = random_opts(k.ast, *seed, *rules);
    if (!r) return r.takeError();
    k.ast = r->first;
    k.out.opts = to_string(r->second);
    return llvm::Error::success();
  }
  std::vector<Opt> opts = k.chosen ? *k.chosen : optimize(k.ast, upcast_limit());
  auto r = apply_opts(k.ast, opts, *rules);
  if (!r) return r.takeError();
  k.ast = *r;
  k.out.opts = to_string(opts);
  return llvm::Error::success();
}
llvm::Error run_merge_ends(KernelState& k) {
  auto merged = merge_ends(k.ast);
  if (!merged) return merged.takeError();
  k.ast = *merged;
  return llvm::Error::success();
}
llvm::Error run_linearize(KernelState& k) {
  auto program = linearize(k.ast);
  if (!program) return program.takeError();
  k.out.program = std::move(*program);
  return llvm::Error::success();
}
llvm::Error run_render(KernelState& k) {
  if (!k.render) return llvm::Error::success(); // INTERP runs the linear program itself
  auto text = renderers::render(k.out.program, k.kernel.name, k.lib, *k.render);
  if (!text) return text.takeError();
  k.out.source = std::move(*text);
  return llvm::Error::success();
}

const llvm::StringMap<NativeStage>& natives() {
  static const llvm::StringMap<NativeStage> table = {
      {"optimize", run_optimize},
      {"merge_ends", run_merge_ends},
      {"linearize", run_linearize},
      {"render", run_render},
  };
  return table;
}

} // namespace

bool is_native_stage(llvm::StringRef name) { return natives().count(name); }

namespace {

// The stages of the pipeline from the one named `from` (the first if empty) up to the one named `to` (exclusive; to
// the end if empty).
llvm::Error run_stages(KernelState& state, std::string_view target, const rewriter::RewriteOptions& opts,
                       std::string_view from, std::string_view to) {
  static const bool trace = [] { // DEBUG=6: the kernel after each rule pass
    const char* d = std::getenv("DEBUG");
    return d && std::atoi(d) >= 6;
  }();
  bool started = from.empty(), linear = false;
  for (const auto& pass : state.lib.passes) {
    if (pass->stage != "kernel" || (!pass->target.empty() && pass->target != target)) continue;
    if (pass->name == to) return llvm::Error::success();
    if (!(started |= pass->name == from)) {
      linear |= pass->name == "linearize";
      continue;
    }
    if (pass->native) {
      auto fn = natives().find(pass->name);
      if (fn == natives().end())
        return llvm::createStringError(llvm::inconvertibleErrorCode(), "%s: no native stage '%s'",
                                       pass->loc.str().c_str(), pass->name.c_str());
      if (auto e = fn->second(state)) return e;
      linear |= pass->name == "linearize";
      continue;
    }
    if (linear)
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "%s: pass '%s' runs rules on a linear program; put it before linearize",
                                     pass->loc.str().c_str(), pass->name.c_str());
    auto r = rewriter::graph_rewrite(state.ast, *pass, opts);
    if (!r) return r.takeError();
    state.ast = *r;
    if (trace) fmt::print(stderr, "{} after {}:\n  {}\n", state.kernel.name, pass->name, uops::sexpr(state.ast));
  }
  if (!to.empty())
    return llvm::createStringError(llvm::inconvertibleErrorCode(), "the pipeline has no stage '%s'",
                                   std::string(to).c_str());
  if (!linear) return llvm::createStringError(llvm::inconvertibleErrorCode(), "the pipeline has no linearize stage");
  return llvm::Error::success();
}

llvm::Expected<const rewriter::Group*> render_group(std::string_view target, const rewriter::Library& lib) {
  auto t = lib.targets.find(std::string(target));
  if (t == lib.targets.end())
    return llvm::createStringError(llvm::inconvertibleErrorCode(), "the pattern library declares no target '%s'",
                                   std::string(target).c_str());
  return t->second;
}

} // namespace

llvm::Expected<Lowered> lower_kernel(const Kernel& k, std::string_view target, const rewriter::Library& lib,
                                     const rewriter::RewriteOptions& opts) {
  auto render = render_group(target, lib);
  if (!render) return render.takeError();
  KernelState state{k, lib, *render, k.ast, {}};
  if (auto e = run_stages(state, target, opts, "", "")) return e;
  return std::move(state.out);
}

llvm::Expected<UOp> lower_to_optimize(const Kernel& k, std::string_view target, const rewriter::Library& lib) {
  auto render = render_group(target, lib);
  if (!render) return render.takeError();
  KernelState state{k, lib, *render, k.ast, {}};
  if (auto e = run_stages(state, target, {}, "", "optimize")) return e;
  return state.ast;
}

llvm::Expected<Lowered> lower_with_opts(const Kernel& k, const UOp& ast, llvm::ArrayRef<Opt> opts,
                                        std::string_view target, const rewriter::Library& lib) {
  auto render = render_group(target, lib);
  if (!render) return render.takeError();
  KernelState state{k, lib, *render, ast, {}};
  std::vector<Opt> chosen(opts.begin(), opts.end());
  state.chosen = &chosen;
  if (auto e = run_stages(state, target, {}, "optimize", "")) return e;
  return std::move(state.out);
}

} // namespace patgrad::lowering
