// eval() of uops/eval.cpp over Z3 terms, for integer and bool dtypes. Each op gives its value and the condition under
// which eval() returns one (division by zero, signed MIN // -1 and shifts outside [0, bits) are undefined).
// index is an unbounded Int: the 64-bit overflow eval() reports on index only makes a program less defined. Where Z3
// cannot decide a query over Int, index becomes a signed bit-vector whose overflow is assumed away (`fits`): a proof
// for every execution whose index values fit that width, and any counterexample is a real one.
#include "tests/prove/prove.h"

namespace patgrad::prove {
namespace {

std::string decimal(Wide v) {
  if (v == 0) return "0";
  bool neg = v < 0;
  unsigned __int128 u = neg ? -(unsigned __int128)v : (unsigned __int128)v;
  std::string s;
  for (; u; u /= 10) s.insert(s.begin(), char('0' + int(u % 10)));
  return neg ? "-" + s : s;
}

// 2^b for b in [0, 64): the shift amounts eval() defines on index.
z3::expr pow2(const z3::expr& b) {
  z3::expr r = b.ctx().int_val(0);
  for (int k = 63; k >= 0; k--) r = z3::ite(b == k, b.ctx().int_val(decimal(Wide(1) << k).c_str()), r);
  return r;
}

} // namespace

Semantics::Semantics(z3::context& ctx, int bits)
    : index_bits(bits), fits(ctx.bool_val(true)), c(ctx), congruences(ctx.bool_val(true)) {}

bool Semantics::is_bv(DType d) const { return uops::is_fixed_int(d) || (d == DType::index && index_bits); }
int Semantics::width(DType d) const { return d == DType::index ? index_bits : uops::bits(d); }

z3::sort Semantics::sort(DType d) {
  if (uops::is_bool(d)) return c.bool_sort();
  return is_bv(d) ? c.bv_sort(width(d)) : c.int_sort();
}

z3::expr Semantics::constant(DType d, Wide v) {
  if (uops::is_bool(d)) return c.bool_val(v != 0);
  if (!is_bv(d)) return c.int_val(decimal(v).c_str());
  int n = width(d);
  if (d == DType::index && n < 64 && (v < -(Wide(1) << (n - 1)) || v >= (Wide(1) << (n - 1)))) fits = c.bool_val(false);
  uint64_t mask = n == 64 ? ~uint64_t(0) : (uint64_t(1) << n) - 1;
  return c.bv_val(uint64_t(v) & mask, n);
}

z3::expr Semantics::leaf(const std::string& name, DType d) {
  if (d != DType::index || is_bv(d) || !bitwise_index) return c.constant(name.c_str(), sort(d));
  // an index leaf that meets a bitwise op: an int64 value with its two's complement bits at hand
  z3::expr b = c.bv_const(name.c_str(), 64), e = z3::bv2int(b, true);
  bits.emplace_back(e, b);
  return e;
}

std::optional<z3::expr> Semantics::bits_of(const z3::expr& e) const {
  for (const auto& [term, b] : bits)
    if (z3::eq(term, e)) return b;
  return std::nullopt;
}

z3::expr Semantics::is_zero(const Val& v) {
  if (uops::is_bool(v.dtype)) return !v.e;
  return v.e == constant(v.dtype, 0);
}

// Two index values with their bits at hand are equal iff their bits are: Z3 decides that without bv2int.
z3::expr Semantics::equal(const Val& a, const Val& b) const {
  auto x = bits_of(a.e), y = bits_of(b.e);
  if (a.dtype == DType::index && x && y) return *x == *y;
  return a.e == b.e;
}

z3::expr Semantics::less(const Val& a, const Val& b, bool or_equal) const {
  if (uops::is_bool(a.dtype)) return or_equal ? (!a.e || b.e) : (!a.e && b.e);
  if (!is_bv(a.dtype)) return or_equal ? a.e <= b.e : a.e < b.e;
  if (uops::is_signed(a.dtype)) return or_equal ? z3::sle(a.e, b.e) : z3::slt(a.e, b.e);
  return or_equal ? z3::ule(a.e, b.e) : z3::ult(a.e, b.e);
}

z3::expr Semantics::convert(const Val& v, DType to) {
  if (v.dtype == to) return v.e;
  if (uops::is_bool(to)) return !is_zero(v);
  if (uops::is_bool(v.dtype)) return z3::ite(v.e, constant(to, 1), constant(to, 0));
  if (!is_bv(to)) return is_bv(v.dtype) ? z3::bv2int(v.e, uops::is_signed(v.dtype)) : v.e; // to an unbounded index
  unsigned n = width(to);
  if (!is_bv(v.dtype)) return z3::int2bv(n, v.e);
  unsigned m = width(v.dtype);
  bool s = uops::is_signed(v.dtype);
  z3::expr r = n < m ? v.e.extract(n - 1, 0) : n > m ? (s ? z3::sext(v.e, n - m) : z3::zext(v.e, n - m)) : v.e;
  if (to == DType::index) { // a bounded index holds the value only if it is in its range: compare them one bit wider
    unsigned w = std::max(n, m) + 1;
    fits = fits && z3::sext(r, w - n) == (s ? z3::sext(v.e, w - m) : z3::zext(v.e, w - m));
  }
  return r;
}

// Bitwise ops on an unbounded index act on its two's complement; index values fit 64 bits (eval() checks them), so
// outside that range the op is undefined here too.
Eval Semantics::index_bitwise(Op op, const z3::expr& a, const z3::expr& b) {
  auto two_complement = [&](const z3::expr& x) { return bits_of(x).value_or(z3::int2bv(64, x)); };
  auto in_int64 = [&](const z3::expr& x) {
    if (bits_of(x)) return c.bool_val(true);
    return x >= constant(DType::index, INT64_MIN) && x <= constant(DType::index, INT64_MAX);
  };
  z3::expr x = two_complement(a), y = two_complement(b);
  z3::expr r = op == Op::AND ? (x & y) : op == Op::OR ? (x | y) : (x ^ y);
  z3::expr e = z3::bv2int(r, true);
  bits.emplace_back(e, r);
  return {e, in_int64(a) && in_int64(b)};
}

Eval Semantics::index_op(Op op, const std::vector<z3::expr>& x) {
  const z3::expr& a = x[0];
  z3::expr yes = c.bool_val(true);
  if (op == Op::NEG) return {-a, yes};
  const z3::expr& b = x[1];
  switch (op) {
  case Op::ADD: return {a + b, yes};
  case Op::SUB: return {a - b, yes};
  case Op::MUL: return {a * b, yes};
  case Op::IDIV:
  case Op::MOD:
  case Op::CDIV:
  case Op::CMOD: return div_op(op, DType::index, a, b, b != 0);
  case Op::MAX: return {z3::ite(a < b, b, a), yes};
  case Op::MIN: return {z3::ite(a < b, a, b), yes};
  case Op::AND:
  case Op::OR:
  case Op::XOR: return index_bitwise(op, a, b);
  // a shift is the product or floor division by 2^b it means: x << c and x * (1 << c) meet as one term
  case Op::SHL: return {(a * pow2(b)).simplify(), b >= 0 && b < 64};
  case Op::SHR: return div_op(Op::IDIV, DType::index, a, pow2(b), b >= 0 && b < 64);
  case Op::MULACC: return {a * b + x[2], yes};
  default: return {a, c.bool_val(false)};
  }
}

// Bit-vector ops: a fixed-width dtype wraps; a bounded index must not overflow, which `fits` records.
Eval Semantics::bv_op(Op op, DType d, const std::vector<z3::expr>& x) {
  const z3::expr& a = x[0];
  z3::expr yes = c.bool_val(true);
  bool bounded = d == DType::index, s = uops::is_signed(d);
  int n = width(d);
  z3::expr zero = c.bv_val(0, n), min = s ? c.bv_val(uint64_t(1) << (n - 1), n) : zero;
  auto check = [&](z3::expr ok) {
    if (bounded) fits = fits && ok;
  };
  if (op == Op::NEG) return check(a != min), Eval{-a, yes};
  const z3::expr& b = x[1];
  // eval() refuses MIN // -1 at fixed width; on index it is an overflow
  z3::expr divides = b != zero, wraps = s ? a == min && b == c.bv_val(-1, n) : c.bool_val(false);
  if (!bounded) divides = divides && !wraps;
  z3::expr shift_ok = s ? (z3::sge(b, zero) && z3::slt(b, c.bv_val(bounded ? 64 : n, n))) : z3::ult(b, c.bv_val(n, n));
  switch (op) {
  case Op::ADD: return check(z3::bvadd_no_overflow(a, b, true) && z3::bvadd_no_underflow(a, b)), Eval{a + b, yes};
  case Op::SUB: return check(z3::bvsub_no_overflow(a, b) && z3::bvsub_no_underflow(a, b, true)), Eval{a - b, yes};
  case Op::MUL: return check(z3::bvmul_no_overflow(a, b, true) && z3::bvmul_no_underflow(a, b)), Eval{a * b, yes};
  case Op::IDIV:
  case Op::MOD:
  case Op::CDIV:
  case Op::CMOD: return check(!wraps), div_op(op, d, a, b, divides);
  case Op::MAX: return {z3::ite(less({d, a}, {d, b}, false), b, a), yes};
  case Op::MIN: return {z3::ite(less({d, a}, {d, b}, false), a, b), yes};
  case Op::AND: return {a & b, yes};
  case Op::OR: return {a | b, yes};
  case Op::XOR: return {a ^ b, yes};
  case Op::SHL: return check(z3::ashr(z3::shl(a, b), b) == a), Eval{z3::shl(a, b), shift_ok};
  case Op::SHR: return {s ? z3::ashr(a, b) : z3::lshr(a, b), shift_ok};
  case Op::MULACC:
    check(z3::bvmul_no_overflow(a, b, true) && z3::bvmul_no_underflow(a, b) &&
          z3::bvadd_no_overflow(a * b, x[2], true) && z3::bvadd_no_underflow(a * b, x[2]));
    return {a * b + x[2], yes};
  default: return {a, c.bool_val(false)};
  }
}

Eval Semantics::bool_op(Op op, const std::vector<z3::expr>& x) {
  switch (op) {
  case Op::AND:
  case Op::MIN: return {x[0] && x[1], c.bool_val(true)};
  case Op::OR:
  case Op::MAX: return {x[0] || x[1], c.bool_val(true)};
  case Op::XOR: return {x[0] != x[1], c.bool_val(true)};
  default: return {x[0], c.bool_val(false)};
  }
}

Eval Semantics::convert_op(Op op, DType out, DType in, const z3::expr& a) {
  if (op == Op::CAST) return {convert({in, a}, out), c.bool_val(true)};
  // BITCAST: the same bits in another dtype of the same width; index has no bits
  if (uops::bits(out) != uops::bits(in) || out == DType::index || in == DType::index)
    return {constant(out, 0), c.bool_val(false)};
  return {a, c.bool_val(true)};
}

bool has_semantics(Op op) {
  switch (op) {
  case Op::NEG:
  case Op::ADD:
  case Op::SUB:
  case Op::MUL:
  case Op::IDIV:
  case Op::MOD:
  case Op::CDIV:
  case Op::CMOD:
  case Op::MAX:
  case Op::MIN:
  case Op::AND:
  case Op::OR:
  case Op::XOR:
  case Op::SHL:
  case Op::SHR:
  case Op::MULACC:
  case Op::CMPLT:
  case Op::CMPLE:
  case Op::CMPEQ:
  case Op::CMPNE:
  case Op::WHERE:
  case Op::CAST:
  case Op::BITCAST: return true;
  default: return false;
  }
}

Eval Semantics::apply(Op op, DType out, DType in, const std::vector<z3::expr>& args) {
  const uops::OpInfo& info = uops::op_info(op);
  switch (info.typing) {
  case uops::Typing::CMP: {
    Val a{in, args[0]}, b{in, args[1]};
    z3::expr r = op == Op::CMPLT   ? less(a, b, false)
                 : op == Op::CMPLE ? less(a, b, true)
                 : op == Op::CMPEQ ? args[0] == args[1]
                                   : args[0] != args[1];
    return {r, c.bool_val(true)};
  }
  case uops::Typing::SELECT: return {z3::ite(args[0], args[1], args[2]), c.bool_val(true)};
  case uops::Typing::CONVERT: return convert_op(op, out, in, args[0]);
  case uops::Typing::SAME: break;
  default: return {constant(out, 0), c.bool_val(false)};
  }
  if (!(info.operands & uops::bit(in))) return {constant(out, 0), c.bool_val(false)};
  if (uops::is_bool(in)) return bool_op(op, args);
  return is_bv(in) ? bv_op(op, in, args) : index_op(op, args);
}

} // namespace patgrad::prove
