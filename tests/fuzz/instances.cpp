// Instances of rule patterns: the typing of a pattern (which op and dtype each node may take) and random graphs of
// that shape. Values are edge-biased and related to each other (a bound next to a constant, a multiple of another
// constant), because guards like `c1 % c2 == 0` or `x.vmin // c == x.vmax // c` almost never hold for independent
// uniform draws.
#include "tests/fuzz/instances.h"
#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <functional>
#include <limits>
#include <map>

namespace patgrad::fuzz {

using uops::op_info;
using uops::Typing;

Wide Rng::between(Wide lo, Wide hi) {
  using U = unsigned __int128;
  U span = U(hi - lo) + 1;
  U r = (U(next()) << 64) | next();
  return span == 0 ? Wide(r) : lo + Wide(r % span);
}

namespace {

// ---- typing: which ops and dtypes each pattern node may take

std::vector<DType> members(DTypeSet s) {
  std::vector<DType> out;
  for (int i = 0; i < uops::num_dtypes; i++)
    if (s & uops::bit(DType(i))) out.push_back(DType(i));
  return out;
}

bool literal_fits(const Pat& p, DType d) {
  if (p.literal_is_float) return uops::is_float(d);
  int64_t v = p.literal->i;
  if (uops::is_float(d)) return uops::float_value(d, double(v)).f == double(v);
  return uops::as_wide(d, uops::int_value(d, v)) == v; // bool: 0 and 1 only
}

Value literal_value(const Pat& p, DType d) {
  if (uops::is_float(d)) return uops::float_value(d, p.literal_is_float ? p.literal->f : double(p.literal->i));
  return uops::int_value(d, p.literal->i);
}

// The ops of a pattern node's set whose arity fits its sources; {-1} for a leaf.
std::vector<int> candidate_ops(const Pat& p) {
  if (p.ops.none()) return {-1};
  std::vector<int> out;
  for (int i = 0; i < uops::num_ops; i++) {
    int arity = op_info(Op(i)).arity;
    size_t n = p.src.size();
    bool fits = p.any_src || arity < 0 || (p.rest == -1 ? size_t(arity) == n : size_t(arity) >= n);
    if (p.ops.test(i) && fits) out.push_back(i);
  }
  return out;
}

void preorder(const Pat& p, std::vector<const Pat*>& out) {
  out.push_back(&p);
  for (const Pat& s : p.src) preorder(s, out);
}

// Pattern nodes with their ops chosen, plus implicit leaves for sources the pattern does not spell out.
struct ShapeBuilder {
  const std::vector<int>& ops; // by preorder index
  size_t next = 0;
  std::vector<ShapeNode> nodes;

  int add(const Pat& p) {
    int i = int(nodes.size());
    nodes.push_back({&p, ops[next++], {}, -1});
    std::vector<int> src;
    for (const Pat& s : p.src) src.push_back(add(s));
    int op = nodes[i].op;
    if (op >= 0 && (p.any_src || p.rest != -1)) {
      int arity = op_info(Op(op)).arity;
      size_t want = arity < 0 ? std::max<size_t>(src.size(), 2) : size_t(arity);
      while (src.size() < want) {
        src.push_back(int(nodes.size()));
        nodes.push_back({});
      }
    }
    nodes[i].src = std::move(src);
    return i;
  }

