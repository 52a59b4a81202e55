// One instance of a rule as Z3 terms: the pattern (LHS) from fresh variables, then the guard (guards.cpp), then the
// result (RHS) exactly as match.cpp's Builder builds it, dtypes of constants included. Alive-style refinement: the
// LHS may be assumed defined, the RHS must be defined and equal wherever the rule fires.
#include "tests/prove/prove.h"
#include <fmt/format.h>
#include <mutex>

namespace patgrad::prove {
namespace {

bool is_bitwise(Op op) { return op == Op::AND || op == Op::OR || op == Op::XOR; }

bool expr_bitwise(const Expr& e) {
  if (e.kind == Expr::BINARY && is_bitwise(e.op)) return true;
  for (const auto& k : e.kids)
    if (expr_bitwise(*k)) return true;
  return false;
}

bool build_bitwise(const Build& b) {
  if ((b.kind == Build::NODE && b.op_of_slot < 0 && is_bitwise(b.op)) || (b.value_expr && expr_bitwise(*b.value_expr)))
    return true;
  for (const Build& s : b.src)
    if (build_bitwise(s)) return true;
  return false;
}

} // namespace

bool mentions_bitwise(const Rule& rule, const Instance& inst) {
  for (auto op : inst.ops)
    if (op && is_bitwise(*op)) return true;
  return (rule.guard && expr_bitwise(*rule.guard)) || build_bitwise(rule.result);
}

Encoder::Encoder(z3::context& ctx, const Rule& r, const Instance& i, int index_bits, bool abstract)
    : c(ctx), rule(r), inst(i), sem(ctx, index_bits), nodes(preorder(r.pattern)), slots(r.num_slots),
      assumptions(ctx.bool_val(true)), lhs_ok(ctx.bool_val(true)), fires(ctx.bool_val(true)),
      rhs_ok(ctx.bool_val(true)) {
  sem.bitwise_index = mentions_bitwise(r, i);
  sem.abstract_division = abstract;
}

bool Encoder::encode() {
  lhs = pattern(rule.pattern);
  if (!matchable) return false;
  if (rule.guard) {
    GVal g = guard(*rule.guard);
    fires = g.ok && truthy(g);
  }
  auto built = build(rule.result, inst.dtypes[0]);
  if (!built) {
    buildable = false;
    return true;
  }
  if (built->v.dtype != lhs->dtype) {
    result_dtype_error =
        fmt::format("the result is {}, the node it replaces {}", uops::name(built->v.dtype), uops::name(lhs->dtype));
    return true;
  }
  rhs = built->v;
  fires = fires && built->fires;
  rhs_ok = built->ok;
  finish_slots();
  sem.add_congruences();
  return true;
}

z3::expr Encoder::premise() const { return assumptions && sem.fits && sem.lemmas() && lhs_ok && fires; }

z3::expr Encoder::query() const { return premise() && !(rhs_ok && sem.equal(*lhs, *rhs)); }

z3::expr Encoder::fresh(const std::string& name, DType d, bool is_op) {
  z3::expr e = c.constant(name.c_str(), is_op ? c.bv_sort(8) : sem.sort(d)); // ops fit 8 bits (uops/ops.h)
  names.push_back({name, d, e, is_op});
  return e;
}

z3::expr Encoder::fresh_leaf(const std::string& name, DType d) {
  z3::expr e = sem.leaf(name, d);
  names.push_back({name, d, e});
  return e;
}

// ---- the pattern

Val Encoder::pattern(const Pat& p) {
  int i = next_node++;
  if (p.arg || p.arg_int || p.arg_ints) throw Unsupported("a node arg in the pattern");
  if (p.rest != -1) throw Unsupported("a source list (...) in the pattern");
  DType d = inst.dtypes[i];
  std::optional<Op> op = inst.ops[i];
  if (p.slot >= 0 && slots[p.slot].value && p.src.empty()) return *slots[p.slot].value; // the same node again
  Val v{d, c.bool_val(true)};
  if (p.literal) {
    // literal_matches: the node's mathematical value equals the literal, so a dtype that cannot hold it never matches
    Wide lit = p.literal->i;
    if (p.literal_is_float || uops::as_wide(d, uops::int_value(d, lit)) != lit) matchable = false;
    v = {d, sem.constant(d, lit)};
  } else if (!op || p.any_src) {
    v = leaf(p, i);
  } else {
    if (!has_semantics(*op)) throw Unsupported(fmt::format("{} has no integer semantics", uops::op_info(*op).name));
    std::vector<Val> src;
    std::vector<z3::expr> args;
    for (const Pat& s : p.src) src.push_back(pattern(s)), args.push_back(src.back().e);
    DType in = src[uops::op_info(*op).typing == uops::Typing::SELECT ? 1 : 0].dtype;
    Eval r = sem.apply(*op, d, in, args);
    lhs_ok = lhs_ok && r.defined;
    v = {d, r.value};
  }
  if (p.slot >= 0) {
    Slot& s = slots[p.slot];
    if (s.value)
      assumptions = assumptions && s.value->e == v.e; // a repeated capture is one node
    else
      s.value = v, s.node = i;
  }
  return v;
}

Val Encoder::leaf(const Pat& p, int node) {
  std::string name = p.slot >= 0 ? rule.slot_names[p.slot] : fmt::format("_{}", ++anonymous);
  return {inst.dtypes[node], fresh_leaf(name, inst.dtypes[node])};
}

std::optional<Op> Encoder::slot_op(int slot) const { return inst.ops[slots[slot].node]; }
DType Encoder::slot_dtype(int slot) const { return inst.dtypes[slots[slot].node]; }

// x.op: the pattern's op where it names one, else a free op number.
z3::expr Encoder::op_of(int slot) {
  Slot& s = slots[slot];
  if (auto op = slot_op(slot)) return c.bv_val(int(*op), 8);
  if (!s.op) {
    s.op = fresh(rule.slot_names[slot] + ".op", DType::index, true);
    assumptions = assumptions && z3::ult(*s.op, c.bv_val(uops::num_ops, 8));
  }
  return *s.op;
}

// x.vmin and x.vmax: a CONST's range is its value; any other node's range holds its value (range analysis is sound).
std::pair<z3::expr, z3::expr> Encoder::range_of(int slot) {
  Slot& s = slots[slot];
  if (slot_op(slot) == Op::CONST) return {s.value->e, s.value->e};
  if (!s.lo) {
    DType d = slot_dtype(slot);
    s.lo = fresh(rule.slot_names[slot] + ".vmin", d);
    s.hi = fresh(rule.slot_names[slot] + ".vmax", d);
    assumptions = assumptions && sem.less({d, *s.lo}, *s.value, true) && sem.less(*s.value, {d, *s.hi}, true);
  }
  return {*s.lo, *s.hi};
}

void Encoder::finish_slots() {
  for (size_t i = 0; i < slots.size(); i++) {
    Slot& s = slots[i];
    if (!s.lo || slot_op(int(i))) continue;
    z3::expr is_const = op_of(int(i)) == c.bv_val(int(Op::CONST), 8);
    assumptions = assumptions && z3::implies(is_const, *s.lo == s.value->e && *s.hi == s.value->e);
  }
}

// ---- the result, as match.cpp's Builder

std::optional<DType> Encoder::given(const Build& b) {
  if (b.dtype) return b.dtype;
  if (b.dtype_of_slot >= 0) return slot_dtype(b.dtype_of_slot);
  if (b.dtype_var >= 0)
    for (size_t i = 0; i < nodes.size(); i++)
      if (nodes[i]->dtype_var == b.dtype_var) return inst.dtypes[i];
  return std::nullopt;
}

std::optional<DType> Encoder::static_dtype(const Build& b) {
  switch (b.kind) {
  case Build::CAPTURE: return slot_dtype(b.slot);
  case Build::CONST: return given(b);
  case Build::NODE: {
    if (auto d = given(b)) return d;
    Op op = b.op_of_slot >= 0 ? slot_op(b.op_of_slot).value_or(Op::SINK) : b.op;
    auto typing = uops::op_info(op).typing;
    if (typing == uops::Typing::CMP) return DType::bool_;
    for (size_t i = typing == uops::Typing::SELECT ? 1 : 0; i < b.src.size(); i++)
      if (auto d = static_dtype(b.src[i])) return d;
    return std::nullopt;
  }
  default: return std::nullopt;
  }
}

std::optional<Encoder::Built> Encoder::build(const Build& b, std::optional<DType> want) {
  z3::expr yes = c.bool_val(true);
  switch (b.kind) {
  case Build::CAPTURE: return Built{*slots[b.slot].value, yes, yes};
  case Build::CONST: {
    std::optional<DType> d = given(b) ? given(b) : want;
    if (!d) return std::nullopt;
    if (uops::is_float(*d)) throw Unsupported("a float constant in the result");
    GVal v = guard(*b.value_expr);
    if (v.kind != GVal::NUM) throw Unsupported("CONST of a dtype or an op");
    // UOp::constant(d, wide(v)): wraps to d; a u64 becomes an index through int64_t
    z3::expr e = v.literal                                     ? sem.constant(*d, *v.literal)
                 : *d == DType::index && v.dtype == DType::u64 ? sem.convert({DType::i64, v.e}, *d)
                                                               : sem.convert({v.dtype, v.e}, *d);
    return Built{{*d, e}, v.ok, yes};
  }
  case Build::CHOOSE: {
    GVal g = guard(*b.value_expr);
    z3::expr t = truthy(g);
    auto x = build(b.src[0], want), y = build(b.src[1], want);
    if (!x && !y) return std::nullopt;
    if (!x || !y) { // the branch that cannot be built never fires
      const Built& one = x ? *x : *y;
      return Built{one.v, g.ok && (x ? t : !t) && one.fires, one.ok};
    }
    if (x->v.dtype != y->v.dtype) throw Unsupported("choose() between two dtypes");
    return Built{
        {x->v.dtype, z3::ite(t, x->v.e, y->v.e)}, g.ok && z3::ite(t, x->fires, y->fires), z3::ite(t, x->ok, y->ok)};
  }
  case Build::NODE: return build_node(b, want);
  case Build::HOOK: throw Unsupported("a cpp:: hook");
  case Build::SPLICE: throw Unsupported("a source list (...) in the result");
  case Build::FOLD: case Build::FLATTEN: case Build::SUBST: case Build::VAR: throw Unsupported("a list builtin in the result");
  }
  return std::nullopt;
}

std::optional<Encoder::Built> Encoder::build_node(const Build& b, std::optional<DType> want) {
  if (b.op_of_slot >= 0 && !slot_op(b.op_of_slot)) throw Unsupported("the op of a capture of any op");
  Op op = b.op_of_slot >= 0 ? *slot_op(b.op_of_slot) : b.op;
  if (!has_semantics(op)) throw Unsupported(fmt::format("{} has no integer semantics", uops::op_info(op).name));
  if (b.value_expr) throw Unsupported("a node arg in the result");
  auto typing = uops::op_info(op).typing;
  std::optional<DType> d = given(b), operand;
  if (typing == uops::Typing::CMP) {
    d = DType::bool_;
    for (const Build& s : b.src)
      if (!operand) operand = static_dtype(s);
  } else if (typing == uops::Typing::SAME || typing == uops::Typing::SELECT) {
    if (!d) d = want;
    if (!d) d = static_dtype(b);
    operand = d;
  }
  z3::expr fires_all = c.bool_val(true), ok_all = c.bool_val(true);
  std::vector<z3::expr> args;
  llvm::SmallVector<DType, 3> operands;
  for (size_t i = 0; i < b.src.size(); i++) {
    auto w = typing == uops::Typing::SELECT && i == 0 ? std::optional(DType::bool_) : operand;
    auto s = build(b.src[i], w);
    if (!s) return std::nullopt;
    fires_all = fires_all && s->fires;
    ok_all = ok_all && s->ok;
    args.push_back(s->v.e);
    operands.push_back(s->v.dtype);
  }
  if (!d || args.empty()) return std::nullopt;
  if (uops::is_float(*d)) throw Unsupported("a float node in the result");
  // a result that would be malformed is not built: the rule does not fire. invalid_reason takes nodes: constants of
  // the operands' dtypes, made under a lock, because UOps are interned in one table without a lock of its own and
  // rules are proved on several threads
  {
    static std::mutex uop_lock;
    std::lock_guard lock(uop_lock);
    llvm::SmallVector<uops::UOp, 3> shapes;
    for (DType t : operands) shapes.push_back(uops::UOp::constant(t, Wide(0)));
    if (!uops::invalid_reason(op, *d, shapes, uops::Arg{}).empty()) return std::nullopt;
  }
  DType in = operands[typing == uops::Typing::SELECT ? 1 : 0];
  Eval r = sem.apply(op, *d, in, args);
  return Built{{*d, r.value}, fires_all, ok_all && r.defined};
}

} // namespace patgrad::prove
