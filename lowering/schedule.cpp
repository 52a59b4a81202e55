// Scheduling: which nodes of a tensor graph get their own buffer, and one kernel for each. A kernel computes its node
// at every index of its shape; movement ops become index arithmetic on the way down to the loads (RESHAPE flattens
// and unflattens, PERMUTE reorders, EXPAND drops an index, PAD gates, SHRINK offsets, FLIP mirrors), elementwise ops
// apply to what their sources compute, and a reduction that is not realized becomes a REDUCE over new ranges. So
// everything fuses into its consumer except what would be recomputed per element of a broadcast or reduced again.
#include "lowering/lowering.h"
#include <fmt/format.h>
#include <llvm/ADT/DenseMap.h>
#include <llvm/ADT/DenseSet.h>
#include <map>

namespace patgrad::lowering {
namespace {

using uops::Ints;
using uops::Node;

// Float sums of more than this many elements are summed as a tree (KernelBuilder::tree_sum).
constexpr int64_t sum_block = 1024;

UOp idx_const(int64_t v) { return UOp::constant(DType::index, v); }
UOp add(const UOp& a, const UOp& b) { return UOp::alu(Op::ADD, {a, b}); }
UOp mul(const UOp& a, const UOp& b) { return UOp::alu(Op::MUL, {a, b}); }

// Row-major flattening of an index over shape; size-1 axes contribute nothing.
UOp flatten(llvm::ArrayRef<UOp> idx, llvm::ArrayRef<int64_t> shape) {
  UOp flat = idx_const(0);
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    if (shape[i] != 1) flat = add(flat, mul(idx[i], idx_const(stride)));
    stride *= shape[i];
  }
  return flat;
}

std::vector<UOp> unflatten(const UOp& flat, llvm::ArrayRef<int64_t> shape) {
  std::vector<UOp> idx(shape.size());
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    idx[i] = shape[i] == 1 ? idx_const(0)
                           : UOp::alu(Op::MOD, {UOp::alu(Op::IDIV, {flat, idx_const(stride)}), idx_const(shape[i])});
    stride *= shape[i];
  }
  return idx;
}

// Builds one kernel: the value of `root` at every index of its shape.
struct KernelBuilder {
  const llvm::DenseMap<const Node*, UOp>& buffer_of; // realized node -> its BUFFER
  const UOp& root;
  Kernel kernel;
  int64_t next_range = 0;
  bool has_reduce = false;
  std::map<std::vector<const Node*>, UOp> memo;

  UOp param(const UOp& buffer) {
    for (size_t i = 0; i < kernel.buffers.size(); i++)
      if (kernel.buffers[i] == buffer) return UOp::make(Op::DEFINE_GLOBAL, buffer->dtype, {}, int64_t(i));
    kernel.buffers.push_back(buffer);
    return UOp::make(Op::DEFINE_GLOBAL, buffer->dtype, {}, int64_t(kernel.buffers.size() - 1));
  }

  UOp load(const UOp& buffer, const UOp& n, llvm::ArrayRef<UOp> idx, const UOp& valid) {
    UOp g = param(buffer);
    UOp flat = flatten(idx, n->shape);
    if (valid->op == Op::CONST && valid->value().i) return UOp::make(Op::LOAD, buffer->dtype, {g, flat});
    return UOp::make(Op::LOAD, buffer->dtype, {g, flat, valid});
  }

  // The value of n at idx, where valid says the index is in bounds (loads are gated by it).
  UOp value(const UOp& n, std::vector<UOp> idx, const UOp& valid) {
    std::vector<const Node*> key{n.get(), valid.get()};
    for (const UOp& i : idx) key.push_back(i.get());
    if (auto it = memo.find(key); it != memo.end()) return it->second;
    UOp v = compute(n, idx, valid);
    memo[key] = v;
    return v;
  }

