// merge_ends: the ENDs that close the same ranges become one, over a GROUP of their effects, so that the reductions
// of an upcast kernel's k copies share one loop nest (k independent accumulators per trip). Not a local rewrite: it
// needs every END of a kernel at once.
// Only ENDs with the same open ranges around them merge: a copy whose sum no longer uses the tile's output ranges (its
// gate is never true, so it sums a constant) sets its accumulator once, at the top; inside the others' loop nest it
// would carry over from one output to the next. Such an END gets loops of its own: fresh RANGEs for the ones it
// closes.
// Expects: a kernel graph after the reduce pass. Guarantees: no two ENDs close the same list of ranges, unless one
// depends on the other (merging would make a cycle; linearize then reports the range closed twice).
#include "lowering/lowering.h"
#include <map>

namespace patgrad::lowering {
namespace {

using Key = std::vector<const uops::Node*>; // an END's closed ranges, then 0, then the ranges open around it

// Each END's key, in graph order.
std::vector<std::pair<UOp, Key>> end_keys(const UOp& ast) {
  std::vector<std::pair<UOp, Key>> out;
  llvm::DenseMap<const uops::Node*, Key> open; // sorted by address: a set
  for (const UOp& n : uops::toposort({ast})) {
    Key& o = open[n.get()];
    for (const UOp& s : n->src)
      for (const uops::Node* r : open[s.get()])
        if (!llvm::is_contained(o, r)) o.push_back(r);
    if (n->op == Op::RANGE) o.push_back(n.get());
    if (n->op == Op::REDUCE || n->op == Op::END)
      llvm::erase_if(o, [&](const uops::Node* r) {
        return llvm::any_of(llvm::drop_begin(n->src), [&](const UOp& c) { return c.get() == r; });
      });
    llvm::sort(o);
    if (n->op != Op::END) continue;
    Key key;
    for (const UOp& r : llvm::drop_begin(n->src)) key.push_back(r.get());
    key.push_back(nullptr);
    key.insert(key.end(), o.begin(), o.end());
    out.push_back({n, std::move(key)});
  }
  return out;
}

// The kernel with fresh RANGEs for the ENDs that close the same ranges as an END with other open ranges (all but the
// first such open set keep theirs).
UOp separate_loops(const UOp& ast) {
  std::map<Key, Key> first_open; // closed ranges -> the open set that keeps them
  int64_t next = 0;
  for (const UOp& n : uops::toposort({ast}))
    if (n->op == Op::RANGE)
      if (auto* i = std::get_if<int64_t>(&n->arg)) next = std::max(next, *i + 1);
  llvm::DenseMap<const uops::Node*, UOp> moved;
  std::map<Key, llvm::DenseMap<const uops::Node*, UOp>> fresh; // one set of new loops per key
  for (auto& [end, key] : end_keys(ast)) {
    auto split = llvm::find(key, nullptr);
    Key closed(key.begin(), split), opened(split + 1, key.end());
    auto [it, first] = first_open.try_emplace(closed, opened);
    if (first || it->second == opened) continue;
    auto& ranges = fresh[key];
    for (const UOp& r : llvm::drop_begin(end->src))
      if (!ranges.count(r.get())) ranges[r.get()] = UOp::make(Op::RANGE, r->dtype, r->src, int64_t(next++));
    moved[end.get()] = uops::substitute(end, [&](const uops::Node* u) { return ranges.lookup(u); });
  }
  return moved.empty() ? ast : uops::substitute(ast, [&](const uops::Node* n) { return moved.lookup(n); });
}

} // namespace

// Merges from the inside out, one nesting level a round: a group is merged once no END it contains is still to be
// merged, so the GROUP it gets holds the effects as they end up.
llvm::Expected<UOp> merge_ends(const UOp& ast) {
  UOp cur = separate_loops(ast);
  for (;;) {
    std::map<Key, std::vector<UOp>> by_ranges; // in graph order
    for (auto& [end, key] : end_keys(cur)) by_ranges[key].push_back(end);
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
