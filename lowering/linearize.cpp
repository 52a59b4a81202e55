// Linearize: a kernel's graph as the ordered list a device runs top to bottom. The graph already states every
// constraint (a value depends on the RANGEs it is computed in; END closes a loop after its effects; AFTER reads an
// accumulator after what wrote it), so this stage invents nothing: it finds the loop nest and sorts.
// Expects: a SINK over effects; no REDUCE left; every RANGE closed by exactly one END of that range alone; loops that
// nest (the ranges open around a loop's END are its enclosing loops, a chain).
// Guarantees: every node after its sources; between a RANGE and its END exactly the nodes that depend on that range
// (through anything but an END that closed it), so loop-invariant code sits outside its loops and no value is used
// outside the loop that computes it; source-less nodes (allocations, parameters, constants) first, in the entry block
// where LLVM's mem2reg wants allocas. A malformed graph (a user pass can make one) is an error, not a wrong program.
#include "lowering/lowering.h"
#include <fmt/format.h>
#include <llvm/ADT/DenseMap.h>
#include <functional>
#include <queue>

namespace patgrad::lowering {
namespace {

using uops::Node;
using Ranges = llvm::SmallVector<const Node*, 4>; // sorted by address: a set

llvm::Error fail(const std::string& what, const UOp& u) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), "linearize: %s: %s", what.c_str(),
                                 uops::sexpr(u).c_str());
}

void insert(Ranges& set, const Node* r) {
  auto it = std::lower_bound(set.begin(), set.end(), r);
  if (it == set.end() || *it != r) set.insert(it, r);
}

} // namespace