  // A repeated capture is generated once, from its first occurrence with an op (else its first).
  void link_captures() {
    for (size_t i = 0; i < nodes.size(); i++) {
      const Pat* p = nodes[i].pat;
      int best = int(i);
      for (size_t j = nodes.size(); p && p->slot >= 0 && j-- > 0;)
        if (nodes[j].pat && nodes[j].pat->slot == p->slot && (nodes[j].op >= 0 || nodes[best].op < 0)) best = int(j);
      nodes[i].defining = best;
    }
  }
};

struct UnionFind {
  std::vector<int> parent;
  std::vector<DTypeSet> allowed;
  explicit UnionFind(size_t n) : parent(n), allowed(n, uops::ALL) {
    for (size_t i = 0; i < n; i++) parent[i] = int(i);
  }
  int find(int i) { return parent[i] == i ? i : parent[i] = find(parent[i]); }
  void unite(int a, int b) {
    a = find(a), b = find(b);
    if (a != b) parent[b] = a, allowed[a] &= allowed[b];
  }
  void restrict(int i, DTypeSet s) { allowed[find(i)] &= s; }
};

// Unifies dtypes by the op table's typing, dtype variables and repeated captures.
UnionFind unify(const std::vector<ShapeNode>& nodes) {
  UnionFind uf(nodes.size());
  std::map<int, int> first_var, first_slot; // the first node of each dtype variable and capture
  for (size_t i = 0; i < nodes.size(); i++) {
    const ShapeNode& n = nodes[i];
    if (const Pat* p = n.pat) {
      DTypeSet own = p->dtypes;
      if (p->literal)
        for (DType d : members(own))
          if (!literal_fits(*p, d)) own &= ~uops::bit(d);
      uf.restrict(int(i), own);
      if (p->dtype_var >= 0) uf.unite(first_var.try_emplace(p->dtype_var, int(i)).first->second, int(i));
      if (p->slot >= 0) uf.unite(first_slot.try_emplace(p->slot, int(i)).first->second, int(i));
    }
    if (n.op < 0) continue;
    const uops::OpInfo& info = op_info(Op(n.op));
    switch (info.typing) {
    case Typing::SAME:
      uf.restrict(int(i), info.operands);
      for (int s : n.src) uf.unite(int(i), s);
      break;
    case Typing::CMP:
      uf.restrict(int(i), uops::BOOL);
      for (int s : n.src) uf.unite(n.src[0], s);
      if (!n.src.empty()) uf.restrict(n.src[0], info.operands);
      break;
    case Typing::SELECT:
      uf.restrict(int(i), info.operands);
      if (!n.src.empty()) uf.restrict(n.src[0], uops::BOOL);
      for (size_t k = 1; k < n.src.size(); k++) uf.unite(int(i), n.src[k]);
      break;
    case Typing::LEAF: uf.restrict(int(i), info.operands); break;
    default: break; // CONVERT and ops that check their own sources: invalid_reason decides per assignment
    }
  }
  return uf;
}

// Whether every node of the assignment could be built, as UOp::make would check it.
bool well_typed(const std::vector<ShapeNode>& nodes, const std::vector<DType>& dtypes) {
  for (size_t i = 0; i < nodes.size(); i++) {
    int op = nodes[i].op;
    if (op < 0) continue;
    uops::Arg arg;
    if (Op(op) == Op::CONST) arg = Value{};
    if (Op(op) == Op::DEFINE_VAR) arg = uops::Var{"v", 0, 0};
    llvm::SmallVector<UOp, 3> src;
    for (int s : nodes[i].src) src.push_back(UOp::constant(dtypes[s], Value{}));
    if (!uops::invalid_reason(Op(op), dtypes[i], src, arg).empty()) return false;
  }
  return true;
}

// Indices 0..total-1, or `cap` of them evenly spread.
std::vector<size_t> spread(size_t total, size_t cap) {
  std::vector<size_t> out;
  for (size_t k = 0; k < std::min(total, cap); k++) out.push_back(total <= cap ? k : k * total / cap);
  return out;
}

void add_dtype_assignments(const std::vector<ShapeNode>& nodes, size_t cap, std::vector<Assignment>& out) {
  UnionFind uf = unify(nodes);
  std::vector<int> classes;
  for (size_t i = 0; i < nodes.size(); i++)
    if (uf.find(int(i)) == int(i)) classes.push_back(int(i));
  std::vector<std::vector<DType>> choices;
  size_t total = 1;
  for (int c : classes) {
    choices.push_back(members(uf.allowed[c]));
    total *= choices.back().size();
    if (total == 0) return;
  }
  std::vector<std::vector<DType>> valid;
  for (size_t index : spread(total, 4096)) {
    std::vector<DType> per_class(classes.size());
    for (size_t k = 0; k < classes.size(); k++, index /= choices[k - 1].size())
      per_class[k] = choices[k][index % choices[k].size()];
    std::vector<DType> dtypes(nodes.size());
    for (size_t i = 0; i < nodes.size(); i++)
      dtypes[i] = per_class[std::find(classes.begin(), classes.end(), uf.find(int(i))) - classes.begin()];
    if (well_typed(nodes, dtypes)) valid.push_back(std::move(dtypes));
  }
  for (size_t k : spread(valid.size(), cap)) out.push_back(Assignment{nodes, valid[k]});
}

// ---- values

constexpr int index_bits = 40;

// The range draws stay in: the dtype's, and +-2^40 for index. index means unbounded integers, but the evaluator
// checks it as 64-bit: larger values only make products overflow, and a point where the left side overflows
// tests nothing.
std::pair<Wide, Wide> window(DType d) {
  if (d == DType::index) return {-(Wide(1) << index_bits), Wide(1) << index_bits};
  return {uops::dtype_min(d), uops::dtype_max(d)};
}

int value_bits(DType d) { return d == DType::index ? index_bits : uops::bits(d); }

// Wraps to a fixed width (as the program would), clamps to the index window.
Wide fit(DType d, Wide v) {
  if (d != DType::index) return uops::as_wide(d, uops::int_value(d, v));
  auto [lo, hi] = window(d);
  return std::clamp(v, lo, hi);
}

Wide power_of_two(DType d, Rng& rng) { return Wide(1) << (1 + rng.below(value_bits(d) - 1)); }

Wide int_edge(DType d, Rng& rng) {
  auto [lo, hi] = window(d);
  Wide p = power_of_two(d, rng), one = rng.chance(50) ? 1 : -1;
  Wide edges[] = {0, 1, -1, 2, -2, lo, lo + 1, hi, hi - 1, p, p + one, -p, -p + one};
  return edges[rng.below(std::size(edges))];
}

// A value related to one already in the instance: itself, a neighbour, a multiple, a divisor, a sum, a power of two.
Wide derive(Wide p, const std::vector<Wide>& pool, Rng& rng) {
  Wide k = 2 + Wide(rng.below(3));
  switch (rng.below(9)) {
  case 0: return p;
  case 1: return -p;
  case 2: return p + 1;
  case 3: return p - 1;
  case 4: return rng.chance(50) ? p * k : -p * k;
  case 5:
    for (Wide q = 2 + Wide(rng.below(7)); q <= 16; q++)
      if (p % q == 0) return p / q;
    return p;
  case 6: { // products of two values beyond 2^62 are too large to mean anything (and could overflow 128 bits)
    Wide q = rng.pick(pool), big = Wide(1) << 62;
    return p > -big && p < big && q > -big && q < big ? p * q : p;
  }
  case 7: return p + rng.pick(pool);
  default: return p >= 0 && p < 63 ? Wide(1) << int(p) : p;
  }
}

Wide draw_int(DType d, const std::vector<Wide>& pool, Rng& rng) {
  if (uops::is_bool(d)) return Wide(rng.below(2));
  auto [lo, hi] = window(d);
  Wide v;
  switch (rng.below(8)) {
  case 0:
  case 1:
  case 2: v = int_edge(d, rng); break;
  case 3:
  case 4: v = pool.empty() ? int_edge(d, rng) : derive(rng.pick(pool), pool, rng); break;
  case 5: v = rng.between(-16, 16); break;
  case 6: v = rng.between(lo, hi); break;
  default: { // log-uniform magnitude
    Wide m = power_of_two(d, rng);
    v = rng.between(-m, m);
  }
  }
  return fit(d, v);
}

double draw_float(DType d, const std::vector<Wide>& pool, Rng& rng) {
  uint64_t inf_bits = uops::float_bits(d, INFINITY);
  uint64_t exponent_one = uops::float_bits(d, 2.0) - uops::float_bits(d, 1.0); // the lowest exponent bit
  uint64_t mask = uops::bits(d) == 64 ? ~uint64_t(0) : (uint64_t(1) << uops::bits(d)) - 1;
  double sign = rng.chance(50) ? -1.0 : 1.0, v;
  switch (rng.below(14)) {
  case 0: v = std::numeric_limits<double>::quiet_NaN(); break;
  case 1: v = INFINITY; break;
  case 2:
  case 3: v = 0.0; break;
  case 4: v = double(1 + rng.below(3)); break;
  case 5: v = 0.5; break;
  case 6: v = uops::float_from_bits(d, 1 + rng.below(3)); break;                            // denormals
  case 7: v = uops::float_from_bits(d, exponent_one + rng.below(2)); break;                 // smallest normals
  case 8: v = uops::float_from_bits(d, inf_bits - 1 - rng.below(2)); break;                 // largest finite
  case 9: v = uops::float_from_bits(d, uops::float_bits(d, 1.0) + 1 + rng.below(2)); break; // just above 1
  case 10:
  case 11: v = uops::float_from_bits(d, rng.next() & mask); break;
  case 12: v = double(rng.between(-1000, 1000)) / 8; break;
  default: v = pool.empty() ? 3.0 : double(rng.pick(pool)); break;
  }
  double r = uops::float_value(d, sign * v).f;
  return std::isnan(r) ? std::numeric_limits<double>::quiet_NaN() : r;
}

Value draw_value(DType d, const std::vector<Wide>& pool, Rng& rng) {
  if (uops::is_float(d)) return Value{0, draw_float(d, pool, rng)};
  return uops::int_value(d, draw_int(d, pool, rng));
}

Wide positive(const std::vector<Wide>& pool, Rng& rng) {
  std::vector<Wide> pos;
  for (Wide v : pool)
    if (v > 0) pos.push_back(v);
  return pos.empty() || rng.chance(20) ? Wide(1 + rng.below(16)) : rng.pick(pos);
}

// Bounds of a var: the whole range, a narrow window somewhere, or one placed against a constant of the instance
// (inside one period of c, [0, c-1], a single point) so that range guards hold.
std::pair<Wide, Wide> draw_bounds(DType d, const std::vector<Wide>& pool, Rng& rng) {
  auto [lo, hi] = window(d);
  Wide a, b;
  switch (rng.below(7)) {
  case 0: return {lo, hi};
  case 1: {
    a = draw_int(d, pool, rng);
    Wide widths[] = {0, 1, 2, rng.between(0, 16), rng.between(0, power_of_two(d, rng))};
    b = a + widths[rng.below(std::size(widths))];
    break;
  }
  case 2: {
    Wide c = positive(pool, rng);
    std::pair<Wide, Wide> around[] = {{0, c - 1}, {0, c}, {1, c}, {-c, c}, {-c, -1}, {-c + 1, 0}};
    std::tie(a, b) = around[rng.below(std::size(around))];
    break;
  }
  case 3: {
    Wide c = positive(pool, rng), k = rng.chance(50) ? rng.between(-3, 3) : draw_int(d, pool, rng) / c;
    Wide r1 = rng.between(0, c - 1), r2 = rng.between(r1, c - 1);
    a = k * c + r1, b = k * c + r2;
    break;
  }
  case 4: a = b = pool.empty() ? draw_int(d, pool, rng) : derive(rng.pick(pool), pool, rng); break;
  default: a = draw_int(d, pool, rng), b = draw_int(d, pool, rng); break;
  }
  if (a > b) std::swap(a, b);
  a = std::clamp(a, lo, hi), b = std::clamp(b, lo, hi);
  return {a, b};
}

// ---- instances

struct Generator {
  const Assignment& a;
  Rng& rng;
  const Fixed* fixed;
  std::vector<Wide> pool; // integers of the rule and of this instance so far
  std::vector<std::optional<Value>> const_values;
  std::vector<UOp> made;
  Instance inst;
  std::string names = "abcdefghijklmnopqrstuvwxyz";
  bool ok = true;