  UOp compute(const UOp& n, std::vector<UOp>& idx, const UOp& valid) {
    if (auto it = buffer_of.find(n.get()); it != buffer_of.end() && !(n == root))
      return load(it->second, n, idx, valid);
    if (n->op == Op::BUFFER) return load(n, n, idx, valid);
    const uops::Shape& in = n->src.empty() ? n->shape : n->src[0]->shape;
    const Ints* a = std::get_if<Ints>(&n->arg);
    switch (n->op) {
    case Op::CONST: return n;
    case Op::CONTIGUOUS:
    case Op::DETACH: return value(n->src[0], idx, valid);
    case Op::RESHAPE: return value(n->src[0], unflatten(flatten(idx, n->shape), in), valid);
    case Op::PERMUTE: {
      std::vector<UOp> s(idx.size());
      for (size_t i = 0; i < idx.size(); i++) s[(*a)[i]] = idx[i];
      return value(n->src[0], s, valid);
    }
    case Op::EXPAND:
      for (size_t i = 0; i < idx.size(); i++)
        if (in[i] == 1) idx[i] = idx_const(0);
      return value(n->src[0], idx, valid);
    case Op::SHRINK:
      for (size_t i = 0; i < idx.size(); i++) idx[i] = add(idx[i], idx_const((*a)[2 * i]));
      return value(n->src[0], idx, valid);
    case Op::FLIP:
      for (size_t i = 0; i < idx.size(); i++)
        if ((*a)[i]) idx[i] = add(idx_const(in[i] - 1), mul(idx[i], idx_const(-1)));
      return value(n->src[0], idx, valid);
    case Op::PAD: return pad(n, idx, valid, *a);
    case Op::REDUCE_AXIS: return reduce(n, idx, valid, *a);
    default: break;
    }
    llvm::SmallVector<UOp, 3> src;
    for (const UOp& s : n->src) src.push_back(value(s, idx, valid));
    return UOp::make(n->op, n->dtype, src, n->arg);
  }

  UOp pad(const UOp& n, std::vector<UOp>& idx, const UOp& valid, const Ints& a) {
    const uops::Shape& in = n->src[0]->shape;
    UOp inside = UOp::constant(DType::bool_, 1);
    for (size_t i = 0; i < idx.size(); i++) {
      if (a[2 * i] == 0 && a[2 * i + 1] == 0) continue;
      UOp shifted = add(idx[i], idx_const(-a[2 * i]));
      UOp lo = UOp::alu(Op::CMPLT, {shifted, idx_const(0)});
      UOp ok = UOp::alu(Op::AND, {UOp::alu(Op::XOR, {lo, UOp::constant(DType::bool_, 1)}),
                                  UOp::alu(Op::CMPLT, {shifted, idx_const(in[i])})});
      inside = UOp::alu(Op::AND, {inside, ok});
      idx[i] = shifted;
    }
    UOp gate = UOp::alu(Op::AND, {valid, inside});
    UOp v = value(n->src[0], idx, gate);
    return UOp::alu(Op::WHERE, {inside, v, UOp::constant(n->dtype, uops::Value{})});
  }

  UOp reduce(const UOp& n, std::vector<UOp>& idx, const UOp& valid, const Ints& a) {
    const uops::Shape& in = n->src[0]->shape;
    has_reduce = true;
    Op op = Op(a[0]);
    Ints reduced;
    for (size_t k = 1; k < a.size(); k++) reduced.push_back(in[a[k]]);
    // past int64 only where another axis is 0: then there is nothing to sum, a tree or not
    int64_t count = uops::checked_prod(reduced).value_or(0);
    if (op == Op::ADD && uops::is_float(n->dtype) && count > sum_block) return tree_sum(n, idx, valid, a);
    llvm::SmallVector<UOp, 4> src{UOp()};
    for (size_t k = 1; k < a.size(); k++) {
      UOp r = UOp::make(Op::RANGE, DType::index, {idx_const(in[a[k]])}, next_range++);
      idx[a[k]] = r;
      src.push_back(r);
    }
    src[0] = value(n->src[0], idx, valid);
    return UOp::make(Op::REDUCE, n->dtype, src, int64_t(op));
  }