llvm::Expected<std::vector<UOp>> linearize(const UOp& sink) {
  std::vector<UOp> order = uops::toposort({sink});
  llvm::DenseMap<const Node*, size_t> pos;
  llvm::DenseMap<const Node*, Ranges> live;        // the ranges open at each node
  llvm::DenseMap<const Node*, const Node*> end_of; // RANGE -> its END
  llvm::DenseMap<const Node*, const Node*> parent;  // RANGE -> the loop it sits in; nullptr: the top level
  auto encloses = [&](const Node* outer, const Node* inner) { // outer is inner or around it
    for (; inner; inner = parent.lookup(inner))
      if (inner == outer) return true;
    return false;
  };
  for (const UOp& n : order) {
    size_t at = pos.size();
    pos[n.get()] = at;
    if (n->op == Op::REDUCE) return fail("a REDUCE is left (the reduce pass turns each into an accumulator)", n);
    Ranges l;
    for (const UOp& s : n->src)
      for (const Node* r : live[s.get()]) insert(l, r);
    if (n->op == Op::RANGE) insert(l, n.get());
    if (n->op == Op::END) {
      if (n->src.size() != 2) return fail("an END closes one range here (the ends pass splits the rest)", n);
      const Node* r = n->src[1].get();
      if (end_of.count(r)) return fail("a RANGE is closed twice", n->src[1]);
      end_of[r] = n.get();
      l.erase(std::remove(l.begin(), l.end(), r), l.end());
    }
    live[n.get()] = std::move(l);
  }
  // The loop nest: a loop sits inside every loop open at its END; its parent is the deepest of them, and the others
  // must enclose that parent (a loop may leave out a loop around it that it does not depend on, but not branch off).
  llvm::DenseMap<const Node*, size_t> depth; // 1 + the parent's depth; 0 while being computed
  std::function<llvm::Error(const Node*)> place = [&](const Node* r) -> llvm::Error {
    if (depth.count(r)) {
      if (!depth[r]) return fail("loops that enclose each other", UOp(order[pos[end_of[r]]]));
      return llvm::Error::success();
    }
    depth[r] = 0;
    const Node* p = nullptr;
    for (const Node* o : live[end_of[r]]) {
      if (auto e = place(o)) return e;
      if (!p || depth[o] > depth[p]) p = o;
    }
    for (const Node* o : live[end_of[r]])
      if (!encloses(o, p)) return fail("loops that do not nest", UOp(order[pos[end_of[r]]]));
    parent[r] = p;
    depth[r] = p ? depth[p] + 1 : 1;
    return llvm::Error::success();
  };
  for (const UOp& n : order)
    if (n->op == Op::RANGE && !end_of.count(n.get())) return fail("a RANGE is never closed", n);
  for (const UOp& n : order)
    if (n->op == Op::RANGE)
      if (auto e = place(n.get())) return e;
  // Each node's place: the innermost loop open at it (a RANGE and its END: the loop's own block, in its parent).
  auto scope = [&](const Node* n) -> const Node* {
    if (n->op == Op::RANGE) return parent[n];
    if (n->op == Op::END) return parent[n->src[1].get()];
    const Node* in = nullptr;
    for (const Node* r : live[n])
      if (!in || depth[r] > depth[in]) in = r;
    return in;
  };
  for (const UOp& n : order) { // the open ranges must all enclose the innermost (or be it)
    if (n->op == Op::RANGE || n->op == Op::END || n->op == Op::SINK) continue;
    const Node* in = scope(n.get());
    for (const Node* r : live[n.get()])
      if (!encloses(r, in)) return fail("a value uses loops that do not nest", n);
  }
  // An item of a scope is a node placed there or a child loop (named by its RANGE); item(S, x) is the item of scope
  // S that holds x, or null when x lies outside S.
  auto item = [&](const Node* s, const Node* x) -> const Node* {
    const Node* it = x->op == Op::END ? x->src[1].get() : x;
    const Node* at = scope(x);
    while (at != s) {
      if (!at) return nullptr;
      it = at, at = parent[at];
    }
    return it;
  };
  struct Scope {
    std::vector<const Node*> items;
    llvm::DenseMap<const Node*, llvm::SmallVector<const Node*, 4>> after; // item -> items that wait for it
    llvm::DenseMap<const Node*, int> waiting;                            // item -> items it waits for
  };
  llvm::DenseMap<const Node*, Scope> scopes;
  // every scope exists before emit, which holds a reference into the map while it recurses (a loop's body may be
  // empty: a store that does not use its size-1 output range sits outside it)
  scopes[nullptr];
  for (const UOp& n : order)
    if (n->op == Op::RANGE) scopes[n.get()];
  for (const UOp& n : order) {
    if (n->op == Op::SINK || n->op == Op::END) continue;
    scopes[scope(n.get())].items.push_back(n.get());
  }
  for (const UOp& n : order) {
    if (n->op == Op::SINK) continue;
    for (const UOp& s : n->src) { // the edge counts where s first becomes visible, going out from n
      for (const Node* at = scope(n.get());; at = parent[at]) {
        const Node *from = item(at, s.get()), *to = item(at, n.get());
        if (from) {
          if (from != to) {
            Scope& sc = scopes[at];
            sc.after[from].push_back(to);
            sc.waiting[to]++;
          }
          break;
        }
        if (!at) break;
      }
    }
  }
  // Each scope's items in dependency order: source-less nodes first, then the graph's own order.
  std::vector<UOp> out;
  std::function<llvm::Error(const Node*)> emit = [&](const Node* s) -> llvm::Error {
    Scope& sc = scopes[s];
    auto key = [&](const Node* n) { return std::pair(n->src.empty() && n->op != Op::RANGE ? 0 : 1, pos[n]); };
    auto later = [&](const Node* a, const Node* b) { return key(a) > key(b); };
    std::priority_queue<const Node*, std::vector<const Node*>, decltype(later)> ready(later);
    for (const Node* n : sc.items)
      if (!sc.waiting.lookup(n)) ready.push(n);
    size_t done = 0;
    while (!ready.empty()) {
      const Node* n = ready.top();
      ready.pop();
      done++;
      out.push_back(order[pos[n]]);
      if (n->op == Op::RANGE) { // the loop: its body, then its END
        if (auto e = emit(n)) return e;
        out.push_back(order[pos[end_of[n]]]);
      }
      for (const Node* m : sc.after[n])
        if (--sc.waiting[m] == 0) ready.push(m);
    }
    if (done != sc.items.size()) return fail("the graph's order has a cycle", sink);
    return llvm::Error::success();
  };
  if (auto e = emit(nullptr)) return e;
  return out;
}

} // namespace patgrad::lowering
