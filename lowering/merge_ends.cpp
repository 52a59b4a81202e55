// merge_ends: the ENDs that close the same ranges become one, over a GROUP of their effects, so that the reductions
// of an upcast kernel's k copies share one loop nest (k independent accumulators per trip). Not a local rewrite: it
// needs every END of a kernel at once.
// Expects: a kernel graph after the reduce pass. Guarantees: no two ENDs close the same list of ranges, unless one
// depends on the other (merging would make a cycle; linearize then reports the range closed twice).
#include "lowering/lowering.h"
#include <map>

namespace patgrad::lowering {

// Merges from the inside out, one nesting level a round: a group is merged once no END it contains is still to be
// merged, so the GROUP it gets holds the effects as they end up.
llvm::Expected<UOp> merge_ends(const UOp& ast) {
  UOp cur = ast;
  for (;;) {
    std::map<std::vector<const uops::Node*>, std::vector<UOp>> by_ranges; // in graph order
    for (const UOp& n : uops::toposort({cur}))
      if (n->op == Op::END) {
        std::vector<const uops::Node*> key;
        for (size_t i = 1; i < n->src.size(); i++) key.push_back(n->src[i].get());
        by_ranges[key].push_back(n);
      }
    llvm::DenseMap<const uops::Node*, std::vector<UOp>*> group_of; // the ENDs to merge
    for (auto& [ranges, ends] : by_ranges)
      if (ends.size() > 1)
        for (const UOp& e : ends) group_of[e.get()] = &ends;
    auto contains = [&](const std::vector<UOp>& ends, auto&& pred) { // some END of the group holds one it matches
      for (const UOp& e : ends)
        for (const UOp& d : uops::toposort({e->src[0]}))
          if (auto g = group_of.find(d.get()); g != group_of.end() && pred(g->second)) return true;
      return false;
    };
    for (auto& [ranges, ends] : by_ranges) // merging ENDs that depend on each other would make a cycle
      if (ends.size() > 1 && contains(ends, [&](auto* g) { return g == &ends; }))
        for (const UOp& e : ends) group_of.erase(e.get());
    std::vector<std::vector<UOp>*> ready;
    for (auto& [ranges, ends] : by_ranges)
      if (ends.size() > 1 && group_of.count(ends[0].get()) && !contains(ends, [](auto*) { return true; }))
        ready.push_back(&ends);
    if (ready.empty()) return cur;
    llvm::DenseMap<const uops::Node*, UOp> merged;
    for (std::vector<UOp>* ends : ready) {
      llvm::SmallVector<UOp, 8> effects;
      for (const UOp& e : *ends) effects.push_back(e->src[0]);
      llvm::SmallVector<UOp, 5> src{UOp::make(Op::GROUP, DType::void_, effects)};
      src.append((*ends)[0]->src.begin() + 1, (*ends)[0]->src.end());
      UOp one = UOp::make(Op::END, DType::void_, src);
      for (const UOp& e : *ends) merged[e.get()] = one;
    }
    cur = uops::substitute(cur, [&](const uops::Node* n) { return merged.lookup(n); });
  }
}

} // namespace patgrad::lowering
