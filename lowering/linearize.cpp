// Linearize: a kernel's graph as an ordered list a device can run top to bottom.
// Expects: a SINK of STOREs whose index and value use the output RANGEs, and REDUCEs over their own RANGEs; a REDUCE
// may sit in another's body (a tree sum's levels), over other ranges.
// Guarantees: the output loops open first, outermost first, and close last; each REDUCE becomes DEFINE_ACC, its
// loops around its body and an ASSIGN, then the REDUCE itself (reading the accumulator that accumulators() finds);
// a nested REDUCE's accumulator is set again on each trip of the loops around it; REDUCEs over the same ranges share
// the loops; every node follows its sources. Loop-invariant code stays in the
// innermost output loop: LLVM hoists it, INTERP does not care.
#include "lowering/lowering.h"
#include <cmath>
#include <functional>
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
  // the ranges each node depends on (a REDUCE not on its own), and the ranges some REDUCE loops over
  llvm::DenseMap<const Node*, llvm::SmallVector<const Node*, 4>> ranges;
  llvm::DenseSet<const Node*> reduce_ranges;
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
  using Ranges = llvm::SmallVector<const Node*, 8>;
  // b's reduction loops all open among `open`
  auto within = [&](const Node* b, const Ranges& open) {
    return llvm::all_of(ranges[b],
                        [&](const Node* x) { return !reduce_ranges.count(x) || llvm::is_contained(open, x); });
  };
  auto uses_any = [&](const Node* b, llvm::ArrayRef<UOp> loops) {
    return llvm::any_of(loops, [&](const UOp& l) { return llvm::is_contained(ranges[b], l.get()); });
  };

  std::vector<UOp> out, output_ranges;
  for (const UOp& n : order)
    if (n->op == Op::RANGE && !reduce_ranges.count(n.get())) output_ranges.push_back(n);
  std::sort(output_ranges.begin(), output_ranges.end(),
            [](const UOp& a, const UOp& b) { return std::get<int64_t>(a->arg) < std::get<int64_t>(b->arg); });
  llvm::DenseSet<const Node*> emitted;
  auto emit = [&](const UOp& n) {
    if (emitted.insert(n.get()).second) out.push_back(n);
  };
  int64_t acc_id = 0;
  // A REDUCE inside the reduction loops `open`: its accumulator, its loops, the body that needs them (REDUCEs nested
  // in it recursively), the update, the REDUCE. REDUCEs over the same ranges (an upcast kernel's copies) share one
  // loop nest, each with its accumulator, unless one depends on a REDUCE that is neither emitted nor nested in it.
  std::function<void(const UOp&, const Ranges&)> emit_reduce = [&](const UOp& n, const Ranges& open) {
    llvm::ArrayRef<UOp> loops = llvm::ArrayRef(n->src).drop_front();
    std::vector<UOp> group{n};
    for (const UOp& m : order) {
      if (m == n || m->op != Op::REDUCE || emitted.count(m.get()) || llvm::ArrayRef(m->src).drop_front() != loops ||
          !within(m.get(), open))
        continue;
      std::vector<UOp> deps = uops::toposort({m});
      deps.pop_back(); // m itself
      if (llvm::any_of(deps, [&](const UOp& d) {
            return d->op == Op::REDUCE && !emitted.count(d.get()) && !uses_any(d.get(), loops);
          }))
        continue;
      for (const UOp& d : deps) // what the copy needs from outside its loops comes before them
        if (!uses_any(d.get(), loops) && within(d.get(), open) && d->op != Op::RANGE) emit(d);
      group.push_back(m);
    }
    std::vector<UOp> accs;
    for (const UOp& m : group) {
      Op op = Op(std::get<int64_t>(m->arg));
      accs.push_back(UOp::make(Op::DEFINE_ACC, m->dtype, {identity(op, m->dtype)}, acc_id++));
      emit(accs.back()->src[0]);
      emit(accs.back());
    }
    for (const UOp& l : loops) emit(l);
    Ranges inner = open;
    for (const UOp& l : loops) inner.push_back(l.get());
    // the body, in order, once its loops are open: what uses them and no loop that is not open yet; a value that
    // does not use them stays outside, where it dominates its uses after the loops
    for (const UOp& b : order)
      if (b->op != Op::RANGE && !emitted.count(b.get()) && uses_any(b.get(), loops) && within(b.get(), inner)) {
        if (b->op == Op::REDUCE)
          emit_reduce(b, inner);
        else
          emit(b);
      }
    for (size_t g = 0; g < group.size(); g++) {
      UOp update = UOp::make(Op(std::get<int64_t>(group[g]->arg)), group[g]->dtype, {accs[g], group[g]->src[0]});
      emit(update);
      emit(UOp::make(Op::ASSIGN, DType::void_, {accs[g], update}));
    }
    for (size_t i = loops.size(); i-- > 0;) emit(UOp::make(Op::ENDRANGE, DType::void_, {loops[i]}));
    for (const UOp& m : group) emit(m);
  };

  for (const UOp& r : output_ranges) emit(r);
  for (const UOp& n : order) {
    if (emitted.count(n.get()) || n->op == Op::SINK || !within(n.get(), {})) continue;
    if (n->op == Op::REDUCE)
      emit_reduce(n, {});
    else
      emit(n);
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