  std::string fresh_name() {
    size_t k = inst.vars.size();
    return names[k % names.size()] + (k < names.size() ? "" : std::to_string(k / names.size()));
  }

  UOp make(Op op, DType d, llvm::ArrayRef<UOp> src) {
    if (!uops::invalid_reason(op, d, src, {}).empty()) {
      ok = false;
      return UOp::constant(d, Value{});
    }
    return UOp::make(op, d, src);
  }

  // A DEFINE_VAR over [lo, hi] (within int64, which Var holds) and the values tried for it.
  UOp var(DType d, Wide lo, Wide hi, bool exhaustive) {
    hi = std::clamp<Wide>(hi, INT64_MIN, INT64_MAX), lo = std::clamp<Wide>(lo, INT64_MIN, hi);
    UOp v = UOp::var(fresh_name(), int64_t(lo), int64_t(hi), d);
    InstanceVar iv{v, {}, exhaustive || v->vmax - v->vmin < 16};
    if (iv.exhaustive)
      for (Wide x = v->vmin; x <= v->vmax; x++) iv.candidates.push_back(uops::int_value(d, x));
    else {
      std::vector<Wide> picks = {v->vmin, v->vmax, v->vmin + 1, v->vmax - 1, 0, 1, -1};
      for (int k = 0; k < 4; k++) picks.push_back(rng.between(v->vmin, v->vmax));
      for (int k = 0; k < 4 && !pool.empty(); k++) picks.push_back(rng.pick(pool) + Wide(rng.below(3)) - 1);
      for (Wide x : picks)
        if (x >= v->vmin && x <= v->vmax) iv.candidates.push_back(uops::int_value(d, x));
      std::sort(iv.candidates.begin(), iv.candidates.end(), [](Value x, Value y) { return x.i < y.i; });
      iv.candidates.erase(std::unique(iv.candidates.begin(), iv.candidates.end()), iv.candidates.end());
    }
    pool.push_back(v->vmin), pool.push_back(v->vmax);
    inst.vars.push_back(std::move(iv));
    return v;
  }