  // A float sum of more than sum_block elements, as a tree of sums of at most sum_block each: a REDUCE over the
  // innermost ranges, inside a REDUCE over the next, and so on. One accumulator over n elements loses about n
  // roundings' worth (a float sum of ones stalls at 2^24); the tree's error grows with the logarithm of n, as a
  // pairwise sum's does, and needs no memory. Reduced axes fill the levels innermost first; an axis longer than a
  // level is split (a divisor where one is near, else the axis is padded with zeros and the loads gated).
  UOp tree_sum(const UOp& n, std::vector<UOp>& idx, const UOp& valid, const Ints& a) {
    const uops::Shape& in = n->src[0]->shape;
    std::vector<llvm::SmallVector<UOp, 4>> levels(1); // innermost first; each level's ranges outermost first
    int64_t level_size = 1;
    UOp inside = UOp::constant(DType::bool_, 1);
    for (size_t k = a.size(); k-- > 1;) {
      int64_t left = in[a[k]], stride = 1;
      UOp at = idx_const(0);
      while (left > 1) {
        if (level_size > 1 && left > sum_block / level_size) { // does not fit beside what the level holds
          levels.emplace_back();
          level_size = 1;
        }
        int64_t piece = left <= sum_block ? left : split(left);
        UOp r = UOp::make(Op::RANGE, DType::index, {idx_const(piece)}, next_range++);
        levels.back().insert(levels.back().begin(), r);
        at = add(at, mul(r, idx_const(stride)));
        stride *= piece, level_size *= piece, left = (left + piece - 1) / piece;
      }
      if (stride > in[a[k]]) inside = UOp::alu(Op::AND, {inside, UOp::alu(Op::CMPLT, {at, idx_const(in[a[k]])})});
      idx[a[k]] = at;
    }
    UOp v;
    if (inside->op == Op::CONST)
      v = value(n->src[0], idx, valid);
    else
      v = UOp::alu(Op::WHERE, {inside, value(n->src[0], idx, UOp::alu(Op::AND, {valid, inside})),
                               UOp::constant(n->dtype, uops::Value{})});
    for (const auto& level : levels) {
      llvm::SmallVector<UOp, 4> src{v};
      src.append(level.begin(), level.end());
      v = UOp::make(Op::REDUCE, n->dtype, src, int64_t(Op::ADD));
    }
    return v;
  }

  // The length of the inner piece of an axis longer than sum_block: its largest divisor of at least sum_block / 8
  // (no gate), else sum_block (the last piece is padded).
  static int64_t split(int64_t length) {
    for (int64_t d = sum_block; d >= sum_block / 8; d--)
      if (length % d == 0) return d;
    return sum_block;
  }

  Kernel build(const UOp& out) {
    kernel.buffers.push_back(out);
    std::vector<UOp> idx;
    for (int64_t d : root->shape) idx.push_back(UOp::make(Op::RANGE, DType::index, {idx_const(d)}, next_range++));
    UOp v = value(root, idx, UOp::constant(DType::bool_, 1));
    UOp g = UOp::make(Op::DEFINE_GLOBAL, out->dtype, {}, int64_t(0));
    UOp store = UOp::make(Op::STORE, DType::void_, {g, flatten(idx, root->shape), v});
    if (!idx.empty()) { // the output loops close after the store
      llvm::SmallVector<UOp, 5> end{store};
      end.append(idx.begin(), idx.end());
      store = UOp::make(Op::END, DType::void_, end);
    }
    kernel.ast = UOp::make(Op::SINK, DType::void_, {store});
    std::string name(1, has_reduce ? 'R' : 'E');
    for (int64_t d : root->shape) fmt::format_to(std::back_inserter(name), "_{}", d);
    kernel.name = name;
    return std::move(kernel);
  }
};

bool is_movement(Op op) {
  return op == Op::RESHAPE || op == Op::PERMUTE || op == Op::EXPAND || op == Op::PAD || op == Op::SHRINK ||
         op == Op::FLIP;
}
bool is_alu(Op op) {
  return !is_movement(op) && op != Op::REDUCE_AXIS && op != Op::CONTIGUOUS && op != Op::DETACH && op != Op::CAST &&
         uops::op_info(op).typing != uops::Typing::LEAF;
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
    for (const UOp& s : n->src) c = std::min(cap, c + cone_cost(s, memo, realized));
  }
  return memo[n.get()] = c;
}

// A node is realized when it would be recomputed per element: a reduction that something downstream, before the next
// realized node, broadcasts (EXPAND) or reduces again; and enough elementwise work that is broadcast, where one pass
// over memory is cheaper than recomputing it (a pooling backward under a convolution's weight gradient).
void mark_realized(const std::vector<UOp>& order, llvm::DenseSet<const Node*>& realized) {
  constexpr int64_t recompute_limit = 8; // ALU ops per element
  llvm::DenseMap<const Node*, llvm::SmallVector<const Node*, 2>> consumers;
  for (const UOp& n : order)
    for (const UOp& s : n->src) consumers[s.get()].push_back(n.get());
  llvm::DenseMap<const Node*, int64_t> cost;
  for (const UOp& n : order) cone_cost(n, cost, realized);
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
    if ((n->op == Op::REDUCE_AXIS && w) || (is_alu(n->op) && e && cost[n] >= recompute_limit) ||
        n->op == Op::CONTIGUOUS)
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
    KernelBuilder b{buffer_of, n};
    s.kernels.push_back(b.build(buffer_of[n.get()]));
    s.kernels.back().node = n;
  }
  for (const UOp& r : roots) s.outputs.push_back(r->op == Op::BUFFER ? r : buffer_of[r.get()]);
  return s;
}

} // namespace patgrad::lowering
