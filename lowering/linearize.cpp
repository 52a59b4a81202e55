// Linearize: a kernel's graph as an ordered list a device can run top to bottom.
// Expects: a SINK of STOREs whose index and value use the output RANGEs, and REDUCEs over their own RANGEs, no
// REDUCE inside another's body (scheduling realizes a reduction that is reduced again).
// Guarantees: the output loops open first, outermost first, and close last; each REDUCE becomes DEFINE_ACC, its
// loops around its body and an ASSIGN, then the REDUCE itself (reading the accumulator that accumulators() finds);
// REDUCEs over the same ranges share the loops; every node follows its sources. Loop-invariant code stays in the
// innermost output loop: LLVM hoists it, INTERP does not care.
#include "lowering/lowering.h"
#include <cmath>
#include <llvm/ADT/DenseMap.h>
#include <llvm/ADT/DenseSet.h>
#include <map>

namespace patgrad::lowering {
namespace {

using uops::Node;

UOp identity(Op op, DType d) {
  if (op == Op::ADD) return UOp::constant(d, uops::is_float(d) ? uops::float_value(d, 0) : uops::int_value(d, 0));
  if (op == Op::MUL) return UOp::constant(d, uops::is_float(d) ? uops::float_value(d, 1) : uops::int_value(d, 1));
  if (uops::is_float(d)) return UOp::constant(d, uops::float_value(d, -INFINITY));
  return UOp::constant(d, uops::dtype_min(d));
}

} // namespace

std::vector<UOp> linearize(const UOp& ast) {
  std::vector<UOp> order = uops::toposort({ast});
  // the ranges each node depends on, and which nodes belong to a REDUCE's body
  llvm::DenseMap<const Node*, llvm::SmallVector<const Node*, 4>> ranges;
  llvm::DenseSet<const Node*> reduce_ranges, body;
  for (const UOp& n : order) {
    auto& r = ranges[n.get()];
    if (n->op == Op::RANGE) r.push_back(n.get());
    for (const UOp& s : n->src)
      for (const Node* x : ranges[s.get()])
        if (std::find(r.begin(), r.end(), x) == r.end()) r.push_back(x);
    if (n->op == Op::REDUCE)
      for (size_t i = 1; i < n->src.size(); i++) {
        reduce_ranges.insert(n->src[i].get());
        r.erase(std::remove(r.begin(), r.end(), n->src[i].get()), r.end());
      }
  }
  for (const UOp& n : order)
    for (const Node* x : ranges[n.get()])
      if (reduce_ranges.count(x)) body.insert(n.get());

  std::vector<UOp> out, output_ranges;
  for (const UOp& n : order)
    if (n->op == Op::RANGE && !reduce_ranges.count(n.get())) output_ranges.push_back(n);
  std::sort(output_ranges.begin(), output_ranges.end(),
            [](const UOp& a, const UOp& b) { return std::get<int64_t>(a->arg) < std::get<int64_t>(b->arg); });
  llvm::DenseSet<const Node*> emitted;
  auto emit = [&](const UOp& n) {
    if (emitted.insert(n.get()).second) out.push_back(n);
  };
  for (const UOp& r : output_ranges) emit(r);
  int64_t acc_id = 0;
  for (const UOp& n : order) {
    if (emitted.count(n.get()) || body.count(n.get()) || n->op == Op::SINK) continue;
    if (n->op != Op::REDUCE) {
      emit(n);
      continue;
    }
    // REDUCEs over the same ranges (an upcast kernel's copies) share one loop nest, each with its accumulator,
    // unless one depends on a REDUCE not emitted yet
    std::vector<UOp> group{n};
    for (const UOp& m : order) {
      if (m == n || m->op != Op::REDUCE || emitted.count(m.get()) ||
          llvm::ArrayRef(m->src).drop_front() != llvm::ArrayRef(n->src).drop_front())
        continue;
      std::vector<UOp> deps = uops::toposort({m});
      deps.pop_back(); // m itself
      if (std::any_of(deps.begin(), deps.end(),
                      [&](const UOp& d) { return d->op == Op::REDUCE && !emitted.count(d.get()); }))
        continue;
      for (const UOp& d : deps) // what the copy needs from outside the loops comes before them
        if (!body.count(d.get())) emit(d);
      group.push_back(m);
    }
    std::vector<UOp> accs;
    for (const UOp& m : group) {
      Op op = Op(std::get<int64_t>(m->arg));
      accs.push_back(UOp::make(Op::DEFINE_ACC, m->dtype, {identity(op, m->dtype)}, acc_id++));
      emit(accs.back()->src[0]);
      emit(accs.back());
    }
    for (size_t i = 1; i < n->src.size(); i++) emit(n->src[i]);
    for (const UOp& b : order) // the body, in order, once its loops are open
      if (body.count(b.get()) && b->op != Op::RANGE && !emitted.count(b.get())) {
        const auto& rs = ranges[b.get()];
        bool mine = std::all_of(rs.begin(), rs.end(), [&](const Node* x) {
          return !reduce_ranges.count(x) || std::find_if(n->src.begin() + 1, n->src.end(),
                                                         [&](const UOp& s) { return s.get() == x; }) != n->src.end();
        });
        if (mine) emit(b);
      }
    for (size_t g = 0; g < group.size(); g++) {
      UOp update = UOp::make(Op(std::get<int64_t>(group[g]->arg)), group[g]->dtype, {accs[g], group[g]->src[0]});
      emit(update);
      emit(UOp::make(Op::ASSIGN, DType::void_, {accs[g], update}));
    }
    for (size_t i = n->src.size(); i-- > 1;) emit(UOp::make(Op::ENDRANGE, DType::void_, {n->src[i]}));
    for (const UOp& m : group) emit(m);
  }
  for (auto it = output_ranges.rbegin(); it != output_ranges.rend(); ++it)
    emit(UOp::make(Op::ENDRANGE, DType::void_, {*it}));
  return out;
}

llvm::DenseMap<const Node*, const Node*> accumulators(const std::vector<UOp>& program) {
  std::map<std::pair<const Node*, const Node*>, const Node*> assigned; // (summed value, innermost loop) -> acc
  std::vector<const Node*> open;
  llvm::DenseMap<const Node*, const Node*> out;
  for (const UOp& u : program) {
    if (u->op == Op::RANGE)
      open.push_back(u.get());
    else if (u->op == Op::ENDRANGE && !open.empty())
      open.pop_back();
    else if (u->op == Op::ASSIGN && !open.empty())
      assigned[{u->src[1]->src[1].get(), open.back()}] = u->src[0].get();
    else if (u->op == Op::REDUCE)
      if (auto it = assigned.find({u->src[0].get(), u->src.back().get()}); it != assigned.end())
        out[u.get()] = it->second;
  }
  return out;
}

} // namespace patgrad::lowering