  // A leaf of any bit pattern of a dtype DEFINE_VAR cannot have (floats, u64 above 2^63): BITCAST of a full-range
  // var of the same width, tried at the bit patterns of drawn values.
  UOp bits_leaf(DType d) {
    DType raw = uops::bits(d) == 16 ? DType::i16 : uops::bits(d) == 32 ? DType::i32 : DType::i64;
    UOp v = UOp::var(fresh_name(), int64_t(uops::dtype_min(raw)), int64_t(uops::dtype_max(raw)), raw);
    InstanceVar iv{v, {}, false, d};
    for (int k = 0; k < 10; k++) {
      Value x = draw_value(d, pool, rng);
      uint64_t b = uops::is_float(d) ? uops::float_bits(d, x.f) : uint64_t(x.i);
      iv.candidates.push_back(uops::int_value(raw, Wide(b)));
    }
    inst.vars.push_back(std::move(iv));
    return make(Op::BITCAST, d, {v});
  }

  // A bool that is not a constant: CAST<bool> of a small var, so that its range can be {0}, {1} or both.
  UOp bool_leaf() {
    std::pair<int, int> bounds[] = {{0, 1}, {0, 1}, {1, 1}, {0, 0}, {-1, 1}, {1, 3}, {-2, 0}};
    auto [lo, hi] = bounds[rng.below(std::size(bounds))];
    return make(Op::CAST, DType::bool_, {var(DType::i8, lo, hi, true)});
  }

