// Scheduling: which nodes of a tensor graph get their own buffer, and one kernel for each. Everything fuses into its
// consumer except what would be recomputed per element of a broadcast or reduced again (mark_realized); a kernel is
// its node's cone cut at the realized nodes (cut). Lowering the cone to loops is the rules' work (index.pat).
#include "lowering/lowering.h"
#include <fmt/format.h>
#include <llvm/ADT/DenseMap.h>
#include <llvm/ADT/DenseSet.h>

namespace patgrad::lowering {
namespace {

using uops::Node;

// The kernel that computes root into out: root's cone, cut where it meets a BUFFER or another realized node, each of
// those replaced by a PARAM numbered in the order a walk from root meets them (out is PARAM 0), a realized node's
// PARAM reshaped to its shape; a FUNCTION is its value. The index pass (index.pat) turns this into loops. Numbering
// by position rather than by buffer makes kernels that do the same work equal, so the kernel cache finds them.
Kernel cut(const UOp& root, const UOp& out, const llvm::DenseMap<const Node*, UOp>& buffer_of) {
  Kernel k;
  k.buffers.push_back(out);
  auto param = [&](const UOp& buffer) {
    auto at = llvm::find(k.buffers, buffer);
    if (at == k.buffers.end()) at = k.buffers.insert(at, buffer);
    int64_t size = std::get<uops::Ints>(buffer->arg)[1];
    return UOp::make(Op::PARAM, buffer->dtype, {}, uops::Ints{at - k.buffers.begin(), size});
  };
  bool reduces = false;
  std::function<UOp(const Node*)> replace = [&](const Node* n) -> UOp {
    if (auto it = buffer_of.find(n); it != buffer_of.end() && n != root.get())
      return UOp::make(Op::RESHAPE, n->dtype, {param(it->second)}, uops::Ints(n->shape.begin(), n->shape.end()));
    if (n->op == Op::BUFFER) return param(UOp::make(n->op, n->dtype, {}, n->arg));
    if (n->op == Op::FUNCTION) return uops::substitute(n->src[0], replace); // its inputs are autograd's
    reduces |= n->op == Op::REDUCE_AXIS;
    return {};
  };
  UOp body = uops::substitute(root, replace);
  k.ast = UOp::make(Op::SINK, DType::void_, {UOp::make(Op::OUTPUT, DType::void_, {param(out), body})});
  k.name = reduces ? "R" : "E";
  for (int64_t d : root->shape) fmt::format_to(std::back_inserter(k.name), "_{}", d);
  return k;
}

bool is_movement(Op op) {
  return op == Op::RESHAPE || op == Op::PERMUTE || op == Op::EXPAND || op == Op::PAD || op == Op::SHRINK ||
         op == Op::FLIP;
}
bool is_alu(Op op) {
  return !is_movement(op) && op != Op::REDUCE_AXIS && op != Op::CONTIGUOUS && op != Op::DETACH && op != Op::CAST &&
         op != Op::FUNCTION && uops::op_info(op).typing != uops::Typing::LEAF;
}

// The sources a node's value is computed from: a FUNCTION's inputs are there for autograd, and its value reads them
// through its first source.
llvm::ArrayRef<UOp> value_sources(const Node* n) {
  return n->op == Op::FUNCTION ? llvm::ArrayRef(n->src).take_front(1) : llvm::ArrayRef(n->src);
}

// Elementwise work per element of a node's fused cone (ALU ops, counted as a tree, saturating): realized nodes,
// buffers and reductions end a cone.
int64_t cone_cost(const UOp& n, llvm::DenseMap<const Node*, int64_t>& memo,
                  const llvm::DenseSet<const Node*>& realized) {
  constexpr int64_t cap = 1 << 20;
  if (auto it = memo.find(n.get()); it != memo.end()) return it->second;
  int64_t c = 0;
  if (n->op != Op::REDUCE_AXIS && n->op != Op::BUFFER && !realized.count(n.get())) {
    c = is_alu(n->op) ? 1 : 0;
    for (const UOp& s : value_sources(n.get())) c = std::min(cap, c + cone_cost(s, memo, realized));
  }
  return memo[n.get()] = c;
}

// A node is realized when it would be recomputed per element: a reduction that something downstream, before the next
// realized node, broadcasts (EXPAND) or reduces again; and elementwise work of two ops or more that is broadcast,
// where one pass over memory is cheaper than recomputing it (a pooling backward under a convolution's weight
// gradient; a bias and ReLU under the next convolution, which reads each element once per output channel and tap:
// MNIST's step 437 -> 407 ms); and a PAD of
// something in memory that is broadcast (a convolution's padded input, read once per output channel and tap), so
// that its gated loads and their index arithmetic run once per element instead of in the convolution's inner loop.
void mark_realized(const std::vector<UOp>& order, llvm::DenseSet<const Node*>& realized) {
  constexpr int64_t recompute_limit = 2; // ALU ops per element
  constexpr int64_t shared_limit = 8;    // ALU ops per element of work that two consumers, one reducing, would repeat
  llvm::DenseMap<const Node*, llvm::SmallVector<const Node*, 2>> consumers;
  for (const UOp& n : order)
    for (const UOp& s : value_sources(n.get())) consumers[s.get()].push_back(n.get());
  llvm::DenseMap<const Node*, int64_t> cost;
  for (const UOp& n : order) cone_cost(n, cost, realized);
  llvm::DenseSet<const Node*> reads; // nodes whose value comes from memory, not only from constants
  for (const UOp& n : order)
    if (n->op == Op::BUFFER || realized.count(n.get()) ||
        llvm::any_of(n->src, [&](const UOp& s) { return reads.count(s.get()); }))
      reads.insert(n.get());
  // some path to a realized node broadcasts this node (expanded) or broadcasts or reduces it (widened)
  llvm::DenseMap<const Node*, bool> widened, expanded;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const Node* n = it->get();
    bool w = false, e = false;
    for (const Node* c : consumers[n]) {
      bool through = !realized.count(c);
      w |= c->op == Op::EXPAND || c->op == Op::REDUCE_AXIS || (through && widened[c]);
      e |= c->op == Op::EXPAND || (through && expanded[c]);
    }
    widened[n] = w, expanded[n] = e;
    bool shared_work = is_alu(n->op) && w && consumers[n].size() >= 2 && cost[n] >= shared_limit;
    if ((n->op == Op::REDUCE_AXIS && w) || (is_alu(n->op) && e && cost[n] >= recompute_limit) || shared_work ||
        (n->op == Op::PAD && e && reads.count(n)) || n->op == Op::CONTIGUOUS)
      realized.insert(n);
  }
}

} // namespace

