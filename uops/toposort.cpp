// Walks over a graph: toposort (every node reachable from the roots, each after its sources, sources in order) and
// substitution built on it; iterative, so a deep graph cannot overflow the stack.
#include "uops/uop.h"
#include <llvm/ADT/DenseMap.h>
#include <llvm/ADT/DenseSet.h>

namespace patgrad::uops {

std::vector<UOp> toposort(llvm::ArrayRef<UOp> roots, llvm::function_ref<bool(const Node*)> stop) {
  std::vector<UOp> order;
  llvm::DenseSet<const Node*> seen;
  std::vector<std::pair<UOp, bool>> stack;
  for (auto it = roots.rbegin(); it != roots.rend(); ++it) stack.push_back({*it, false});
  while (!stack.empty()) {
    auto [n, expanded] = stack.back();
    stack.pop_back();
    if (expanded) {
      order.push_back(n);
      continue;
    }
    if (!seen.insert(n.get()).second) continue;
    stack.push_back({n, true});
    if (stop && stop(n.get())) continue;
    for (auto it = n->src.rbegin(); it != n->src.rend(); ++it)
      if (!seen.count(it->get())) stack.push_back({*it, false});
  }
  return order;
}

std::vector<UOp> toposort(llvm::ArrayRef<UOp> roots) { return toposort(roots, nullptr); }

UOp substitute(const UOp& root, llvm::function_ref<UOp(const Node*)> replace) {
  llvm::DenseMap<const Node*, UOp> done;
  auto replaced = [&](const Node* n) { // asked once per node; what lies below a replaced node is not walked
    UOp r = replace(n);
    if (r) done[n] = r;
    return bool(r);
  };
  for (const UOp& n : toposort({root}, replaced)) {
    if (done.count(n.get())) continue;
    llvm::SmallVector<UOp, 4> src;
    bool changed = false;
    for (const UOp& s : n->src) {
      src.push_back(done.find(s.get())->second);
      changed |= !(src.back() == s);
    }
    done[n.get()] = changed ? UOp::make(n->op, n->dtype, src, n->arg) : n;
  }
  return done.find(root.get())->second;
}

} // namespace patgrad::uops