  // A small expression over fresh vars, so that guards on vmin and vmax also see ranges that range analysis derived.
  UOp compound_leaf(DType d) {
    std::vector<Op> ops;
    for (int i = 0; i < uops::num_ops; i++) {
      const uops::OpInfo& info = op_info(Op(i));
      Value one = uops::int_value(d, 1), args[] = {one, one};
      bool scalar =
          info.typing == Typing::SAME && (info.arity == 1 || info.arity == 2) && (info.operands & uops::bit(d));
      if (scalar && uops::eval(Op(i), d, d, std::span(args, size_t(info.arity)))) ops.push_back(Op(i));
    }
    if (rng.chance(20) || ops.empty()) {
      DType from = rng.pick(members(uops::INT));
      auto [lo, hi] = draw_bounds(from, pool, rng);
      return make(Op::CAST, d, {var(from, lo, hi, false)});
    }
    std::vector<Op> wanted; // the ops a guard asks for (`y.op == ADD`), often
    for (Op op : a.guard_ops)
      if (std::find(ops.begin(), ops.end(), op) != ops.end()) wanted.push_back(op);
    Op op = !wanted.empty() && rng.chance(60) ? rng.pick(wanted) : rng.pick(ops);
    llvm::SmallVector<UOp, 2> src;
    for (int k = 0; k < op_info(op).arity; k++) {
      auto [lo, hi] = draw_bounds(d, pool, rng);
      src.push_back(rng.chance(25) ? UOp::constant(d, draw_value(d, pool, rng)) : var(d, lo, hi, false));
    }
    return make(op, d, src);
  }