Schedule schedule(llvm::ArrayRef<UOp> roots, const std::function<UOp(DType, int64_t)>& new_buffer,
                  const std::function<UOp(const Node*)>& known) {
  llvm::DenseMap<const Node*, UOp> buffer_of;
  auto is_known = [&](const Node* n) { // a node realized before: its buffer, and none of its sources, is needed
    if (!known || n->op == Op::BUFFER) return false;
    if (buffer_of.count(n)) return true;
    UOp b = known(n);
    if (b) buffer_of[n] = b;
    return bool(b);
  };
  std::vector<UOp> order = uops::toposort(roots, is_known);
  llvm::DenseSet<const Node*> realized;
  for (const UOp& r : roots) realized.insert(r.get());
  for (auto& [n, b] : buffer_of) realized.insert(n);
  mark_realized(order, realized);
  Schedule s;
  std::vector<UOp> fresh; // realized here: sources come first, so a kernel's inputs are scheduled before it
  for (const UOp& n : order)
    if (realized.count(n.get()) && n->op != Op::BUFFER && !buffer_of.count(n.get())) {
      buffer_of[n.get()] = new_buffer(n->dtype, uops::prod(n->shape));
      fresh.push_back(n);
    }
  for (const UOp& n : fresh) {
    s.kernels.push_back(cut(n, buffer_of[n.get()], buffer_of));
    s.kernels.back().node = n;
  }
  for (const UOp& r : roots) s.outputs.push_back(r->op == Op::BUFFER ? r : buffer_of[r.get()]);
  return s;
}

} // namespace patgrad::lowering
