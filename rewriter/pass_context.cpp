// What the firings of one graph_rewrite call share: fresh() counters and the open ranges of each node.
#include "rewriter/internal.h"

namespace patgrad::rewriter {
namespace {

// REDUCE and END close the loops of their sources after the first.
bool closes_ranges(Op op) { return op == Op::REDUCE || op == Op::END; }

// A RANGE's loop number: what ranges() sorts by.
int64_t range_number(const UOp& r) {
  auto* i = std::get_if<int64_t>(&r->arg);
  return i ? *i : 0;
}

} // namespace

int64_t PassContext::fresh(int counter) {
  if (size_t(counter) >= counters.size()) counters.resize(counter + 1);
  return counters[counter]++;
}

const std::vector<UOp>& PassContext::ranges(const UOp& x) {
  // post-order over what is not memoized yet, with an explicit stack: a kernel can be deep
  std::vector<std::pair<UOp, bool>> stack{{x, false}};
  while (!stack.empty()) {
    auto [u, sources_done] = stack.back();
    stack.pop_back();
    if (open_ranges.count(u.get())) continue;
    if (!sources_done) {
      stack.push_back({u, true});
      for (const UOp& s : u->src)
        if (!open_ranges.count(s.get())) stack.push_back({s, false});
      continue;
    }
    std::vector<UOp> open;
    for (const UOp& s : u->src)
      for (const UOp& r : open_ranges.find(s.get())->second.second)
        if (!llvm::is_contained(open, r)) open.push_back(r);
    if (u->op == Op::RANGE) open.push_back(u);
    if (closes_ranges(u->op)) // the loops of the sources after the first
      llvm::erase_if(open, [&](const UOp& r) { return llvm::is_contained(llvm::drop_begin(u->src), r); });
    std::stable_sort(open.begin(), open.end(), [](const UOp& a, const UOp& b) { return range_number(a) < range_number(b); });
    open_ranges[u.get()] = {u, std::move(open)};
  }
  return open_ranges.find(x.get())->second.second;
}

} // namespace patgrad::rewriter