  UOp leaf(int i, DType d) {
    LeafMode mode = fixed ? fixed->leaves[i] : LeafMode::RANDOM;
    if (uops::is_bool(d)) return rng.chance(15) ? UOp::constant(d, draw_value(d, pool, rng)) : bool_leaf();
    if (uops::is_float(d)) return rng.chance(15) ? UOp::constant(d, draw_value(d, pool, rng)) : bits_leaf(d);
    if (mode == LeafMode::FULL) return var(d, uops::dtype_min(d), uops::dtype_max(d), true);
    if (mode == LeafMode::NARROW) {
      auto [lo, hi] = draw_bounds(d, pool, rng);
      return var(d, lo, hi, true);
    }
    if (rng.chance(12)) return UOp::constant(d, draw_value(d, pool, rng));
    if (rng.chance(a.guard_ops.empty() ? 10 : 30)) return compound_leaf(d);
    auto [lo, hi] = draw_bounds(d, pool, rng);
    if (d == DType::u64 && hi == uops::dtype_max(d) && rng.chance(50)) return bits_leaf(d);
    return var(d, lo, hi, false);
  }

  UOp build(int i) {
    int j = a.nodes[i].defining;
    if (made[j]) return made[j];
    const ShapeNode& n = a.nodes[j];
    DType d = a.dtypes[j];
    if (n.op < 0) return made[j] = leaf(j, d);
    if (Op(n.op) == Op::CONST) return made[j] = UOp::constant(d, *const_values[j]);
    if (Op(n.op) == Op::DEFINE_VAR) {
      auto [lo, hi] = draw_bounds(d, pool, rng);
      return made[j] = var(d, lo, hi, false);
    }
    llvm::SmallVector<UOp, 3> src;
    for (int s : n.src) src.push_back(build(s));
    return made[j] = make(Op(n.op), d, src);
  }

