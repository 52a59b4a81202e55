// Guards and computed values as Z3 terms, with the meaning of match.cpp's Evaluator: literals adopt the other
// operand's dtype, arithmetic happens in the operand dtype (wrapping at fixed width), comparisons are on mathematical
// values, two captures of different dtypes meet as index, and any undefined step makes the value undefined (so a
// guard is true only where it is defined and true). Facts about the graph the encoder does not model are free:
// before(a, b), the op of a capture of any op (so is_const(x) can go either way).
#include "tests/prove/prove.h"
#include <fmt/format.h>

namespace patgrad::prove {

GVal Encoder::number(DType d, z3::expr v, z3::expr ok) { return GVal{GVal::NUM, d, v, ok}; }

GVal Encoder::literal(Wide v) {
  return GVal{GVal::NUM, DType::index, sem.constant(DType::index, v), c.bool_val(true), v};
}

GVal Encoder::adopt(const GVal& lit, DType d) { return number(d, sem.constant(d, *lit.literal), lit.ok); }

GVal Encoder::as_index(const GVal& v) { return number(DType::index, sem.convert({v.dtype, v.e}, DType::index), v.ok); }

z3::expr Encoder::truthy(const GVal& v) {
  if (v.kind != GVal::NUM) return c.bool_val(false); // the Evaluator reads a dtype's or an op's value as 0
  return !sem.is_zero({v.dtype, v.e});
}

GVal Encoder::guard(const Expr& e) {
  switch (e.kind) {
  case Expr::INT: return literal(e.ival);
  case Expr::FLOAT: throw Unsupported("a float in a guard");
  case Expr::BOOL: return number(DType::bool_, c.bool_val(e.ival != 0), c.bool_val(true));
  case Expr::DTYPE: return GVal{GVal::DTYPE, e.dtype, c.bool_val(false), c.bool_val(true)};
  case Expr::OP: return GVal{GVal::OP, DType::index, c.bv_val(int(e.op), 8), c.bool_val(true)};
  case Expr::CAPTURE: return capture(e.slot);
  case Expr::FIELD: return field(e);
  case Expr::UNARY: return unary(e);
  case Expr::AND:
  case Expr::OR: {
    GVal a = guard(*e.kids[0]), b = guard(*e.kids[1]);
    z3::expr ta = truthy(a), tb = truthy(b);
    if (e.kind == Expr::AND) return number(DType::bool_, ta && tb, a.ok && (!ta || b.ok)); // short-circuit
    return number(DType::bool_, ta || tb, a.ok && (ta || b.ok));
  }
  case Expr::BINARY: return apply_guard(e.op, guard(*e.kids[0]), guard(*e.kids[1]));
  case Expr::CALL: return call(e);
  case Expr::DTYPE_VAR: throw Unsupported("a dtype variable as a value");
  case Expr::INTS: case Expr::TUPLE: case Expr::SPREAD: throw Unsupported("an integer list");
  }
  throw Unsupported("an unknown guard expression");
}

// A capture as a value: a CONST's value; nodes of ops with integer semantics carry no integer arg.
GVal Encoder::capture(int slot) {
  const Val& v = *slots[slot].value;
  auto op = slot_op(slot);
  if (!op) throw Unsupported(fmt::format("the value of '{}', which need not be a CONST", rule.slot_names[slot]));
  return number(v.dtype, v.e, c.bool_val(*op == Op::CONST));
}

GVal Encoder::field(const Expr& e) {
  DType d = slot_dtype(e.slot);
  switch (e.field) {
  case Expr::VMIN:
  case Expr::VMAX: {
    if (!uops::is_int(d) && !uops::is_bool(d)) return number(d, sem.constant(DType::index, 0), c.bool_val(false));
    auto [lo, hi] = range_of(e.slot);
    return number(d, e.field == Expr::VMIN ? lo : hi, c.bool_val(true));
  }
  case Expr::VAL: return capture(e.slot);
  case Expr::DTYPE_OF: return GVal{GVal::DTYPE, d, c.bool_val(false), c.bool_val(true)};
  case Expr::OP_OF: return GVal{GVal::OP, DType::index, op_of(e.slot), c.bool_val(true)};
  case Expr::SHAPE: case Expr::ARG: throw Unsupported("a node's shape or arg");
  }
  throw Unsupported("an unknown field");
}

GVal Encoder::unary(const Expr& e) {
  GVal a = guard(*e.kids[0]);
  if (a.kind != GVal::NUM) throw Unsupported("'-' or '!' on a dtype or an op");
  if (e.logical_not) return number(DType::bool_, !truthy(a), a.ok);
  return apply_guard(Op::SUB, a.literal ? literal(0) : number(a.dtype, sem.constant(a.dtype, 0), c.bool_val(true)), a);
}

GVal Encoder::apply_guard(Op op, GVal a, GVal b) {
  bool cmp = uops::op_info(op).typing == uops::Typing::CMP;
  bool eq_ne = op == Op::CMPEQ || op == Op::CMPNE;
  if (a.kind != GVal::NUM || b.kind != GVal::NUM) { // ops and dtypes compare for (in)equality only
    if (a.kind != b.kind || !eq_ne) return number(DType::bool_, c.bool_val(false), c.bool_val(false));
    z3::expr same = a.kind == GVal::OP ? a.e == b.e : c.bool_val(a.dtype == b.dtype);
    return number(DType::bool_, op == Op::CMPEQ ? same : !same, a.ok && b.ok);
  }
  if (a.literal && b.literal) { // both literals: computed now, as index, exactly as the Evaluator would
    uops::Value x{int64_t(*a.literal), 0}, y{int64_t(*b.literal), 0};
    auto r = uops::eval(op, cmp ? DType::bool_ : DType::index, DType::index, std::array{x, y});
    if (!r) return number(DType::index, sem.constant(DType::index, 0), c.bool_val(false));
    if (cmp) return number(DType::bool_, c.bool_val(r->i != 0), c.bool_val(true));
    return literal(r->i);
  }
  if (a.literal) a = adopt(a, b.dtype);
  if (b.literal) b = adopt(b, a.dtype);
  if (a.dtype != b.dtype) a = as_index(a), b = as_index(b);
  z3::expr ok = a.ok && b.ok;
  Eval r = sem.apply(op, cmp ? DType::bool_ : a.dtype, a.dtype, {a.e, b.e});
  return number(cmp ? DType::bool_ : a.dtype, r.value, ok && r.defined);
}

GVal Encoder::call(const Expr& e) {
  const auto& k = e.kids;
  switch (e.builtin) {
  case Expr::IS_CONST: return number(DType::bool_, op_of(k[0]->slot) == c.bv_val(int(Op::CONST), 8), c.bool_val(true));
  case Expr::BEFORE: {
    std::string name = fmt::format("before({},{})", rule.slot_names[k[0]->slot], rule.slot_names[k[1]->slot]);
    return number(DType::bool_, fresh(name, DType::bool_), c.bool_val(true));
  }
  case Expr::DEFINED: return eval_call(e, true);
  case Expr::EVAL: return eval_call(e, false);
  case Expr::GCD: throw Unsupported("gcd() in a guard");
  default: break;
  }
  GVal a = guard(*k[0]);
  if (a.kind != GVal::NUM) return number(DType::index, sem.constant(DType::index, 0), c.bool_val(false));
  switch (e.builtin) {
  case Expr::IS_POW2: return pow2_test(a);
  case Expr::LOG2: return log2_of(a);
  case Expr::MIN: return apply_guard(Op::MIN, a, guard(*k[1]));
  case Expr::MAX: return apply_guard(Op::MAX, a, guard(*k[1]));
  case Expr::ABS: {
    if (a.literal) return literal(*a.literal < 0 ? -*a.literal : *a.literal);
    Val v{a.dtype, a.e};
    GVal neg = apply_guard(Op::SUB, number(a.dtype, sem.constant(a.dtype, 0), c.bool_val(true)), a);
    return number(a.dtype, z3::ite(sem.less(v, {a.dtype, sem.constant(a.dtype, 0)}, false), neg.e, a.e), a.ok);
  }
  default: throw Unsupported("an unknown builtin");
  }
}

// is_pow2(v): v > 0 with one bit set. On index, the powers of two an int64 holds: an index value never exceeds it.
GVal Encoder::pow2_test(const GVal& a) {
  if (a.literal) return number(DType::bool_, c.bool_val(*a.literal > 0 && (*a.literal & (*a.literal - 1)) == 0), a.ok);
  if (uops::is_bool(a.dtype)) return number(DType::bool_, a.e, a.ok);
  if (!sem.is_bv(a.dtype)) {
    z3::expr any = c.bool_val(false);
    for (int k = 0; k < 63; k++) any = any || a.e == sem.constant(DType::index, Wide(1) << k);
    return number(DType::bool_, any, a.ok);
  }
  z3::expr zero = sem.constant(a.dtype, 0), one = sem.constant(a.dtype, 1);
  return number(DType::bool_, sem.less({a.dtype, zero}, {a.dtype, a.e}, false) && (a.e & (a.e - one)) == zero, a.ok);
}

// log2(v): floor of the base-2 logarithm, defined for v > 0; its dtype is v's (index for a literal).
GVal Encoder::log2_of(const GVal& a) {
  if (a.literal) {
    if (*a.literal <= 0) return number(DType::index, sem.constant(DType::index, 0), c.bool_val(false));
    int n = 0;
    for (Wide v = *a.literal; v > 1; v >>= 1) n++;
    return number(DType::index, sem.constant(DType::index, n), c.bool_val(true)); // typed index, not a literal
  }
  DType d = a.dtype;
  z3::expr positive = sem.less({d, sem.constant(d, 0)}, {d, a.e}, false);
  if (uops::is_bool(d)) return number(d, c.bool_val(false), a.ok && positive);
  z3::expr r = sem.constant(d, 0);
  if (!sem.is_bv(d)) {
    for (int k = 1; k < 63; k++) r = z3::ite(a.e >= sem.constant(d, Wide(1) << k), sem.constant(d, k), r);
    return number(d, r, a.ok && positive && a.e < sem.constant(d, Wide(1) << 63));
  }
  for (int k = 1; k < sem.width(d); k++) r = z3::ite(a.e.extract(k, k) == c.bv_val(1, 1), sem.constant(d, k), r);
  return number(d, r, a.ok && positive);
}

// defined(op, a, b) and eval(op, a, b): op is the captured node's op, applied with the op table's semantics.
GVal Encoder::eval_call(const Expr& e, bool only_defined) {
  int slot = e.kids[0]->slot;
  auto op = slot_op(slot);
  if (!op) throw Unsupported("defined() or eval() of a capture of any op");
  if (!has_semantics(*op)) throw Unsupported(fmt::format("{} has no integer semantics", uops::op_info(*op).name));
  GVal x = guard(*e.kids[1]), y = guard(*e.kids[2]);
  z3::expr no = c.bool_val(false);
  if (x.kind != GVal::NUM || y.kind != GVal::NUM || uops::op_info(*op).arity != 2)
    return only_defined ? number(DType::bool_, no, c.bool_val(true))
                        : number(DType::index, sem.constant(DType::index, 0), no);
  if (x.literal && !y.literal) x = adopt(x, y.dtype);
  if (y.literal && !x.literal) y = adopt(y, x.dtype);
  DType out = slot_dtype(slot);
  if (x.dtype != y.dtype) {
    if (only_defined) return number(DType::bool_, no, c.bool_val(true));
    throw Unsupported("eval() on operands of two dtypes");
  }
  Eval r = sem.apply(*op, out, x.dtype, {x.e, y.e});
  if (only_defined) return number(DType::bool_, x.ok && y.ok && r.defined, c.bool_val(true));
  return number(out, r.value, x.ok && y.ok && r.defined);
}

} // namespace patgrad::prove