  std::optional<Instance> run() {
    for (size_t k = names.size() - 1; k > 0; k--) std::swap(names[k], names[rng.below(k + 1)]);
    const_values.resize(a.nodes.size());
    made.resize(a.nodes.size());
    for (size_t i = 0; i < a.nodes.size(); i++) { // constants first: leaf bounds are drawn against them
      const ShapeNode& n = a.nodes[i];
      if (n.defining != int(i) || n.op != int(Op::CONST)) continue;
      DType d = a.dtypes[i];
      if (n.pat && n.pat->literal)
        const_values[i] = literal_value(*n.pat, d);
      else if (fixed && fixed->consts[i])
        const_values[i] = fixed->consts[i];
      else
        const_values[i] = draw_value(d, pool, rng);
      if (!uops::is_float(d)) pool.push_back(uops::as_wide(d, *const_values[i]));
    }
    inst.lhs = build(0);
    if (!ok) return std::nullopt;
    return std::move(inst);
  }
};

void collect_guard(const rewriter::Expr& e, Assignment& a) {
  if (e.kind == rewriter::Expr::INT) a.constants.push_back(e.ival);
  if (e.kind == rewriter::Expr::OP) a.guard_ops.push_back(e.op);
  for (const auto& k : e.kids) collect_guard(*k, a);
}

bool is_8bit(DType d) { return d == DType::i8 || d == DType::u8; }

} // namespace

std::string Assignment::str(const Rule& rule) const {
  std::function<std::string(int)> show = [&](int i) {
    const ShapeNode& n = nodes[i];
    std::string name = n.pat && n.pat->slot >= 0 ? rule.slot_names[n.pat->slot] : "";
    std::string ty = fmt::format("<{}>", uops::name(dtypes[i]));
    if (n.pat && n.pat->literal) return uops::format_value(dtypes[i], literal_value(*n.pat, dtypes[i])) + ty;
    if (n.op < 0) return (name.empty() ? "_" : name) + ty;
    std::string s = (name.empty() ? "" : name + ":") + std::string(op_info(Op(n.op)).name) + ty;
    if (n.src.empty()) return s;
    s += "(";
    for (size_t k = 0; k < n.src.size(); k++) s += (k ? ", " : "") + show(n.src[k]);
    return s + ")";
  };
  return show(0);
}

bool Assignment::has_8bit() const { return std::any_of(dtypes.begin(), dtypes.end(), is_8bit); }

std::vector<Assignment> assignments(const Rule& rule, size_t cap, std::string& why_none) {
  std::vector<const Pat*> pats;
  preorder(rule.pattern, pats);
  std::vector<std::vector<int>> op_choices;
  size_t total = 1;
  for (const Pat* p : pats) {
    if (p->arg) {
      why_none = "the generator cannot build a pattern that matches an arg";
      return {};
    }
    op_choices.push_back(candidate_ops(*p));
    total *= op_choices.back().size();
  }
  std::vector<Assignment> out;
  size_t op_cap = 64, dtype_cap = std::max<size_t>(8, cap / std::min(total, op_cap));
  for (size_t index : spread(total, op_cap)) {
    std::vector<int> ops(pats.size());
    for (size_t k = 0; k < pats.size(); k++, index /= op_choices[k - 1].size())
      ops[k] = op_choices[k][index % op_choices[k].size()];
    ShapeBuilder b{ops};
    b.add(rule.pattern);
    b.link_captures();
    add_dtype_assignments(b.nodes, dtype_cap, out);
  }
  Assignment seeds;
  for (const Pat* p : pats)
    if (p->literal && !p->literal_is_float) seeds.constants.push_back(p->literal->i);
  if (rule.guard) collect_guard(*rule.guard, seeds);
  for (Assignment& a : out) a.constants = seeds.constants, a.guard_ops = seeds.guard_ops;
  if (out.empty()) why_none = "no op and dtype assignment satisfies the pattern's typing";
  return out;
}

std::vector<int> exhaustive_dims(const Assignment& a) {
  std::vector<int> consts, leaves;
  for (size_t i = 0; i < a.nodes.size(); i++) {
    const ShapeNode& n = a.nodes[i];
    if (n.defining != int(i) || !is_8bit(a.dtypes[i])) continue;
    if (n.op == int(Op::CONST) && !(n.pat && n.pat->literal)) consts.push_back(int(i));
    if (n.op < 0) leaves.push_back(int(i));
  }
  consts.insert(consts.end(), leaves.begin(), leaves.end());
  if (consts.size() > 2) consts.resize(2);
  return consts;
}

std::optional<Instance> make_instance(const Assignment& a, Rng& rng, const Fixed* fixed) {
  Generator g{a, rng, fixed, a.constants};
  return g.run();
}

} // namespace patgrad::fuzz
